"""The noise generator: Gaussian noise keyed by a sample's hash (the definition).

This is the one place the generator is specified; :mod:`dpa.integrations.torch`,
:mod:`dpa.integrations.tf` and :mod:`dpa.integrations.numpy` implement exactly
this, and the functions below are its plain numpy reference. The integer words and
the noise values are bit-identical in every implementation, on CPU and GPU.

**Key.** ``hash`` is the sample's parameter hash: 64 hex digits (``params["hash"]``,
the hash chain's final SHA-256 digest; upper-case digits are read as lower-case).
The key is two 32-bit words, the digest's first 8 bytes read big-endian::

    k0 = int(hash[0:8], 16)
    k1 = int(hash[8:16], 16)

**Counter.** Element ``(c, y, x)`` of a ``C x H x W`` image has the index
``e = (c * H + y) * W + x`` -- whatever the tensor's memory layout (a channels-last
TensorFlow image uses the same ``(c, y, x)`` index). ``C * H * W`` must be at most
``2**31``.

**Words.** All arithmetic on unsigned 32-bit words, modulo ``2**32``; ``mix`` is
``lowbias32`` (C. Wellons, *hash-prospector*). Pair ``j`` (the elements ``2j`` and
``2j + 1``) gets one word::

    mix(v):  v ^= v >> 16;  v *= 0x7FEB352D;  v ^= v >> 15;  v *= 0x846CA68B;  v ^= v >> 16
    word(j) = mix(mix(j ^ k0) ^ k1)

**Box-Muller**, in float64, on the word's two 16-bit halves ``a = word(j) >> 16``
and ``b = word(j) & 0xFFFF``::

    u1 = (a + 1) / 2**16;  u2 = (b + 1) / 2**16             # in (0, 1], exact
    RAD[a] = sqrt(-2 * log(u1));  COS[b] = cos(2 * pi * u2);  SIN[b] = sin(2 * pi * u2)
    z[2j] = float32(RAD[a] * COS[b]);  z[2j + 1] = float32(RAD[a] * SIN[b])

(an odd element count drops the last ``SIN`` value); ``|z| <= sqrt(32 ln 2) ~ 4.71``.
An image with parameter ``noise = s`` gets ``image[c, y, x] += float32(s) * z[e]``
(then clamped to ``[0, 1]``).

``RAD``, ``COS`` and ``SIN`` take 2**16 values each: :func:`box_muller_tables` computes them
once (numpy, float64) and every implementation looks them up, so the product and its
rounding are the only float operations left -- exact IEEE operations -- and ``z`` is
bit-identical in numpy, torch (CPU and GPU) and TensorFlow in one process. (Across
machines, ``numpy``'s float64 ``log``/``cos``/``sin`` may differ in the last bit,
which the rounding to float32 all but always hides.)

The frameworks have no unsigned 32-bit arithmetic to rely on, so they compute on
int64 tensors, masking each result with ``& 0xFFFFFFFF``; a multiplier ``m >= 2**31``
is used as ``m - 2**32`` (the same modulo ``2**32``), so that no product leaves the
int64 range.

Example:
    >>> hash_keys(["0123456789abcdef" + "0" * 48]).tolist()
    [[19088743, 2309737967]]
    >>> noise_words(hash_keys(["0" * 64]), 3).tolist()
    [[0, 1492470133, 911671261]]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_ELEMENTS",
    "MIX_MULTIPLIERS",
    "box_muller_tables",
    "gaussian_noise",
    "gaussian_noise_from_keys",
    "hash_keys",
    "mix32",
    "noise_words",
]

#: The two multipliers of ``mix`` (lowbias32).
MIX_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
#: The largest ``C * H * W`` the counter covers.
MAX_ELEMENTS = 2**31

_MASK = 0xFFFFFFFF
FloatTable = npt.NDArray[np.float64]
_HEX = np.full(256, -1, dtype=np.int64)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)
_NIBBLE_WEIGHTS = np.array([16**i for i in range(7, -1, -1)], dtype=np.int64)


def hash_keys(hashes: Any) -> npt.NDArray[np.int64]:
    """The key words ``[k0, k1]`` of each hash, as an ``int64`` array of shape ``[B, 2]``.

    ``hashes``: one hash (``str`` or ``bytes``) or several (a sequence, or a numpy
    array of ``S64``/``U64``, such as :attr:`dpa.ParamBatch.hash`).
    """
    if isinstance(hashes, str | bytes):
        hashes = [hashes]
    if isinstance(hashes, list | tuple) and all(isinstance(h, str) for h in hashes):
        return _str_keys(hashes)
    if isinstance(hashes, np.ndarray) and hashes.dtype.kind == "S":
        lengths = np.char.str_len(hashes.reshape(-1))
        raw = np.ascontiguousarray(hashes.reshape(-1).astype("S64"))
    else:
        items = [_as_bytes(h) for h in _iterate(hashes)]
        lengths = np.array([len(h) for h in items], dtype=np.int64)
        raw = np.array(items, dtype="S64") if items else np.empty(0, dtype="S64")
    if lengths.size and (lengths != 64).any():
        bad = int(np.flatnonzero(lengths != 64)[0])
        raise ValueError(
            f"a sample hash must be 64 hex digits, got {int(lengths[bad])} characters "
            f"(hash number {bad})"
        )
    digits = _HEX[np.frombuffer(raw.tobytes(), np.uint8).reshape(-1, 64)[:, :16]]
    if (digits < 0).any():
        bad = int(np.flatnonzero((digits < 0).any(axis=1))[0])
        raise ValueError(f"a sample hash must be 64 hex digits (hash number {bad} is not)")
    return np.stack([digits[:, :8] @ _NIBBLE_WEIGHTS, digits[:, 8:] @ _NIBBLE_WEIGHTS], axis=1)


_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _str_keys(hashes: Sequence[str]) -> npt.NDArray[np.int64]:
    """:func:`hash_keys` of a few ``str`` hashes, without building arrays."""
    for number, digest in enumerate(hashes):
        if not _HEX64.fullmatch(digest):
            raise ValueError(
                f"a sample hash must be 64 hex digits, got {digest[:70]!r} (hash number {number})"
            )
    words = [(int(digest[0:8], 16), int(digest[8:16], 16)) for digest in hashes]
    return np.array(words, dtype=np.int64).reshape(len(hashes), 2)


def _iterate(hashes: Any) -> Iterable[Any]:
    if isinstance(hashes, np.ndarray):
        return [h for h in hashes.reshape(-1).tolist()]
    if not isinstance(hashes, Iterable):
        raise TypeError(f"hash must be a string or a sequence of strings, got {hashes!r}")
    return hashes


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("ascii", errors="replace")
    raise TypeError(f"a sample hash must be a string, got {value!r}")


def mix32(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``lowbias32`` of 32-bit words held in ``uint64`` (values below ``2**32``)."""
    m1, m2 = (np.uint64(m) for m in MIX_MULTIPLIERS)
    mask = np.uint64(_MASK)
    x = x ^ (x >> np.uint64(16))
    x = (x * m1) & mask
    x = x ^ (x >> np.uint64(15))
    x = (x * m2) & mask
    return x ^ (x >> np.uint64(16))


