"""One entry point to generation: ids + config + key scheme -> parameters.

Everything that produces parameters for more than one sample (the streams, the
file writers, the CLI, every mode) goes through :func:`generate_batch` or its
range form :func:`iter_batches`, which hand the work to the active backend. The key
scheme (:mod:`dpa._keys`: plain, rank-aware, elastic) is an argument, never a branch
here. Per-sample, batch and stream results are identical.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from . import _backends as _backend
from ._config import PARAM_NAMES, AugmentationConfig, check_config
from ._keys import PLAIN, KeyScheme, check_scheme
from ._parambatch import _INT64_LIMIT, IdArray, ParamBatch, _id_array
from ._validate import check_callable, check_int, check_sample_id

__all__ = [
    "ParamBatch",
    "ProgressCallback",
    "StreamingProgress",
    "gen_augmentation_params",
    "generate_batch",
    "iter_batches",
    "stream_augmentation_chain",
    "stream_augmentation_range",
]

logger = logging.getLogger(__name__)

#: Samples generated per step when a stream has no ``chunk_size`` of its own.
DEFAULT_BLOCK = 4096
_UINT64_LIMIT = 2**64

FloatArray = npt.NDArray[np.float64]


_DEFAULT_CONFIG = AugmentationConfig()
_check_config = check_config


def _check_ids(ids: Any) -> tuple[Sequence[int], IdArray]:
    """Validate ``ids``; return them as a sequence of ints and as a column array."""
    if isinstance(ids, range):
        if len(ids) and min(ids[0], ids[-1]) < 0:
            raise ValueError(f"sample ids must be non-negative, got {ids!r}")
        if len(ids) and max(ids[0], ids[-1]) >= _INT64_LIMIT:
            return ids, _id_array(ids)
        return ids, np.arange(ids.start, ids.stop, ids.step, dtype=np.int64)
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise ValueError(f"sample ids must be a 1-D array, got shape {ids.shape}")
        if ids.dtype.kind in "iu":
            if ids.size and ids.min() < 0:
                raise ValueError(f"sample ids must be non-negative, got {int(ids.min())}")
            if ids.size and ids.dtype.kind == "u" and ids.max() >= _INT64_LIMIT:
                return [int(i) for i in ids.tolist()], _id_array(ids.tolist())
            as_int64 = ids.astype(np.int64)
            return as_int64.tolist(), as_int64
        if ids.dtype != object:
            raise TypeError(f"sample ids must be integers, got an array of {ids.dtype}")
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise TypeError(f"ids must be a range, a sequence or an array of ints, got {ids!r}")
    values = [check_sample_id(i, "sample id") for i in ids]
    return values, _id_array(values)


def gen_augmentation_params(
    seed_id: int,
    config: AugmentationConfig | None = None,
    *,
    scheme: KeyScheme | None = None,
    backend: str | None = None,
) -> dict[str, Any]:
    """Augmentation parameters of one sample.

    Returns a dict with ``rotation``, ``brightness``, ``noise``, ``scale``,
    ``contrast`` (floats) and ``hash`` (the chain's final hex digest), plus the
    scheme's record fields (``rank`` for a :class:`RankAwareScheme`). ``scheme``
    picks the key (default: DPA v0.2's plain key). Computed by the native kernel
    where it is built, else by the readable reference; the same numbers.

    Example:
        >>> gen_augmentation_params(0)["rotation"]
        -0.14542826986576074
        >>> from dpa import ElasticScheme
        >>> gen_augmentation_params(0, scheme=ElasticScheme(epoch=1))["rotation"]
        29.418161540134463
    """
    if config is None:
        config = _DEFAULT_CONFIG
    if scheme is not None and scheme is not PLAIN:
        scheme = check_scheme(scheme)
        params = _backend.one(
            check_sample_id(seed_id),
            _check_config(config),
            backend,
            key_prefix=scheme.key_prefix,
            seed_words=scheme.seed_words,
        )
        params.update(scheme.record_fields)
        return params
    if (
        backend is None
        and type(seed_id) is int
        and 0 <= seed_id < _UINT64_LIMIT
        and type(config) is AugmentationConfig
    ):
        # The common case in as few steps as possible: the chains of the default
        # backend's kernel, once it has been found to be the native one.
        chain = _backend.default_chains.get(config.augmentation_depth)
        if chain is not None:
            result: dict[str, Any] = chain.one(seed_id, config._packed_ranges)
            return result
    return _backend.one(check_sample_id(seed_id), _check_config(config), backend)


def generate_batch(
    ids: range | Sequence[int] | npt.NDArray[np.integer[Any]],
    config: AugmentationConfig | None = None,
    *,
    scheme: KeyScheme | None = None,
    workers: int = 1,
    backend: str | None = None,
) -> ParamBatch:
    """Parameters of every id in ``ids``, as columns: the one generation entry point.

    ``ids`` is a ``range``, a sequence of non-negative ints, or an integer array.
    ``scheme`` picks the key (:class:`PlainScheme`, DPA v0.2's, by default;
    :class:`RankAwareScheme`, :class:`ElasticScheme`). The values equal
    :func:`gen_augmentation_params` for each id, to the last bit. ``workers``
    threads share the work (native backend; the Python reference runs on one).
    ``backend`` forces ``"native"`` or ``"python"`` (default: :func:`dpa.backend`).

    Example:
        >>> batch = generate_batch(range(1000, 1004))
        >>> batch.sample_id.tolist()
        [1000, 1001, 1002, 1003]
    """
    config = _check_config(config)
    scheme = check_scheme(scheme)
    workers = _backend.check_workers(workers)
    id_values, id_column = _check_ids(ids)
    return _generate(id_values, id_column, config, scheme, backend=backend, workers=workers)


def _generate(
    id_values: Iterable[Any],
    id_column: IdArray,
    config: AugmentationConfig,
    scheme: KeyScheme,
    *,
    backend: str | None = None,
    workers: int = 1,
    out: _backend.Buffers | None = None,
) -> ParamBatch:
    values, digests = _backend.compute(
        id_values,
        id_column,
        config,
        scheme.key_prefix,
        backend,
        workers,
        scheme.seed_words,
        out,
    )
    columns = dict(zip(PARAM_NAMES, values, strict=True))
    return ParamBatch(sample_id=id_column, hash=digests, **columns)


@dataclass(frozen=True)
class StreamingProgress:
    """Where a stream stands, passed to ``progress_callback`` as each chunk is made
    (once, at 100%, for an empty stream).

    ``eta_seconds`` is ``None`` until a rate is known.
    """

    processed: int
    total: int
    elapsed_seconds: float
    samples_per_second: float
    eta_seconds: float | None

    @property
    def percentage(self) -> float:
        """Share done, 0 to 100 (100 for an empty stream)."""
        return 100.0 if self.total == 0 else 100.0 * self.processed / self.total

    @property
    def elapsed(self) -> float:
        """Seconds since the stream started (alias of ``elapsed_seconds``)."""
        return self.elapsed_seconds

    @property
    def eta(self) -> float | None:
        """Estimated seconds left (alias of ``eta_seconds``)."""
        return self.eta_seconds


ProgressCallback = Callable[[StreamingProgress, dict[str, Any]], None]


def _check_chunk_size(chunk_size: Any) -> int | None:
    return None if chunk_size is None else check_int(chunk_size, "chunk_size", 1)


def _check_bounds(start_id: Any, end_id: Any) -> tuple[int, int]:
    start = check_sample_id(start_id, "start_id")
    end = check_sample_id(end_id, "end_id")
    if start > end:
        raise ValueError(f"start_id must be <= end_id, got start_id={start} > end_id={end}")
    return start, end


def iter_batches(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None = None,
    batch_size: int = DEFAULT_BLOCK,
    progress_callback: ProgressCallback | None = None,
    *,
    scheme: KeyScheme | None = None,
    workers: int = 1,
    backend: str | None = None,
    key_prefix: bytes | None = None,
    seed_words: int | None = None,
) -> Iterator[ParamBatch]:
    """Columnar batches covering ids ``start_id`` (inclusive) to ``end_id`` (exclusive).

    Memory stays proportional to ``batch_size`` whatever the range. ``scheme``,
    ``workers`` and ``backend`` are as for :func:`generate_batch`.
    (``key_prefix``/``seed_words``, the raw form of a scheme, are deprecated.)

    Example:
        >>> [len(b) for b in iter_batches(0, 10, batch_size=4)]
        [4, 4, 2]
    """
    config = _check_config(config)
    start, end = _check_bounds(start_id, end_id)
    batch_size = check_int(batch_size, "batch_size", 1)
    check_callable(progress_callback, "progress_callback")
    scheme = check_scheme(scheme)
    if key_prefix is not None or seed_words is not None:
        scheme = _raw_scheme(scheme, key_prefix, seed_words)
    workers = _backend.check_workers(workers)
    _backend.resolve(backend)  # a bad or unavailable backend fails here, not mid-stream
    return _iter_batches(
        start, end, config, batch_size, progress_callback, scheme, workers, backend
    )


@dataclass(frozen=True)
class _RawScheme(KeyScheme):
    """A key given as its raw prefix and seed words (the deprecated arguments of
    :func:`iter_batches`)."""

    mode: ClassVar[str] = "raw"
    prefix: bytes = b""
    words: int = 1

    @property
    def key_prefix(self) -> bytes:
        return self.prefix

    @property
    def seed_words(self) -> int:  # type: ignore[override]
        return self.words


def _raw_scheme(scheme: KeyScheme, key_prefix: Any, seed_words: Any) -> KeyScheme:
    warnings.warn(
        "iter_batches(key_prefix=, seed_words=) is deprecated; pass scheme= "
        "(dpa.RankAwareScheme, dpa.ElasticScheme) instead",
        DeprecationWarning,
        stacklevel=3,
    )
    if scheme is not PLAIN:
        raise ValueError("give scheme= or key_prefix=/seed_words=, not both")
    prefix = b"" if key_prefix is None else key_prefix
    words = 1 if seed_words is None else seed_words
    if not isinstance(prefix, bytes):
        raise TypeError(f"key_prefix must be bytes, got {type(prefix).__name__}")
    if check_int(words, "seed_words", 1) not in (1, 8):
        raise ValueError(f"seed_words must be 1 (DPA v0.2) or 8 (the whole digest), got {words}")
    return _RawScheme(prefix, words)


def _iter_batches(
    start: int,
    end: int,
    config: AugmentationConfig,
    batch_size: int,
    progress_callback: ProgressCallback | None,
    scheme: KeyScheme,
    workers: int,
    backend: str | None,
) -> Iterator[ParamBatch]:
    total = end - start
    began = time.monotonic()

    def report(chunk_start: int, chunk_end: int) -> None:
        if progress_callback is None:
            return
        done = chunk_end - start
        elapsed = time.monotonic() - began
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        metadata = {
            "start_id": start,
            "end_id": end,
            "chunk_start": chunk_start,
            "chunk_end": chunk_end,
            "config": config,
        }
        progress_callback(StreamingProgress(done, total, elapsed, rate, eta), metadata)

    if total == 0:
        report(start, end)  # an empty stream is complete at once
        return
    for chunk_start in range(start, end, batch_size):
        chunk_end = min(chunk_start + batch_size, end)
        ids = range(chunk_start, chunk_end)
        _, id_column = _check_ids(ids)
        batch = _generate(ids, id_column, config, scheme, backend=backend, workers=workers)
        # Reported when produced, so the last report (100%) does not wait for the
        # consumer to ask for more.
        report(chunk_start, chunk_end)
        yield batch


def stream_augmentation_range(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None = None,
    chunk_size: int | None = None,
    progress_callback: ProgressCallback | None = None,
    *,
    scheme: KeyScheme | None = None,
) -> Iterator[Any]:
    """Stream parameters of ids ``start_id`` to ``end_id - 1`` in constant memory.

    Yields one dict per sample (with ``sample_id``, and the scheme's record fields:
    ``rank`` for rank-aware keys), or lists of ``chunk_size`` dicts when
    ``chunk_size`` is given. ``progress_callback(progress, metadata)`` is called
    after each chunk.

    Example:
        >>> [p["sample_id"] for p in stream_augmentation_range(5, 8)]
        [5, 6, 7]
    """
    chunk = _check_chunk_size(chunk_size)
    scheme = check_scheme(scheme)
    batches = iter_batches(
        start_id, end_id, config, chunk or DEFAULT_BLOCK, progress_callback, scheme=scheme
    )
    return _records(batches, chunk is not None, scheme.record_fields)


def _records(batches: Iterator[ParamBatch], chunked: bool, fields: dict[str, int]) -> Iterator[Any]:
    for batch in batches:
        records = batch.to_dicts()
        for record in records:
            record.update(fields)
        if chunked:
            yield records
        else:
            yield from records


def stream_augmentation_chain(
    num_samples: int,
    config: AugmentationConfig | None = None,
    chunk_size: int | None = None,
    start_id: int = 0,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[Any]:
    """Stream parameters of ``num_samples`` consecutive ids from ``start_id``.

    Same output as :func:`stream_augmentation_range` over
    ``(start_id, start_id + num_samples)``.

    Example:
        >>> chunks = list(stream_augmentation_chain(5, chunk_size=2))
        >>> [len(c) for c in chunks]
        [2, 2, 1]
    """
    count = check_int(num_samples, "num_samples", 0)
    start = check_sample_id(start_id, "start_id")
    return stream_augmentation_range(start, start + count, config, chunk_size, progress_callback)


def regroup(stream: Iterable[Any], block: int = DEFAULT_BLOCK) -> Iterator[Any]:
    """The items of a parameter stream as blocks: runs of single dicts gathered
    into lists of up to ``block``; lists of dicts and ParamBatch objects as they come.

    Raises TypeError for anything else, and for a stream that is not iterable.
    """
    if isinstance(stream, str | bytes | dict) or not isinstance(stream, Iterable):
        raise TypeError(f"stream must be an iterable of parameters, got {type(stream).__name__}")
    return _regroup(stream, block)


def _regroup(stream: Iterable[Any], block: int) -> Iterator[Any]:
    pending: list[dict[str, Any]] = []
    for item in stream:
        if isinstance(item, dict):
            pending.append(item)
            if len(pending) < block:
                continue
        elif not isinstance(item, ParamBatch | list | tuple):
            raise TypeError(
                f"stream items must be dicts, lists of dicts or ParamBatch, got {item!r:.80}"
            )
        if pending:
            yield pending
            pending = []
        if not isinstance(item, dict):
            yield item
    if pending:
        yield pending
