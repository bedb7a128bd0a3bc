"""The DPA v0.2 algorithm in plain Python: the readable reference.

For a sample id ``n`` and a config:

1. ``h = sha256(str(n)).hexdigest()``
2. for ``i`` in ``0 .. depth-1``: ``h = sha256(h + str(fib(i))).hexdigest()``
3. ``seed = int(h, 16) % 2**32``
4. a Mersenne Twister seeded like ``random.Random(seed)`` draws rotation, brightness,
   noise, scale and contrast, each as ``lo + (hi - lo) * random()``.

Everything here is a pure function of its arguments. The generator is private to
each thread, so the global :mod:`random` state is never read or changed.
"""

from __future__ import annotations

import hashlib
import random
import threading
from functools import lru_cache
from typing import Any

from ._config import AugmentationConfig
from ._validate import MAX_ID_DIGITS, check_sample_id

__all__ = [
    "fib",
    "gen_augmentation_params",
    "gen_augmentation_seed",
    "params_for_key",
    "seed_from_hash",
]

try:  # CPython's C generator: its ``seed`` skips the pure-Python wrapper of random.Random.
    from _random import Random as _MersenneTwister
except ImportError:  # pragma: no cover - other interpreters
    _MersenneTwister = random.Random  # type: ignore[misc,assignment]

_DEFAULT_CONFIG = AugmentationConfig()
_sha256 = hashlib.sha256


def fib(n: int) -> int:
    """The ``n``-th Fibonacci number: ``fib(0) = 0``, ``fib(1) = 1``.

    Example:
        >>> [fib(i) for i in range(8)]
        [0, 1, 1, 2, 3, 5, 8, 13]
    """
    n = check_sample_id(n, "n")
    previous, current = 0, 1
    for _ in range(n):
        previous, current = current, previous + current
    return previous


def decimal(n: int) -> bytes:
    """ASCII decimal digits of a non-negative int of any size.

    ``b"%d" % n`` refuses ints of more than ``sys.get_int_max_str_digits()`` digits;
    those are split around a power of ten, which that limit does not cover.
    """
    try:
        return b"%d" % n
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        pass
    half = max(1, n.bit_length() * 30103 // 200000)  # about half its number of digits
    high, low = divmod(n, 10**half)
    return decimal(high) + decimal(low).rjust(half, b"0")


def parse_decimal(text: str) -> int:
    """The int written by :func:`decimal` (ASCII digits), of up to
    :data:`~dpa._validate.MAX_ID_DIGITS` digits (ValueError past that: every number
    in a dpa file is read through here, so a file cannot make a reader spend minutes
    converting one).

    Example:
        >>> parse_decimal("123")
        123
    """
    if len(text) > MAX_ID_DIGITS + 1:  # a sign may come first
        raise ValueError(f"a number of {len(text)} digits; dpa reads at most {MAX_ID_DIGITS}")
    try:
        return int(text)
    except ValueError:
        if not (text.isascii() and text.isdigit()):
            raise
    half = len(text) // 2
    scale: int = 10 ** (len(text) - half)
    return parse_decimal(text[:half]) * scale + parse_decimal(text[half:])


@lru_cache(maxsize=64)
def fib_salts(depth: int) -> tuple[bytes, ...]:
    """The ASCII decimal strings of ``fib(0) .. fib(depth-1)``, hashed in the chain."""
    salts = []
    previous, current = 0, 1
    for _ in range(depth):
        salts.append(decimal(previous))
        previous, current = current, previous + current
    return tuple(salts)


def hash_chain(key: bytes, depth: int) -> str:
    """Hash ``key``, then apply ``depth`` Fibonacci-salted SHA-256 steps; hex digest."""
    digest = _sha256(key).hexdigest().encode("ascii")
    for salt in fib_salts(depth):
        digest = _sha256(digest + salt).hexdigest().encode("ascii")
    return digest.decode("ascii")


def gen_augmentation_seed(seed_id: int, augmentation_depth: int = 10) -> str:
    """The final hash (64 lower-case hex digits) of the chain for ``seed_id``.

    Example:
        >>> gen_augmentation_seed(0)[:16]
        'f186c633e8861c7e'
    """
    seed_id = check_sample_id(seed_id)
    depth = AugmentationConfig(augmentation_depth=augmentation_depth).augmentation_depth
    return hash_chain(decimal(seed_id), depth)


def seed_from_hash(hex_digest: str) -> int:
    """The 32-bit generator seed of a chain hash: ``int(hex_digest, 16) % 2**32``.

    Example:
        >>> seed_from_hash("00" * 28 + "0000002a")
        42
    """
    if not isinstance(hex_digest, str):
        raise TypeError(f"hex_digest must be a str, got {type(hex_digest).__name__}")
    return int(hex_digest[-8:], 16)


class _Generator(threading.local):
    def __init__(self) -> None:
        self.mt = _MersenneTwister()


_local = _Generator()


def draw_params(seed: int, config: AugmentationConfig) -> tuple[float, ...]:
    """The five parameters drawn from a Mersenne Twister seeded with ``seed``.

    Each is ``lo + (hi - lo) * random()``, exactly what ``random.uniform`` computes.
    """
    mt = _local.mt
    mt.seed(seed)
    uniform = mt.random
    (r_lo, r_w), (b_lo, b_w), (n_lo, n_w), (s_lo, s_w), (c_lo, c_w) = config._lo_width
    return (
        r_lo + r_w * uniform(),
        b_lo + b_w * uniform(),
        n_lo + n_w * uniform(),
        s_lo + s_w * uniform(),
        c_lo + c_w * uniform(),
    )


def params_for_key(
    key: bytes, config: AugmentationConfig, *, full_seed: bool = False
) -> dict[str, Any]:
    """Parameters for an arbitrary key (the sample id's decimal digits, or a
    distributed or elastic key): the chain, the seed and the five draws.

    The seed is the digest's last 32 bits (DPA v0.2), or with ``full_seed`` the
    whole 256-bit digest (as ``random.Random(int(digest, 16))`` takes it).
    """
    if not isinstance(config, AugmentationConfig):
        raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
    digest = hash_chain(key, config.augmentation_depth)
    seed = int(digest, 16) if full_seed else seed_from_hash(digest)
    rotation, brightness, noise, scale, contrast = draw_params(seed, config)
    return {
        "rotation": rotation,
        "brightness": brightness,
        "noise": noise,
        "scale": scale,
        "contrast": contrast,
        "hash": digest,
    }


def gen_augmentation_params(
    seed_id: int, config: AugmentationConfig | None = None
) -> dict[str, Any]:
    """Augmentation parameters of one sample.

    Returns a dict with ``rotation``, ``brightness``, ``noise``, ``scale``,
    ``contrast`` (floats) and ``hash`` (the chain's final hex digest).

    Example:
        >>> gen_augmentation_params(0)["rotation"]
        -0.14542826986576074
    """
    seed_id = check_sample_id(seed_id)
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, AugmentationConfig):
        raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
    return params_for_key(decimal(seed_id), config)
