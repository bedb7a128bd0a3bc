"""TensorFlow: a ``tf.data`` dataset of parameters, and applying them to images.

Needs ``pip install 'dpa-augment[tf]'``. :func:`params_dataset` is built from the batch
API (chunks of :func:`dpa.generate_batch` and its elastic and rank-aware
siblings, then unbatched), so it yields exactly their values;
:func:`apply_params_tf` computes what :func:`dpa.integrations.torch.apply_params`
does (see :mod:`dpa.integrations`), noise included, in eager mode or inside
``Dataset.map``.

Example::

    params = params_dataset(len(images), dpa.get_preset("mild"), mode="elastic", epoch=epoch)
    data = tf.data.Dataset.zip((images, labels, params))
    data = data.map(lambda x, y, p: (apply_params_tf(x, p), y)).batch(64)

With a ``tf.distribute`` strategy, pass the ``tf.distribute.InputContext`` that
``distribute_datasets_from_function`` gives: each input pipeline then gets its
share of the ids by the range-splitting rule (:class:`dpa.DistributedRangeSplitter`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from .._config import PARAM_NAMES, AugmentationConfig, check_config as _check_config
from .._distributed import DistributedRangeSplitter
from .._generate import generate_batch
from .._keys import scheme_for_mode
from .._parambatch import ParamBatch
from .._validate import check_int
from ._params import GRAY_WEIGHTS, MIN_WARP_SCALE, NEUTRAL, check_image_size, normalize
from .noise import MIX_MULTIPLIERS, box_muller_tables

__all__ = ["MODES", "apply_params_tf", "params_dataset"]

#: The key modes, by name (see :class:`dpa.KeyScheme`).
MODES = ("elastic", "rank_aware", "plain")
_MASK = 0xFFFFFFFF
_INT64_LIMIT = 2**63


# --------------------------------------------------------------------------- dataset


def params_dataset(
    num_samples: int,
    config: AugmentationConfig | None = None,
    *,
    mode: str = "elastic",
    start_id: int = 0,
    base_seed: int = 0,
    epoch: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
    input_context: Any = None,
    chunk_size: int = 4096,
) -> Any:
    """A ``tf.data.Dataset`` of the parameters of ids ``start_id .. start_id +
    num_samples - 1``: one dict per sample, ``sample_id`` (int64), the five parameters
    (float64) and ``hash`` (string).

    ``mode``: ``"elastic"`` (default; ``base_seed``, ``epoch``), ``"rank_aware"``
    (``base_seed`` and the rank: ``rank``, else the input pipeline's id, else 0) or
    ``"plain"``. ``input_context`` (a ``tf.distribute.InputContext``) keeps only this
    input pipeline's share: ranges by the range-splitting rule over
    ``num_input_pipelines``, so the pipelines together cover each id once. Values come
    from the batch API in chunks of ``chunk_size`` ids.
    """
    num_samples = check_int(num_samples, "num_samples", 0)
    start_id = check_int(start_id, "start_id", 0)
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    config = _check_config(config)
    begin, end = 0, num_samples
    if input_context is not None:
        pipelines = int(input_context.num_input_pipelines)
        pipeline = int(input_context.input_pipeline_id)
        begin, end = DistributedRangeSplitter(num_samples, pipelines).get_rank_range(pipeline)
        if rank is None:
            rank, world_size = pipeline, pipelines if world_size is None else world_size
    begin, end = start_id + begin, start_id + end
    if end > _INT64_LIMIT:
        raise ValueError(f"sample ids must be below 2**63 for TensorFlow, got up to {end - 1}")
    rank = check_int(rank if rank is not None else 0, "rank", 0)
    world_size = check_int(world_size if world_size is not None else rank + 1, "world_size", 1)
    scheme = scheme_for_mode(
        mode, base_seed=base_seed, rank=rank, world_size=world_size, epoch=epoch
    )

    def chunks() -> Iterator[dict[str, Any]]:
        for lo in range(begin, end, chunk_size):
            batch = generate_batch(range(lo, min(lo + chunk_size, end)), config, scheme=scheme)
            yield {
                "sample_id": batch.sample_id.astype(np.int64),
                **{name: getattr(batch, name) for name in PARAM_NAMES},
                "hash": batch.hash,
            }

    signature = {
        "sample_id": tf.TensorSpec([None], tf.int64),
        **{name: tf.TensorSpec([None], tf.float64) for name in PARAM_NAMES},
        "hash": tf.TensorSpec([None], tf.string),
    }
    return tf.data.Dataset.from_generator(chunks, output_signature=signature).unbatch()


# --------------------------------------------------------------------------- apply


def apply_params_tf(images: Any, params: Any, data_format: str = "channels_last") -> Any:
    """``images`` augmented by ``params``: :func:`dpa.integrations.torch.apply_params`
    for TensorFlow (the same values on the CPU, noise included; within float tolerance
    on a GPU).

    ``images``: ``[H, W, C]`` or ``[B, H, W, C]`` tensor (``data_format="channels_first"``:
    ``[C, H, W]`` or ``[B, C, H, W]``): float, values in ``[0, 1]`` (the result has their
    dtype), or ``uint8``, ``0 .. 255`` (read as ``x / 255``; the result is float32).
    ``params``: a params dict (numbers, tensors or arrays, one value or one per
    image; ``hash`` as strings), a list of dicts, or a :class:`dpa.ParamBatch`.
    Works eagerly and in graph mode (``Dataset.map``, ``tf.function``).
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be channels_last or channels_first, got {data_format!r}"
        )
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype == tf.uint8):
        raise TypeError(
            f"images must be a float tensor in [0, 1] or uint8, got {images.dtype.name}"
        )
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(f"images must have 3 or 4 dimensions, got shape {images.shape}")
    x = images[None] if rank == 3 else images
    if data_format == "channels_last":
        x = tf.transpose(x, [0, 3, 1, 2])
    if x.shape[1:].is_fully_defined():
        check_image_size(tuple(x.shape[1:]))
    if x.dtype == tf.uint8:
        x = tf.cast(x, tf.float32) / 255.0
    work = tf.float64 if x.dtype == tf.float64 else tf.float32
    x = tf.cast(x, work)
    shape = tf.shape(x, out_type=tf.int64)
    batch, channels, height, width = (shape[i] for i in range(4))
    p = _tf_params(params, batch, x.shape[0])

    def column(values: Any) -> Any:
        return tf.reshape(tf.cast(values, work), [-1, 1, 1, 1])

    identity = tf.logical_and(tf.equal(p["rotation"], 0.0), tf.equal(p["scale"], 1.0))
    if not _statically_true(identity):
        warped = _grid_sample(x, _grid(p["rotation"], p["scale"], height, width, work))
        x = tf.where(tf.reshape(identity, [-1, 1, 1, 1]), x, warped)

    x = tf.clip_by_value(x * column(p["brightness"]), 0.0, 1.0)

    mean = tf.cast(_grayscale_mean(x), work)[:, None, None, None]
    x = tf.clip_by_value(column(p["contrast"]) * x + column(1.0 - p["contrast"]) * mean, 0.0, 1.0)

    if p["keys"] is not None:
        z = tf.cast(_gaussian_noise(p["keys"], channels, height, width), work)
        x = tf.clip_by_value(x + column(p["noise"]) * z, 0.0, 1.0)

    if data_format == "channels_last":
        x = tf.transpose(x, [0, 2, 3, 1])
    x = tf.cast(x, tf.float32 if images.dtype == tf.uint8 else images.dtype)
    return x[0] if rank == 3 else x