def noise_words(keys: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.uint64]:
    """``word(j)`` for ``j`` in ``0 .. count-1``, for each key row: shape ``[B, count]``."""
    if not 0 <= count <= MAX_ELEMENTS // 2:
        raise ValueError(f"the noise counter covers at most 2**30 pairs, got {count}")
    key: npt.NDArray[np.uint64] = np.asarray(keys, dtype=np.int64).reshape(-1, 2).astype(np.uint64)
    j = np.arange(count, dtype=np.uint64)[None, :]
    return mix32(mix32(j ^ key[:, :1]) ^ key[:, 1:])


def gaussian_noise(hashes: Any, shape: tuple[int, int, int]) -> npt.NDArray[np.float32]:
    """Standard normal noise ``z`` of shape ``[B, C, H, W]`` for ``B`` hashes and an
    image of ``shape = (C, H, W)``.

    Example:
        >>> z = gaussian_noise(["ab" * 32], (3, 64, 64))
        >>> z.shape, z.dtype, abs(float(z.mean())) < 0.05, abs(float(z.std()) - 1) < 0.05
        ((1, 3, 64, 64), dtype('float32'), True, True)
    """
    return gaussian_noise_from_keys(hash_keys(hashes), shape)


def gaussian_noise_from_keys(
    keys: npt.NDArray[np.int64], shape: tuple[int, int, int]
) -> npt.NDArray[np.float32]:
    """:func:`gaussian_noise` for key words already read (:func:`hash_keys`)."""
    keys = np.asarray(keys, dtype=np.int64).reshape(-1, 2)
    count = int(np.prod(shape))
    if count > MAX_ELEMENTS:
        raise ValueError(f"the noise counter covers at most 2**31 elements, got {count}")
    radius, cos, sin = box_muller_tables()
    words = noise_words(keys, (count + 1) // 2)
    r = radius[(words >> np.uint64(16)).astype(np.intp)]
    b = (words & np.uint64(0xFFFF)).astype(np.intp)
    z = np.stack([r * cos[b], r * sin[b]], axis=-1).reshape(len(keys), -1)
    return z[:, :count].astype(np.float32).reshape(len(keys), *shape)


@functools.cache
def box_muller_tables() -> tuple[FloatTable, FloatTable, FloatTable]:
    """``(RAD, COS, SIN)``: float64 arrays of ``2**16`` values (read-only), see above.

    Example:
        >>> radius, cos, sin = box_muller_tables()
        >>> float(radius[-1]), float(cos[-1]), round(float(radius[0]) ** 2 / 2, 6)
        (0.0, 1.0, 11.090355)
    """
    u = (np.arange(2**16, dtype=np.float64) + 1.0) * 2.0**-16
    theta = (2.0 * np.pi) * u
    tables = (np.sqrt(-2.0 * np.log(u)) + 0.0, np.cos(theta), np.sin(theta))  # + 0.0: no -0.0
    for table in tables:
        table.flags.writeable = False
    return tables
