"""Augmentation configuration: parameter ranges, hash-chain depth, presets.

An :class:`AugmentationConfig` is immutable and validated on construction, so a
config that exists is a config that can be used.
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from types import MappingProxyType
from typing import Any

from ._validate import check_int

__all__ = [
    "MAX_AUGMENTATION_DEPTH",
    "PARAM_NAMES",
    "PRESETS",
    "AugmentationConfig",
    "config_name",
    "get_preset",
]

#: The five parameters, in the order they are drawn from the generator.
PARAM_NAMES: tuple[str, ...] = ("rotation", "brightness", "noise", "scale", "contrast")

Range = tuple[float, float]

#: The deepest hash chain a config may ask for. The chain's salts are the Fibonacci
#: numbers, about 0.21*i digits long at step i, so a sample's cost grows with the
#: square of the depth: depth 10 (DPA v0.2's default) hashes ~0.1 KB, 4096 about
#: 1.8 MB (a few ms a sample), 50,000 would be 17 s. A file or command line asking for
#: more is refused rather than left to run for hours.
MAX_AUGMENTATION_DEPTH = 4096


def _check_range(name: str, value: Any) -> Range:
    # A list, tuple or 1-D array of two numbers; not a string (which also has a length).
    if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a pair (lo, hi) of numbers, got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (lo, hi), got {len(value)} values: {value!r}")
    bounds = []
    for which, bound in zip(("lower", "upper"), value, strict=True):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
            raise TypeError(f"{name}: {which} bound must be a number, got {bound!r}")
        # Integers stay integers: DPA v0.2 computed ``lo + (hi - lo) * random()`` on the
        # values as given, and ``hi - lo`` on ints is exact where on floats it may round.
        number: float = int(bound) if isinstance(bound, numbers.Integral) else float(bound)
        if not _is_finite(number):
            raise ValueError(f"{name}: {which} bound must be finite, got {_brief_number(bound)}")
        bounds.append(number)
    lo, hi = bounds
    pair = f"({_brief_number(lo)}, {_brief_number(hi)})"
    if not lo < hi:
        raise ValueError(f"{name}: lower bound must be < upper bound, got {pair}")
    if not _is_finite(hi - lo):
        raise ValueError(
            f"{name}: {pair} is too wide: its width hi - lo must be a finite float "
            f"(below about 1.8e+308), and is {_brief_number(hi - lo)}"
        )
    return (lo, hi)


def _brief_number(number: Any) -> str:
    """A bound for a message: as given, but an int of many digits as the float it is
    close to (``-1e308`` given on the command line is such an int).

    Example:
        >>> _brief_number(-(10**308)), _brief_number(2 * 10**308), _brief_number(0.5)
        ('-1e+308', '2e+308', '0.5')
    """
    if isinstance(number, int) and not isinstance(number, bool) and abs(number) >= 10**16:
        try:
            return f"{float(number):.6g}"
        except OverflowError:  # beyond a float: written as one would
            if number.bit_length() > 4000:
                return _brief_int(number)
            digits = str(abs(number))
            mantissa = f"{digits[0]}.{digits[1:6]}".rstrip("0").rstrip(".")
            return f"{'-' if number < 0 else ''}{mantissa}e+{len(digits) - 1}"
    return f"{number!r}"


def _brief_int(number: int) -> str:
    """An int for a message: its digits, or how many there are when they are many."""
    text = str(number) if number.bit_length() < 200 else ""
    return text or f"an integer of about {int(number.bit_length() * 0.30103) + 1} digits"


def _is_finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int too large for a float
        return False


@dataclass(frozen=True)
class AugmentationConfig:
    """Ranges of the five augmentation parameters and the depth of the hash chain.

    Each range is a pair ``(lo, hi)`` of finite numbers with ``lo < hi``; values are
    drawn uniformly in ``[lo, hi]``. ``augmentation_depth`` is the number of
    Fibonacci-salted SHA-256 steps applied after hashing the sample id.

    Example:
        >>> cfg = AugmentationConfig(rotation_range=(-10, 10))
        >>> cfg.rotation_range
        (-10, 10)
    """

    rotation_range: Range = (-30, 30)
    brightness_range: Range = (0.8, 1.2)
    noise_range: Range = (0, 0.1)
    scale_range: Range = (0.8, 1.2)
    contrast_range: Range = (0.7, 1.3)
    augmentation_depth: int = 10

    def __post_init__(self) -> None:
        for name in PARAM_NAMES:
            key = f"{name}_range"
            object.__setattr__(self, key, _check_range(key, getattr(self, key)))
        depth = check_int(self.augmentation_depth, "augmentation_depth", 1)
        if depth > MAX_AUGMENTATION_DEPTH:
            raise ValueError(
                f"augmentation_depth must be <= {MAX_AUGMENTATION_DEPTH} (a sample's cost "
                f"grows with the square of the depth), got {_brief_int(depth)}"
            )
        object.__setattr__(self, "augmentation_depth", depth)

    @cached_property
    def _lo_width(self) -> tuple[tuple[float, float], ...]:
        """(lo, hi - lo) per parameter in draw order, computed once for the hot path."""
        return tuple((lo, hi - lo) for lo, hi in self.ranges)

    @cached_property
    def _packed_ranges(self) -> bytes:
        """``(lo, hi - lo)`` per parameter as ten float64, as the native kernel takes
        them: each what Python's ``lo + (hi - lo) * r`` makes of an int bound (the
        int difference, then one rounding to float)."""
        return struct.pack("10d", *(float(x) for pair in self._lo_width for x in pair))

    @property
    def ranges(self) -> tuple[Range, ...]:
        """The five ``(lo, hi)`` ranges in draw order (see :data:`PARAM_NAMES`)."""
        return tuple(getattr(self, f"{name}_range") for name in PARAM_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields (ranges as two-element lists).

        Example:
            >>> AugmentationConfig().to_dict()["augmentation_depth"]
            10
        """
        out: dict[str, Any] = {
            f"{name}_range": list(r) for name, r in zip(PARAM_NAMES, self.ranges, strict=True)
        }
        out["augmentation_depth"] = self.augmentation_depth
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AugmentationConfig:
        """Build a config from a mapping such as :meth:`to_dict` returns.

        Missing fields take their defaults; unknown fields are an error.

        Example:
            >>> AugmentationConfig.from_dict({"augmentation_depth": 3}).augmentation_depth
            3
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**dict(data))


#: The named presets. ``moderate`` equals the defaults.
PRESETS: Mapping[str, AugmentationConfig] = MappingProxyType(
    {
        "mild": AugmentationConfig(
            rotation_range=(-15, 15),
            brightness_range=(0.9, 1.1),
            noise_range=(0, 0.05),
            scale_range=(0.9, 1.1),
            contrast_range=(0.85, 1.15),
        ),
        "moderate": AugmentationConfig(),
        "aggressive": AugmentationConfig(
            rotation_range=(-45, 45),
            brightness_range=(0.7, 1.3),
            noise_range=(0, 0.15),
            scale_range=(0.7, 1.3),
            contrast_range=(0.6, 1.4),
        ),
    }
)


def check_config(config: Any) -> AugmentationConfig:
    """``config`` itself, or the default config for None; TypeError otherwise.

    Example:
        >>> check_config(None) == AugmentationConfig()
        True
    """
    if config is None:
        return _DEFAULT
    if not isinstance(config, AugmentationConfig):
        raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
    return config


def get_preset(name: str) -> AugmentationConfig:
    """Return the preset called ``name`` (``mild``, ``moderate`` or ``aggressive``).

    Example:
        >>> get_preset("mild").rotation_range
        (-15, 15)
    """
    if not isinstance(name, str):
        raise TypeError(f"preset name must be a string, got {name!r}")
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}"
        ) from None


_DEFAULT = AugmentationConfig()


def config_name(config: AugmentationConfig) -> str:
    """A preset's name, or the ranges of a config that is none of them.

    Example:
        >>> config_name(PRESETS["mild"])
        "preset 'mild'"
        >>> config_name(AugmentationConfig(rotation_range=(-5, 5)))[:33]
        'config rotation -5..5, brightness'
    """
    config = check_config(config)
    for name, preset in PRESETS.items():
        if preset == config:
            return f"preset {name!r}"
    ranges = ", ".join(
        f"{name} {lo:g}..{hi:g}" for name, (lo, hi) in zip(PARAM_NAMES, config.ranges, strict=True)
    )
    return f"config {ranges}, depth {config.augmentation_depth}"