def _statically_true(value: Any) -> bool:
    static = tf.get_static_value(value)
    return static is not None and bool(np.all(static))


def _tf_params(params: Any, batch: Any, static_batch: int | None) -> dict[str, Any]:
    """Per-image float64 ``[B]`` tensors, and the noise keys ``[B, 2]`` (or None)."""
    if isinstance(params, ParamBatch) or (
        isinstance(params, Sequence) and not isinstance(params, str | bytes)
    ):
        if static_batch is None:
            raise ValueError("a list of params or a ParamBatch needs a known batch size")
        p = normalize(params, static_batch)
        columns: Mapping[str, Any] = {name: getattr(p, name) for name in PARAM_NAMES}
        out = {name: tf.constant(v, tf.float64) for name, v in columns.items()}
        out["keys"] = None if p.keys is None else tf.constant(p.keys, tf.int64)
        return out
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a dict, a list of dicts or a ParamBatch, got {type(params).__name__}"
        )
    out = {}
    for name in PARAM_NAMES:
        value = params.get(name)
        if value is None:
            value = NEUTRAL[name]
        if isinstance(value, np.ndarray | list | tuple) or np.isscalar(value):
            value = np.asarray(value, dtype=np.float64)
            if not np.isfinite(value).all():
                raise ValueError(f"params[{name!r}] must be finite, got {value.tolist()}")
            if name == "scale" and (value <= 0).any():
                raise ValueError(f"params['scale'] must be > 0, got {value.tolist()}")
        column = tf.reshape(tf.cast(value, tf.float64), [-1])
        out[name] = tf.broadcast_to(column, tf.reshape(batch, [1]))
    noise_static = tf.get_static_value(out["noise"])
    if noise_static is not None and not np.any(noise_static):
        out["keys"] = None
    elif params.get("hash") is None:
        raise ValueError("params with noise need the sample's 'hash' (it keys the noise)")
    else:
        hashes = tf.reshape(tf.convert_to_tensor(params["hash"], tf.string), [-1])
        hashes = tf.broadcast_to(hashes, tf.reshape(batch, [1]))
        out["keys"] = _hash_keys(hashes)
    return out


