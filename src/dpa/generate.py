"""One entry point to generation: columnar batches, streams and ranges.

Everything that produces parameters for more than one sample (the streams, the
file writers, the CLI) goes through :func:`generate_batch`, which hands the work
to the active backend. Per-sample, batch and stream results are identical.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import backends as _backend
from . import core
from .config import PARAM_NAMES, AugmentationConfig, check_int
from .core import check_sample_id

__all__ = [
    "ParamBatch",
    "ProgressCallback",
    "StreamingProgress",
    "gen_augmentation_params",
    "generate_augmentation_chain",
    "generate_batch",
    "iter_batches",
    "stream_augmentation_chain",
    "stream_augmentation_range",
]

logger = logging.getLogger(__name__)

#: Samples generated per step when a stream has no ``chunk_size`` of its own.
DEFAULT_BLOCK = 4096
_INT64_LIMIT = 2**63
_UINT64_LIMIT = 2**64

IdArray = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ParamBatch:
    """Parameters of many samples, one numpy array per field (columnar).

    ``sample_id`` is ``int64`` (``object`` holding Python ints when an id is 2**63 or
    more); the five parameters are ``float64``; ``hash`` holds each chain's final
    digest as 64 ASCII hex bytes (dtype ``S64``). ``rank`` (``int64``) is the rank
    that drew each sample, present only in batches that carry one per record (a
    merged rank-aware file's, see :mod:`dpa.shards`); ``None`` otherwise.

    Example:
        >>> batch = generate_batch(range(3))
        >>> len(batch), batch.rotation[0]
        (3, np.float64(-0.14542826986576074))
    """

    sample_id: IdArray
    rotation: FloatArray
    brightness: FloatArray
    noise: FloatArray
    scale: FloatArray
    contrast: FloatArray
    hash: npt.NDArray[np.bytes_]
    rank: npt.NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        n = None
        for name, column in self.columns().items():
            if not isinstance(column, np.ndarray) or column.ndim != 1:
                raise TypeError(f"ParamBatch.{name} must be a 1-D numpy array, got {column!r:.80}")
            if not _COLUMN_DTYPES.get(name, _is_float64)(column.dtype):
                raise TypeError(f"ParamBatch.{name} has the wrong dtype: {column.dtype}")
            if n is not None and len(column) != n:
                raise ValueError(f"ParamBatch columns differ in length ({name}: {len(column)})")
            n = len(column)

    def __len__(self) -> int:
        return len(self.sample_id)

    def __getitem__(self, index: int | slice) -> Any:
        """One sample as a dict (int index), or a sub-batch (slice)."""
        if isinstance(index, slice):
            return ParamBatch(**{name: column[index] for name, column in self.columns().items()})
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"ParamBatch indices must be ints or slices, got {index!r:.80}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        record: dict[str, Any] = {name: float(getattr(self, name)[index]) for name in PARAM_NAMES}
        record["hash"] = self.hash[index].decode("ascii")
        record["sample_id"] = int(self.sample_id[index])
        if self.rank is not None:
            record["rank"] = int(self.rank[index])
        return record

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The columns by name: ``sample_id``, the five parameters, ``hash`` (and
        ``rank`` when the batch has one)."""
        columns = {
            "sample_id": self.sample_id,
            **{name: getattr(self, name) for name in PARAM_NAMES},
            "hash": self.hash,
        }
        if self.rank is not None:
            columns["rank"] = self.rank
        return columns

    def with_rank(self, rank: int | npt.NDArray[np.integer[Any]] | None) -> ParamBatch:
        """The same batch with a ``rank`` column: one rank for every record, an
        array of one per record, or ``None`` for none.

        Example:
            >>> generate_batch(range(2)).with_rank(3).to_dicts()[1]["rank"]
            3
        """
        if rank is None:
            column = None
        elif isinstance(rank, int | np.integer):
            if not 0 <= rank < _INT64_LIMIT:
                raise ValueError(f"rank must be an int in 0 .. 2**63-1, got {rank}")
            column = np.full(len(self), int(rank), dtype=np.int64)
        else:
            try:
                column = np.asarray(rank, dtype=np.int64)
            except OverflowError:
                raise ValueError("rank: a value does not fit an int64") from None
            if column.shape != (len(self),):
                raise ValueError(f"rank must hold {len(self)} values, got shape {column.shape}")
        return ParamBatch(
            self.sample_id,
            self.rotation,
            self.brightness,
            self.noise,
            self.scale,
            self.contrast,
            self.hash,
            column,
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per sample, as the streams yield them (``sample_id`` included).

        Example:
            >>> generate_batch([5]).to_dicts()[0]["sample_id"]
            5
        """
        values = [getattr(self, name).tolist() for name in PARAM_NAMES]
        hashes = [digest.decode("ascii") for digest in self.hash.tolist()]
        ids = [int(i) for i in self.sample_id.tolist()]
        records = [
            {
                "rotation": r,
                "brightness": b,
                "noise": n,
                "scale": s,
                "contrast": c,
                "hash": h,
                "sample_id": i,
            }
            for r, b, n, s, c, h, i in zip(*values, hashes, ids, strict=True)
        ]
        if self.rank is not None:
            for record, rank in zip(records, self.rank.tolist(), strict=True):
                record["rank"] = rank
        return records

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` with the same columns (needs ``pyarrow``).

        ``sample_id`` is ``int64``, or ``uint64`` / decimal strings for ids that do
        not fit it.
        """
        try:
            import pyarrow as pa
        except ImportError as exc:  # pragma: no cover - exercised without pyarrow only
            raise ImportError("to_arrow() needs pyarrow: pip install 'dpa[parquet]'") from exc
        columns = {
            "sample_id": _arrow_ids(self.sample_id),
            **{name: pa.array(getattr(self, name), pa.float64()) for name in PARAM_NAMES},
            "hash": _arrow_hashes(self.hash),
        }
        if self.rank is not None:
            columns["rank"] = pa.array(self.rank, pa.int64())
        return pa.table(columns)

    def equals(self, other: ParamBatch) -> bool:
        """True when both batches hold the same ids and bit-identical values."""
        if not isinstance(other, ParamBatch) or len(self) != len(other):
            return False
        ours, theirs = self.columns(), other.columns()
        if ours.keys() != theirs.keys():
            return False
        return all(
            np.array_equal(ours[name].view(np.uint64), theirs[name].view(np.uint64))
            if name in PARAM_NAMES
            else np.array_equal(ours[name], theirs[name])
            for name in ours
        )

    @classmethod
    def from_dicts(
        cls, records: Sequence[dict[str, Any]], start_id: int = 0, *, rank: bool = False
    ) -> ParamBatch:
        """Build a batch from parameter dicts; a record without ``sample_id`` gets
        ``start_id`` plus its position. With ``rank=True`` every record's ``rank``
        makes the batch's ``rank`` column (otherwise a ``rank`` key is ignored)."""
        if isinstance(records, str | bytes | dict) or not isinstance(records, Sequence):
            raise TypeError(f"records must be a list of parameter dicts, got {records!r:.80}")
        try:
            ids = [record.get("sample_id", start_id + i) for i, record in enumerate(records)]
            columns = {
                name: np.array([record[name] for record in records], dtype=np.float64)
                for name in PARAM_NAMES
            }
            hashes = np.array([record["hash"].encode("ascii") for record in records], dtype="S64")
            ranks = (
                np.array([record["rank"] for record in records], dtype=np.int64) if rank else None
            )
            return cls(sample_id=_id_array(ids), hash=hashes, rank=ranks, **columns)
        except (KeyError, AttributeError, OverflowError) as exc:
            raise ValueError(f"not a list of parameter dicts: {exc!r:.200}") from None

    @classmethod
    def concat(cls, batches: Sequence[ParamBatch]) -> ParamBatch:
        """One batch holding ``batches`` in order."""
        if (
            isinstance(batches, str | bytes)
            or not isinstance(batches, Sequence)
            or not all(isinstance(batch, ParamBatch) for batch in batches)
        ):
            raise TypeError(f"expected a sequence of ParamBatch, got {batches!r:.80}")
        if not batches:
            return generate_batch([])
        names = batches[0].columns()
        if any(b.columns().keys() != names.keys() for b in batches):
            raise ValueError("cannot join batches with and without a rank column")
        merged = {name: np.concatenate([b.columns()[name] for b in batches]) for name in names}
        if merged["sample_id"].dtype == object:
            merged["sample_id"] = _id_array(merged["sample_id"].tolist())
        return cls(**merged)


def _is_float64(dtype: np.dtype[Any]) -> bool:
    return dtype == np.float64


#: What each column's dtype may be (the five parameters: float64).
_COLUMN_DTYPES: dict[str, Callable[[np.dtype[Any]], bool]] = {
    "sample_id": lambda dtype: dtype.kind in "iuO",
    "hash": lambda dtype: dtype == np.dtype("S64"),
    "rank": lambda dtype: dtype.kind in "iu",
}


def _id_array(ids: Iterable[int]) -> IdArray:
    values = [int(i) for i in ids]
    if values and max(values) >= _INT64_LIMIT:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.array(values, dtype=np.int64)


def _arrow_hashes(hashes: npt.NDArray[np.bytes_]) -> Any:
    """The S64 hashes as an Arrow string column, built on their bytes (no copy per item)."""
    import pyarrow as pa

    n = len(hashes)
    data = np.ascontiguousarray(hashes).view(np.uint8)
    if n * 64 < 2**31:
        offsets = pa.py_buffer(np.arange(0, 64 * (n + 1), 64, dtype=np.int32))
        return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(data))
    offsets = pa.py_buffer(np.arange(0, 64 * (n + 1), 64, dtype=np.int64))
    return pa.LargeStringArray.from_buffers(n, offsets, pa.py_buffer(data))


def _arrow_ids(ids: IdArray) -> Any:
    import pyarrow as pa

    if ids.dtype != object:
        return pa.array(ids, pa.int64())
    values = ids.tolist()
    if not values or max(values) < 2**64:
        return pa.array(values, pa.uint64())
    return pa.array([core.decimal(i).decode("ascii") for i in values], pa.string())


_DEFAULT_CONFIG = AugmentationConfig()


def _check_config(config: AugmentationConfig | None) -> AugmentationConfig:
    if config is None:
        return _DEFAULT_CONFIG
    if not isinstance(config, AugmentationConfig):
        raise TypeError(f"config must be an AugmentationConfig, got {type(config).__name__}")
    return config


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
    backend: str | None = None,
) -> dict[str, Any]:
    """Augmentation parameters of one sample.

    Returns a dict with ``rotation``, ``brightness``, ``noise``, ``scale``,
    ``contrast`` (floats) and ``hash`` (the chain's final hex digest). Computed by
    the native kernel where it is built, else by :mod:`dpa.core`; the same numbers.

    Example:
        >>> gen_augmentation_params(0)["rotation"]
        -0.14542826986576074
    """
    if config is None:
        config = _DEFAULT_CONFIG
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
    workers: int = 1,
    backend: str | None = None,
) -> ParamBatch:
    """Parameters of every id in ``ids``, as columns.

    ``ids`` is a ``range``, a sequence of non-negative ints, or an integer array.
    The values equal :func:`gen_augmentation_params` for each id, to the last bit.
    ``workers`` threads share the work (native backend; the Python reference runs
    on one). ``backend`` forces ``"native"`` or ``"python"`` (default:
    :func:`dpa.backend`).

    Example:
        >>> batch = generate_batch(range(1000, 1004))
        >>> batch.sample_id.tolist()
        [1000, 1001, 1002, 1003]
    """
    config = _check_config(config)
    workers = _backend.check_workers(workers)
    id_values, id_column = _check_ids(ids)
    return _generate(id_values, id_column, config, b"", backend=backend, workers=workers)


