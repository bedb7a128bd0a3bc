"""The columnar batch: the parameters of many samples, one numpy array a field.

:class:`ParamBatch` is what generation returns and what the file formats read and
write; it knows nothing of how its values were made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._config import PARAM_NAMES
from ._core import decimal

__all__ = ["ParamBatch"]

_INT64_LIMIT = 2**63
IdArray = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ParamBatch:
    """Parameters of many samples, one numpy array per field (columnar).

    ``sample_id`` is ``int64`` (``object`` holding Python ints when an id is 2**63 or
    more); the five parameters are ``float64``; ``hash`` holds each chain's final
    digest as 64 ASCII hex bytes (dtype ``S64``). ``rank`` (``int64``) is the rank
    that drew each sample, present only in batches that carry one per record (a
    merged rank-aware file's, see :mod:`dpa._shards`); ``None`` otherwise.

    Example:
        >>> from dpa import generate_batch
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
            >>> from dpa import generate_batch
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
            >>> from dpa import generate_batch
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
            raise ImportError(
                "to_arrow() needs pyarrow: pip install 'dpa-augment[parquet]'"
            ) from exc
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
    def empty(cls) -> ParamBatch:
        """A batch of no samples.

        Example:
            >>> len(ParamBatch.empty())
            0
        """
        none = np.empty(0, dtype=np.float64)
        return cls(
            sample_id=np.empty(0, dtype=np.int64),
            rotation=none,
            brightness=none,
            noise=none,
            scale=none,
            contrast=none,
            hash=np.empty(0, dtype="S64"),
        )

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
            return cls.empty()
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
    return pa.array([decimal(i).decode("ascii") for i in values], pa.string())