def _hash_keys(hashes: Any) -> Any:
    """``[k0, k1]`` of each 64-hex-digit hash string: int64 ``[B, 2]``."""
    tf.debugging.assert_equal(
        tf.strings.length(hashes), 64, message="a sample hash must be 64 hex digits"
    )
    codes = tf.cast(tf.io.decode_raw(tf.strings.substr(hashes, 0, 16), tf.uint8), tf.int64)
    digits = tf.where(codes >= 97, codes - 87, tf.where(codes >= 65, codes - 55, codes - 48))
    tf.debugging.assert_less(
        tf.reduce_max(tf.concat([tf.reshape(digits, [-1]), [0]], 0)),
        tf.constant(16, tf.int64),
        message="a sample hash must be 64 hex digits",
    )
    weights = tf.constant([16**i for i in range(7, -1, -1)], tf.int64)
    k0 = tf.reduce_sum(digits[:, :8] * weights, axis=1)
    k1 = tf.reduce_sum(digits[:, 8:] * weights, axis=1)
    return tf.stack([k0, k1], axis=1)


def _base_grid(size: Any, dtype: Any) -> Any:
    centres = tf.range(size, dtype=tf.float64)
    return tf.cast((2.0 * centres + 1.0) / tf.cast(size, tf.float64) - 1.0, dtype)


def _grid(rotation: Any, scale: Any, height: Any, width: Any, dtype: Any) -> tuple[Any, Any]:
    """``affine_grid``'s grid, as in :func:`dpa.integrations.torch.sampling_grid`."""
    radians = rotation * (math.pi / 180.0)
    scale = tf.maximum(scale, MIN_WARP_SCALE)  # as theta_matrices does
    cos = tf.cos(radians) / scale
    sin = tf.sin(radians) / scale
    h = tf.cast(height, tf.float64)
    w = tf.cast(width, tf.float64)
    t00, t01, t10, t11 = (
        tf.cast(t, dtype)[:, None, None] for t in (cos, -sin * (h / w), sin * (w / h), cos)
    )
    xs = _base_grid(width, dtype)[None, None, :]
    ys = _base_grid(height, dtype)[None, :, None]
    return t00 * xs + t01 * ys, t10 * xs + t11 * ys


def _grid_sample(x: Any, grid: tuple[Any, Any]) -> Any:
    """``grid_sample(x, grid, "bilinear", "zeros", align_corners=False)``, NCHW, as
    :mod:`dpa.integrations.numpy` computes it (torch's CPU kernel: two fused
    multiply-adds, :func:`_fma`)."""
    shape = tf.shape(x, out_type=tf.int64)
    batch, channels, height, width = (shape[i] for i in range(4))
    gx, gy = grid
    w = tf.cast(width, x.dtype)
    h = tf.cast(height, x.dtype)
    one = tf.constant(1, x.dtype)
    minus_half = tf.constant(-0.5, x.dtype)
    ix = _fma(gx + one, w / 2, minus_half)
    iy = _fma(gy + one, h / 2, minus_half)
    x0 = tf.floor(ix)
    y0 = tf.floor(iy)
    east = ix - x0
    west = one - east
    south = iy - y0
    north = one - south
    corners = (
        (x0, y0, north * west),
        (x0 + 1, y0, north * east),
        (x0, y0 + 1, south * west),
        (x0 + 1, y0 + 1, south * east),
    )
    flat = tf.reshape(x, tf.stack([batch, channels, height * width]))
    terms = []
    for cx, cy, weight in corners:
        inside = (cx >= 0) & (cx <= w - 1) & (cy >= 0) & (cy <= h - 1)
        index = tf.cast(
            tf.clip_by_value(cy, 0, h - 1) * w + tf.clip_by_value(cx, 0, w - 1), tf.int64
        )
        values = tf.gather(flat, tf.reshape(index, tf.stack([batch, -1])), axis=2, batch_dims=1)
        values = tf.reshape(values, tf.shape(x))
        terms.append((tf.where(inside[:, None], values, tf.zeros_like(values)), weight[:, None]))
    (v_nw, w_nw), (v_ne, w_ne), (v_sw, w_sw), (v_se, w_se) = terms
    return _fma(v_se, w_se, _fma(v_sw, w_sw, _fma(v_ne, w_ne, v_nw * w_nw)))