def _generate(
    id_values: Iterable[Any],
    id_column: IdArray,
    config: AugmentationConfig,
    key_prefix: bytes,
    *,
    backend: str | None = None,
    workers: int = 1,
    seed_words: int = 1,
    out: _backend.Buffers | None = None,
) -> ParamBatch:
    values, digests = _backend.compute(
        id_values, id_column, config, key_prefix, backend, workers, seed_words, out
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
    key_prefix: bytes = b"",
    seed_words: int = 1,
    workers: int = 1,
    backend: str | None = None,
) -> Iterator[ParamBatch]:
    """Columnar batches covering ids ``start_id`` (inclusive) to ``end_id`` (exclusive).

    Memory stays proportional to ``batch_size`` whatever the range. ``workers``
    and ``backend`` are as for :func:`generate_batch`; ``key_prefix`` and
    ``seed_words`` select another key scheme (see :mod:`dpa.keys`).

    Example:
        >>> [len(b) for b in iter_batches(0, 10, batch_size=4)]
        [4, 4, 2]
    """
    config = _check_config(config)
    start, end = _check_bounds(start_id, end_id)
    batch_size = check_int(batch_size, "batch_size", 1)
    if progress_callback is not None and not callable(progress_callback):
        raise TypeError("progress_callback must be callable")
    if not isinstance(key_prefix, bytes):
        raise TypeError(f"key_prefix must be bytes, got {type(key_prefix).__name__}")
    if check_int(seed_words, "seed_words", 1) not in (1, 8):
        raise ValueError(
            f"seed_words must be 1 (DPA v0.2) or 8 (the whole digest), got {seed_words}"
        )
    workers = _backend.check_workers(workers)
    _backend.resolve(backend)  # a bad or unavailable backend fails here, not mid-stream
    return _iter_batches(
        start,
        end,
        config,
        batch_size,
        progress_callback,
        (key_prefix, seed_words),
        workers,
        backend,
    )


