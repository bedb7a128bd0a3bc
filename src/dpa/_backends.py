"""Backends: the native kernel or the Python reference, chosen once per call.

Both compute the same numbers to the last bit; the native kernel does it about
15 times faster and can split a batch across threads (it releases the GIL).
``DPA_BACKEND=python|native`` forces one; otherwise the native kernel is used
where it was built.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core as core, _kernel
from ._config import AugmentationConfig
from ._validate import check_int

__all__ = ["BACKENDS", "backend", "native_available"]

BACKENDS = ("native", "python")
_ENV = "DPA_BACKEND"
_UINT64_LIMIT = 2**64
#: Fewer samples than this per thread are not worth a thread of their own.
_MIN_PER_WORKER = 4096
_LANES = 32

Values = npt.NDArray[np.float64]
Hashes = npt.NDArray[np.bytes_]


def native_available() -> bool:
    """True when the native kernel was built and loads."""
    return _kernel.KERNEL is not None


def backend() -> str:
    """The backend generation uses by default: ``"native"`` or ``"python"``.

    ``DPA_BACKEND`` (read on first use) forces one; forcing ``native`` where it is
    not built is an error.

    Example:
        >>> backend() in ("native", "python")
        True
    """
    return resolve(None)


_default: str | None = None


def resolve(name: str | None) -> str:
    """The backend to use for ``name`` (``None``: the default, decided on first use
    from ``DPA_BACKEND`` and whether the kernel is built)."""
    global _default
    if name is None:
        if _default is None:
            _default = _check(os.environ.get(_ENV) or _auto(), f"{_ENV}")
        return _default
    return _check(name, "backend")


def forget_default() -> None:
    """Decide the default again on next use (after ``DPA_BACKEND`` changed)."""
    global _default
    _default = None
    default_chains.clear()


def _auto() -> str:
    return "native" if native_available() else "python"


def _check(name: str, origin: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"{origin}={name!r}: unknown backend; choose native or python")
    if name == "native" and not native_available():
        raise RuntimeError(
            f"{origin}={name!r}, but the native kernel is not available "
            f"({_kernel.IMPORT_ERROR}); reinstall dpa with a C compiler, or use the python backend"
        )
    return name


def check_workers(workers: Any) -> int:
    """``workers`` as an int >= 1."""
    return check_int(workers, "workers", 1)


def compute(
    id_values: Iterable[Any],
    id_column: npt.NDArray[Any],
    config: AugmentationConfig,
    key_prefix: bytes,
    backend_name: str | None = None,
    workers: int = 1,
    seed_words: int = 1,
    out: Buffers | None = None,
) -> tuple[Values, Hashes]:
    """Parameters (5 x n, in draw order) and hashes of the keys
    ``key_prefix + decimal(id)``. ``seed_words`` is 1 for DPA v0.2's 32-bit seed
    (the digest's last 8 hex digits) or 8 for the whole 256-bit digest. With
    ``out`` the results are written into (and returned as views of) its buffers."""
    values, hashes = _outputs(len(id_column), out)
    if resolve(backend_name) == "python":
        python_values, python_hashes = _python(id_values, config, key_prefix, seed_words)
        np.copyto(values, python_values.reshape(values.shape))
        np.copyto(hashes, python_hashes)
    else:
        _native(id_values, id_column, config, key_prefix, workers, seed_words, values, hashes)
    return values, hashes


#: Reusable output buffers: a flat float64 array of at least 5 * n values and an
#: S64 array of at least n hashes.
Buffers = tuple[npt.NDArray[np.float64], npt.NDArray[np.bytes_]]


def _outputs(n: int, out: Buffers | None) -> tuple[Values, Hashes]:
    if out is None:
        return np.empty((5, n), dtype=np.float64), np.empty(n, dtype="S64")
    flat, hashes = out
    if flat.dtype != np.float64 or hashes.dtype != np.dtype("S64"):
        raise TypeError("out: expected a float64 and an S64 buffer")
    if flat.size < 5 * n or hashes.size < n:
        raise ValueError(f"out: buffers too small for {n} samples")
    # The first 5 * n values as 5 contiguous rows of n: the layout the kernel fills.
    return flat[: 5 * n].reshape(5, n), hashes[:n]


def one(
    seed_id: int,
    config: AugmentationConfig,
    backend_name: str | None = None,
    *,
    key_prefix: bytes = b"",
    seed_words: int = 1,
) -> dict[str, Any]:
    """Parameters of one sample (the per-sample APIs)."""
    name = resolve(backend_name)
    if name == "python":
        key = key_prefix + core.decimal(seed_id)
        return core.params_for_key(key, config, full_seed=seed_words == 8)
    chain = _kernel.chain(config.augmentation_depth)
    if backend_name is None and not key_prefix and seed_words == 1:
        default_chains[config.augmentation_depth] = chain  # for the fast path
    plain = not key_prefix and seed_id < _UINT64_LIMIT
    native_key = seed_id if plain else key_prefix + core.decimal(seed_id)
    result: dict[str, Any] = chain.one(native_key, config._packed_ranges, seed_words)
    return result


#: The native chains by depth, filled only while the default backend is native:
#: the per-sample API's fast path looks here first.
default_chains: dict[int, Any] = {}


def _python(
    ids: Iterable[Any], config: AugmentationConfig, key_prefix: bytes, seed_words: int
) -> tuple[Values, Hashes]:
    """The reference: the core functions, one sample at a time."""
    depth = config.augmentation_depth
    hash_chain, draw_params, decimal = core.hash_chain, core.draw_params, core.decimal
    seed_digits = -8 if seed_words == 1 else -64
    rows: list[tuple[float, ...]] = []
    digests: list[str] = []
    for sample_id in ids:
        digest = hash_chain(key_prefix + decimal(sample_id), depth)
        rows.append(draw_params(int(digest[seed_digits:], 16), config))
        digests.append(digest)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), 5)
    return values.T.copy(), np.array(digests, dtype="S64")


def _native(
    id_values: Iterable[Any],
    id_column: npt.NDArray[Any],
    config: AugmentationConfig,
    key_prefix: bytes,
    workers: int,
    seed_words: int,
    values: Values,
    hashes: Hashes,
) -> None:
    n = len(id_column)
    chain = _kernel.chain(config.augmentation_depth)
    ranges = _kernel.packed_ranges(config)
    if id_column.dtype == np.int64:
        ids = np.ascontiguousarray(id_column).view(np.uint64)

        def fill(start: int, end: int) -> None:
            chain.fill_ids(ids, key_prefix, ranges, values, hashes, start, end, seed_words)

    else:  # ids of 2**63 and more: whole keys
        keys = [key_prefix + core.decimal(int(i)) for i in id_values]

        def fill(start: int, end: int) -> None:
            chain.fill_keys(keys, ranges, values, hashes, start, end, seed_words)

    _split(fill, n, workers)


def _split(fill: Any, n: int, workers: int) -> None:
    """Run ``fill(start, end)`` over ``[0, n)`` on up to ``workers`` threads."""
    workers = max(1, min(workers, n // _MIN_PER_WORKER))
    if workers == 1:
        fill(0, n)
        return
    # Contiguous slices, multiples of the kernel's lane count.
    step = -(-n // workers)
    step = -(-step // _LANES) * _LANES
    bounds = [(start, min(start + step, n)) for start in range(0, n, step)]
    errors: list[BaseException] = []

    def run(start: int, end: int) -> None:
        try:
            fill(start, end)
        except BaseException as exc:  # re-raised in the caller below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=b, daemon=True) for b in bounds[1:]]
    for thread in threads:
        thread.start()
    run(*bounds[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
