"""Apply the parameters to images, inside PyTorch and TensorFlow pipelines.

The submodules are imported on demand and each needs its framework; importing
this package imports none of them:

- :mod:`dpa.integrations.torch` (``pip install 'dpa-augment[torch]'``): ``apply_params``,
  ``DPATransform``, ``DPADataset``, ``DPASampler``.
- :mod:`dpa.integrations.tf` (``pip install 'dpa-augment[tf]'``): ``params_dataset``,
  ``apply_params_tf``.
- :mod:`dpa.integrations.numpy` (numpy only): ``apply_params`` on arrays, the
  readable reference of the operations; ``dpa preview`` uses it.
- :mod:`dpa.integrations.noise`: the noise generator's definition.
- :mod:`dpa.integrations.torchvision` (``pip install 'dpa[torchvision]'``):
  ``apply_params`` on tv_tensors (boxes, masks and keypoints move with the image) and
  ``DPAAugment``, dpa's parameters as a v2 transform.
- :mod:`dpa.integrations.kornia` (``pip install 'dpa[kornia]'``):
  ``forward_parameters``, kornia's batch parameters drawn under each sample's key.

Your own pipelines (torchvision v2, albumentations, MONAI, any callable) run under
each sample's key through ``DPADataset(base, transform=pipeline)``, and any code
through ``dpa.seeded(sample_id)``.

**What the parameters do.** Images are float, values in ``[0, 1]``, or ``uint8``
(``0 .. 255``, read as ``x / 255`` in float32), channels first (``[C, H, W]``;
TensorFlow's ``apply_params_tf`` takes channels last by default). The result has the
images' dtype (float32 for ``uint8`` images); it is computed in float32 (float64 for
float64 images). In this order:

1. *Geometry*: ``rotation`` (degrees, counter-clockwise as displayed, row 0 at the
   top) and ``scale`` (``> 1`` enlarges the content: zoom in) about the image centre,
   as one affine warp in pixel units (so a non-square image is not sheared):
   output pixel ``p`` (from the centre) takes the input at ``R(-rotation) p / scale``.
   The grid is the one ``affine_grid(theta, align_corners=False)`` builds for that
   matrix, computed elementwise: ``g = theta @ (x, y)`` at the pixel centres
   ``(2 i + 1) / size - 1`` (``theta`` and the centres computed in float64, then
   rounded), so that it is the same on every device and thread count. Sampling is
   bilinear with zero fill outside the image, as ``grid_sample(mode="bilinear",
   padding_mode="zeros", align_corners=False)`` computes it on the CPU: the position
   ``i = fma(g + 1, size / 2, -0.5)``, its four neighbours weighted by the distances
   (``nw = (1 - dy) (1 - dx)``, ``ne = (1 - dy) dx``, ``sw = dy (1 - dx)``,
   ``se = dy dx``, with ``dx = i - floor(i)``), a neighbour outside the image read as
   0, and the sum ``fma(v_se, se, fma(v_sw, sw, fma(v_ne, ne, v_nw * nw)))`` --
   ``fma`` a fused multiply-add, rounded once. An image with ``rotation == 0`` and
   ``scale == 1`` is not resampled.
2. *Brightness*: ``x * brightness``, clamped to ``[0, 1]``.
3. *Contrast*: ``contrast * x + (1 - contrast) * m``, clamped to ``[0, 1]``, where
   ``m`` is the mean of the image's grayscale (``0.2989 R + 0.587 G + 0.114 B`` for 3
   channels, the channel itself for 1, the channels added in order and divided by
   their number otherwise) -- torchvision's ``adjust_contrast``. The mean is summed
   exactly (each gray value floored to a multiple of ``2**-32``, summed as integers),
   so it is the same whatever the thread count or framework.
4. *Noise*: ``x + noise * z``, clamped to ``[0, 1]``, with ``z`` the sample's
   standard normal noise from :mod:`dpa.integrations.noise`, keyed by its ``hash``.

Each per-image number (``theta``, ``brightness``, ``contrast``, ``1 - contrast``,
``noise``) is computed in float64 and rounded once to the working dtype; each step
above is a sequence of IEEE operations in that dtype, in the order written.
``brightness = contrast = scale = 1``, ``rotation = noise = 0`` is the identity, bit
for bit. A parameter missing from a params dict takes that neutral value; a ``hash``
is only needed where ``noise`` is not 0.

**One definition, several implementations.** :func:`dpa.integrations.numpy.reference`
is the definition in numpy. On the CPU, float32 and uint8 images give the same values,
bit for bit, in numpy and torch -- through the native kernel where it is built, else
(or with ``DPA_BACKEND=python``) through numpy operations, or torch's, whose
``grid_sample`` computes the sampling above on x86 CPUs with AVX2 -- and in
TensorFlow run eagerly. On a GPU, in a ``tf.function`` (whose graph optimizer may
reorder float operations) and in torch's ``grid_sample`` on other CPUs, the warp
agrees within float tolerance (about ``1e-6``), everything else exactly; so do float64
images, for which the fused multiply-adds are not emulated. The noise is
bit-identical everywhere.
"""

__all__: list[str] = []