def _iter_batches(
    start: int,
    end: int,
    config: AugmentationConfig,
    batch_size: int,
    progress_callback: ProgressCallback | None,
    scheme: tuple[bytes, int],
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
        batch = _generate(
            ids,
            id_column,
            config,
            scheme[0],
            backend=backend,
            workers=workers,
            seed_words=scheme[1],
        )
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
) -> Iterator[Any]:
    """Stream parameters of ids ``start_id`` to ``end_id - 1`` in constant memory.

    Yields one dict per sample (with ``sample_id``), or lists of ``chunk_size``
    dicts when ``chunk_size`` is given. ``progress_callback(progress, metadata)`` is
    called after each chunk.

    Example:
        >>> [p["sample_id"] for p in stream_augmentation_range(5, 8)]
        [5, 6, 7]
    """
    chunk = _check_chunk_size(chunk_size)
    batches = iter_batches(start_id, end_id, config, chunk or DEFAULT_BLOCK, progress_callback)
    return _records(batches, chunked=chunk is not None)


def _records(batches: Iterator[ParamBatch], chunked: bool) -> Iterator[Any]:
    for batch in batches:
        if chunked:
            yield batch.to_dicts()
        else:
            yield from batch.to_dicts()


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


def generate_augmentation_chain(
    num_samples: int,
    config: AugmentationConfig | None = None,
    verbose: bool = False,
    save_path: str | None = None,
) -> list[dict[str, Any]]:
    """Parameters of samples ``0 .. num_samples-1`` as a list of dicts (DPA v0.2).

    The dicts are those of :func:`gen_augmentation_params` (no ``sample_id``).
    ``verbose`` prints one line per sample; ``save_path`` also writes the chain
    with :func:`dpa.save_augmentation_chain`.

    Example:
        >>> len(generate_augmentation_chain(3))
        3
    """
    count = check_int(num_samples, "num_samples", 0)
    config = _check_config(config)
    records = []
    for batch in iter_batches(0, count, config):
        for record in batch.to_dicts():
            del record["sample_id"]
            records.append(record)
    if verbose:
        lines = (
            f"Sample({i}) -> rotation={p['rotation']:.2f}° brightness={p['brightness']:.2f} "
            f"noise={p['noise']:.3f} scale={p['scale']:.2f} contrast={p['contrast']:.2f}\n"
            for i, p in enumerate(records)
        )
        print("".join(lines), end="")
    if save_path is not None:
        from .io import save_augmentation_chain

        save_augmentation_chain(records, save_path, config=config)
    return records