def _fma(a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once for float32 tensors (float64 ones: rounded twice),
    as :func:`dpa.integrations.numpy.fma` computes it."""
    if a.dtype != tf.float32:
        return a * b + c
    product = tf.cast(a, tf.float64) * tf.cast(b, tf.float64)
    wide = tf.cast(c, tf.float64)
    total = product + wide
    back = total - product
    error = (product - (total - back)) + (wide - back)
    even = tf.equal(tf.bitwise.bitwise_and(tf.bitcast(total, tf.int64), 1), 0)
    toward = tf.where(error > 0, tf.constant(np.inf, tf.float64), -np.inf)
    rounded = tf.where((error != 0) & even, tf.math.nextafter(total, toward), total)
    return tf.cast(rounded, tf.float32)


def _grayscale_mean(x: Any) -> Any:
    """Each image's grayscale mean (float64 ``[B]``), summed exactly."""
    channels = x.shape[1]
    if channels == 3:
        w0, w1, w2 = (tf.constant(w, x.dtype) for w in GRAY_WEIGHTS)
        gray = w0 * x[:, 0] + w1 * x[:, 1] + w2 * x[:, 2]
    elif channels == 1:
        gray = x[:, 0]
    elif channels is None:  # not known while tracing: the sum in TensorFlow's order
        gray = tf.reduce_sum(x, axis=1) / tf.cast(tf.shape(x)[1], x.dtype)
    else:  # the channels added in order
        gray = x[:, 0]
        for channel in range(1, channels):
            gray = gray + x[:, channel]
        gray = gray / tf.cast(channels, x.dtype)
    fixed = tf.cast(tf.floor(gray * tf.constant(2.0**32, x.dtype)), tf.int64)
    total = tf.reduce_sum(fixed, axis=[1, 2])
    pixels = tf.cast(tf.shape(gray)[1] * tf.shape(gray)[2], tf.float64)
    return tf.cast(total, tf.float64) / (pixels * 2.0**32)


def _signed(multiplier: int) -> int:
    return multiplier - 2**32 if multiplier >= 2**31 else multiplier


_M1, _M2 = (_signed(m) for m in MIX_MULTIPLIERS)


def _mix32(x: Any) -> Any:
    """``lowbias32`` of int64 tensors holding 32-bit words."""
    shift = tf.bitwise.right_shift
    xor = tf.bitwise.bitwise_xor
    mask = tf.constant(_MASK, tf.int64)
    x = xor(x, shift(x, tf.constant(16, tf.int64)))
    x = tf.bitwise.bitwise_and(x * tf.constant(_M1, tf.int64), mask)
    x = xor(x, shift(x, tf.constant(15, tf.int64)))
    x = tf.bitwise.bitwise_and(x * tf.constant(_M2, tf.int64), mask)
    return xor(x, shift(x, tf.constant(16, tf.int64)))


def noise_words_tf(keys: Any, count: Any) -> Any:
    """``word(j)`` for ``j < count`` per key row: int64 ``[B, count]``."""
    j = tf.range(tf.cast(count, tf.int64), dtype=tf.int64)[None, :]
    first = _mix32(tf.bitwise.bitwise_xor(j, keys[:, :1]))
    return _mix32(tf.bitwise.bitwise_xor(first, keys[:, 1:]))


def _gaussian_noise(keys: Any, channels: Any, height: Any, width: Any) -> Any:
    """Standard normal noise (float32 ``[B, C, H, W]``), see :mod:`dpa.integrations.noise`."""
    count = channels * height * width
    radius, cos, sin = (tf.constant(t) for t in box_muller_tables())
    words = noise_words_tf(keys, (count + 1) // 2)
    r = tf.gather(radius, tf.bitwise.right_shift(words, tf.constant(16, tf.int64)))
    b = tf.bitwise.bitwise_and(words, tf.constant(0xFFFF, tf.int64))
    z = tf.stack([r * tf.gather(cos, b), r * tf.gather(sin, b)], axis=-1)
    z = tf.cast(tf.reshape(z, [tf.shape(keys)[0], -1])[:, :count], tf.float32)
    return tf.reshape(z, tf.stack([tf.shape(keys, out_type=tf.int64)[0], channels, height, width]))
