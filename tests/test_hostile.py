"""Hostile inputs: arbitrary values for every public callable, arbitrary command lines.

Every public function, class and method (``dpa.__all__`` and the ``__all__`` of the
modules below) is called with an arbitrary value (None, bools, nan and inf, huge and
negative ints, strings, bytes, containers, numpy scalars and arrays, arbitrary
objects, ...) in one argument at a time, the others valid. It must return, or raise
what it documents: ``ValueError`` or ``TypeError`` (``DPAFileError`` and
``InvalidBatchConfigError`` are ValueErrors), an ``OSError`` where it takes a path.
Anything else (``AttributeError``, ``KeyError``, ``OverflowError``, ...) fails, but
for the exceptions named in ``ENTRIES`` (plain records doing float arithmetic). A
test fails when a public name
has no entry, or an entry misses a parameter.

The ``dpa`` command gets arbitrary argument lists (through ``dpa._cli.main`` and
click's ``CliRunner``), built from each command's own options: exit status 0, 1 or
2 only, never a traceback, an error on one line. The inputs tried are counted in the
terminal summary.

Huge positive ints are not given where they ask for endless work (a count of samples,
a chain depth): those are valid requests, only slow. The last sections hold the
regressions these inputs found, and extreme valid inputs (ids past 2**64 up to
thousands of digits, depth 1000) on both backends.
"""

from __future__ import annotations

import decimal
import fractions
import functools
import importlib
import inspect
import itertools
import json
import math
import os
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import dpa
from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    AugmentationWriter,
    BatchConfig,
    BatchMetrics,
    BatchProcessor,
    BatchStrategy,
    DistributedContext,
    DistributedRangeSplitter,
    MemoryAwareBatcher,
    MemoryInfo,
    MemoryLimitExceededError,
    MemoryMonitor,
    ParamBatch,
    RankAwareSeedGenerator,
    RankRange,
    RunningStatistics,
    StreamingProgress,
    VerifyReport,
    _core as dpa_core,
    _quality as quality,
    generate_batch,
)
from dpa._batch import BatchProcessingError, InvalidBatchConfigError
from dpa._cli import cli, main
from dpa._formats import AugmentationFile, DPAFileError
from dpa._keys import ElasticScheme
from dpa._verify import Mismatch

#: The modules whose ``__all__`` the table must cover.
MODULES = [
    "dpa",
    "dpa._backends",
    "dpa._batch",
    "dpa._config",
    "dpa._core",
    "dpa._distributed",
    "dpa._formats",
    "dpa._generate",
    "dpa._io",
    "dpa._keys",
    "dpa._quality",
    "dpa._stats",
    "dpa._verify",
]

#: Public names that are data or type aliases, not callables: nothing to call.
DATA = {
    "dpa.__version__",
    "dpa.PARAM_NAMES",
    "dpa.PRESETS",
    "dpa._backends.BACKENDS",
    "dpa._batch.DEFAULT_RANGE_BATCH_SIZE",
    "dpa._batch.DEFAULT_STREAM_BATCH_SIZE",
    "dpa._batch.DEFAULT_TARGET_BATCH_MS",
    "dpa._formats.FORMATS",
    "dpa._generate.ProgressCallback",
    "dpa._keys.ELASTIC_KEY_VERSION",
    "dpa._keys.KeyScheme",
    "dpa._keys.MODES",
    "dpa._config.MAX_AUGMENTATION_DEPTH",
    "dpa._quality.ALPHA",
    "dpa._quality.BINS",
    "dpa._quality.COVERAGE_GAP",
}

SMALL_CONFIG = AugmentationConfig(augmentation_depth=2)
GOOD_HASH = dpa.gen_augmentation_params(0)["hash"]

# --------------------------------------------------------------------------- values


class Opaque:
    """An arbitrary object."""

    def __repr__(self) -> str:
        return "Opaque()"


class IntLike(int):
    """An int subclass (a numbers.Integral that is not exactly int)."""


class StrLike(str):
    """A str subclass."""


class Indexable:
    """Has ``__index__`` and ``__len__`` but is not a number or a sequence."""

    def __index__(self) -> int:
        return 3

    def __len__(self) -> int:
        return 2


def _records(n: int = 2) -> list[dict[str, Any]]:
    return generate_batch(range(n), SMALL_CONFIG).to_dicts()


#: Factories of objects made fresh for each use (some are mutable or single-use).
_FACTORIES: list[Callable[[], Any]] = [
    Opaque,
    object,
    lambda: Ellipsis,
    lambda: NotImplemented,
    lambda: type,
    lambda: int,
    lambda: str,
    lambda: lambda *args, **kwargs: None,
    lambda: IntLike(3),
    lambda: IntLike(-3),
    lambda: StrLike("mild"),
    lambda: Indexable(),
    lambda: np.int64(-1),
    lambda: np.int64(5),
    lambda: np.int8(3),
    lambda: np.uint64(2**64 - 1),
    lambda: np.float64("nan"),
    lambda: np.float32(1.5),
    lambda: np.float64(-0.0),
    lambda: np.bool_(True),
    lambda: np.str_("json"),
    lambda: np.bytes_(b"x"),
    lambda: np.array(3),
    lambda: np.array([1, 2]),
    lambda: np.array([[1, 2]]),
    lambda: np.array([1.5, -2.0]),
    lambda: np.array(["a", "b"]),
    lambda: np.array([], dtype=np.int64),
    lambda: np.array([2**63, 2**64 - 1], dtype=np.uint64),
    lambda: np.array([-1], dtype=np.int8),
    lambda: np.array([None, 1], dtype=object),
    lambda: np.array([2**70, 5], dtype=object),
    lambda: np.array([GOOD_HASH.encode()], dtype="S64"),
    lambda: np.array([np.nan, np.inf]),
    lambda: fractions.Fraction(1, 3),
    lambda: decimal.Decimal("NaN"),
    lambda: decimal.Decimal("1e400"),
    lambda: complex(1, 1),
    lambda: range(-3, 3),
    lambda: range(0),
    lambda: range(5, 8),
    lambda: range(2**70, 2**70 + 2),
    lambda: range(10, 0, -3),
    lambda: set(),
    lambda: frozenset({1, 2}),
    lambda: iter([1, 2, 3]),
    lambda: (i for i in (0, 1)),
    lambda: iter([{"rotation": 1.0}]),
    lambda: memoryview(b"ab"),
    lambda: bytearray(b"12"),
    lambda: Path("good.json"),
    lambda: Path(""),
    lambda: types.MappingProxyType({"augmentation_depth": 2}),
    lambda: {},
    lambda: {"rank": 0, "world_size": 1, "base_seed": 0},
    lambda: {"rank": 3, "world_size": 2, "base_seed": 0},
    lambda: {"per_record_rank": True, "world_size": 2, "base_seed": 1},
    lambda: {"base_seed": -1, "epoch": 0},
    lambda: {"base_seed": 0, "epoch": 1, "key_version": "dpa-elastic-v9"},
    lambda: {"augmentation_depth": 0},
    lambda: {"rotation_range": [1, 0]},
    lambda: {"metadata": {}},
    lambda: {"elastic_info": 5},
    lambda: {"distributed_info": {"rank": 0}},
    lambda: {"RANK": "1", "WORLD_SIZE": "x"},
    lambda: {"SLURM_PROCID": "0"},
    lambda: {"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "2"},
    lambda: AugmentationConfig(),
    lambda: SMALL_CONFIG,
    lambda: AugmentationConfig(rotation_range=(-8e307, 8e307), augmentation_depth=1),
    lambda: generate_batch(range(3), SMALL_CONFIG),
    lambda: generate_batch([], SMALL_CONFIG),
    lambda: generate_batch([2**64, 2**200], SMALL_CONFIG),
    lambda: generate_batch(range(2), SMALL_CONFIG).with_rank(1),
    lambda: BatchConfig("sequential", batch_size=2),
    lambda: BatchConfig("round_robin", batch_size=2, num_lanes=3),
    lambda: BatchStrategy.ADAPTIVE,
    lambda: RunningStatistics(),
    lambda: _records(2),
    lambda: [_records(1)],
    lambda: _records(1)[0],
    lambda: [{**_records(1)[0], "rotation": float("nan")}],
    lambda: [{**_records(1)[0], "hash": "X" * 64}],
    lambda: [{**_records(1)[0], "sample_id": -1}],
    lambda: [{**_records(1)[0], "sample_id": 2**200}],
    lambda: [{**_records(1)[0], "rank": 2**70}],
    lambda: [{**_records(1)[0], "rotation": 10**400}],
    lambda: [{**_records(1)[0], "rotation": "1.5"}],
    lambda: [1, 2],
    lambda: [None],
    lambda: [[]],
    lambda: ["a", "b"],
    lambda: (1, 2),
    lambda: (1, 2, 3),
    lambda: (float("nan"), 1.0),
    lambda: (0, float("inf")),
    lambda: (2**1100, 2**1101),
    lambda: (-(2**1100), 0),
]

#: Paths, relative to the working folder (see ``workdir``).
PATH_WORDS = [
    "good.json",
    "good.jsonl",
    "good.parquet",
    "bad.json",
    "bad.parquet",
    "folder",
    "missing.json",
    "new.json",
    "new.jsonl",
    "new.parquet",
    "new.txt",
    "sub/new.jsonl",
    "missing-folder/x.json",
]

#: Strings that mean something somewhere, so that validation gets past the first check.
_WORDS = [
    "",
    " ",
    "0",
    "1",
    "-1",
    "nan",
    "inf",
    "1e400",
    "mild",
    "moderate",
    "aggressive",
    "native",
    "python",
    "json",
    "jsonl",
    "parquet",
    "sequential",
    "round_robin",
    "memory_optimized",
    "ADAPTIVE",
    "rank_aware",
    "elastic",
    "rotation",
    "hash",
    "sample_id",
    GOOD_HASH,
    *PATH_WORDS,
    "\x00",
    "\udcff",
    "é" * 3,
]

#: No text reaches outside the test's working folder: no separators, no parent links.
_SAFE_TEXT = st.text(alphabet=st.characters(exclude_characters="/\\"), max_size=12).filter(
    lambda text: ".." not in text
)

#: Huge ints, for parameters where they are cheap.
_HUGE = st.one_of(
    st.sampled_from([2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**200]),
    st.sampled_from([300, 4300, 5000]).map(lambda digits: 10**digits),  # too long to print
)


def _scalars(big: bool) -> st.SearchStrategy[Any]:
    ints = st.integers(min_value=-(2**200), max_value=64)
    return st.one_of(
        st.none(),
        st.booleans(),
        ints,
        _HUGE if big else st.integers(min_value=-(2**70), max_value=-1),
        st.floats(),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]),
        st.sampled_from(_WORDS),
        _SAFE_TEXT,
        st.binary(max_size=8),
    )


def hostile(big: bool = True) -> st.SearchStrategy[Any]:
    """Arbitrary values; with ``big`` False, no huge positive ints anywhere."""
    scalars = _scalars(big)
    made = st.sampled_from(_FACTORIES).map(lambda make: make())
    containers = st.one_of(
        st.lists(scalars, max_size=4),
        st.tuples(scalars, scalars),
        st.dictionaries(st.one_of(st.sampled_from(_WORDS), scalars), scalars, max_size=3).filter(
            lambda d: not any(isinstance(k, bytes | bytearray) for k in d)
        ),
    )
    records = st.lists(
        st.fixed_dictionaries(
            {name: st.one_of(st.floats(), scalars) for name in PARAM_NAMES},
            optional={
                "hash": st.one_of(st.just(GOOD_HASH), scalars),
                "sample_id": scalars,
                "rank": scalars,
            },
        ),
        max_size=3,
    )
    return st.one_of(scalars, made, containers, records)


# --------------------------------------------------------------------------- the table


class Fresh:
    """A valid argument made anew for each call (a generator, a writer, a batch)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _resolve(value: Any) -> Any:
    return value.make() if isinstance(value, Fresh) else value


PATH_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OSError)
PLAIN_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError)
#: Plain records (dataclasses that hold the numbers they are given, unchecked): their
#: properties do float arithmetic, which overflows for an int beyond the float range.
RECORD_ERRORS = (*PLAIN_ERRORS, OverflowError)


@dataclass(frozen=True, repr=False)
class Entry:
    """How to call one public callable with valid arguments, one per parameter.

    ``call`` defaults to ``target(**kwargs)``; a method is called on a fresh valid
    instance by a ``call`` of its own. ``small`` names the parameters where a huge
    positive int asks for endless work; ``after`` uses a result (drains it, closes it).
    """

    name: str
    target: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    call: Callable[..., Any] | None = None
    small: frozenset[str] = frozenset()
    allowed: tuple[type[BaseException], ...] = PLAIN_ERRORS
    after: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def run(self, param: str | None, value: Any) -> None:
        kwargs = {name: _resolve(v) for name, v in self.kwargs.items()}
        args: tuple[Any, ...] = ()
        if param == "*args":
            args = (value,)
        elif param is not None:
            kwargs[param] = value
        call = self.call or self.target
        try:
            result = call(*args, **kwargs)
            _use(result)
            if self.after is not None:
                self.after(result)
        except self.allowed:
            pass


def _use(result: Any) -> None:
    """Pull a few items from a lazy result (errors may only show then), then close it."""
    if isinstance(result, Iterator):
        try:
            for item in itertools.islice(result, 3):
                _use(item)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def _properties(obj: Any) -> None:
    """Read every public property of ``obj`` (dataclasses keep what they are given)."""
    for name, attr in inspect.getmembers(type(obj)):
        if not name.startswith("_") and isinstance(attr, property):
            getattr(obj, name)


def _abort(writer: Any) -> None:
    writer.abort()


def _enter(manager: Any) -> None:
    with manager:
        pass


def _writer() -> AugmentationWriter:
    return AugmentationWriter("writer.jsonl", SMALL_CONFIG)


def _write_and_abort(**kwargs: Any) -> None:
    writer = _writer()
    try:
        writer.write(**kwargs)
    finally:
        writer.abort()


def _iter_file(path: str) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        return list(dpa.read_augmentation_file(path).iter_batches(**kwargs))

    return call


CONFIG_FIELDS = {f"{name}_range": (0, 1) for name in PARAM_NAMES}

ENTRIES: list[Entry] = [
    # config
    Entry("AugmentationConfig", AugmentationConfig, {**CONFIG_FIELDS, "augmentation_depth": 3}),
    Entry(
        "AugmentationConfig.from_dict",
        AugmentationConfig.from_dict,
        {"data": {"augmentation_depth": 2}},
    ),
    Entry("get_preset", dpa.get_preset, {"name": "mild"}),
    Entry("config.config_name", dpa._config.config_name, {"config": SMALL_CONFIG}),
    # core
    Entry("fib", dpa.fib, {"n": 5}, small=frozenset({"n"})),
    Entry("sample_seed", dpa.sample_seed, {"sample_id": 7, "base_seed": 1, "epoch": 2}),
    Entry("seeded", dpa.seeded, {"sample_id": 7, "base_seed": 1, "epoch": 2}, after=_enter),
    Entry(
        "sample_numpy_generator",
        dpa.sample_numpy_generator,
        {"sample_id": 7, "base_seed": 1, "epoch": 2},
    ),
    Entry(
        "sample_python_random",
        dpa.sample_python_random,
        {"sample_id": 7, "base_seed": 1, "epoch": 2},
    ),
    Entry(
        "sample_torch_generator",
        dpa.sample_torch_generator,
        {"sample_id": 7, "base_seed": 1, "epoch": 2, "device": "cpu"},
    ),
    Entry(
        "gen_augmentation_seed",
        dpa.gen_augmentation_seed,
        {"seed_id": 0, "augmentation_depth": 2},
        small=frozenset({"augmentation_depth"}),
    ),
    Entry(
        "core.gen_augmentation_params",
        dpa_core.gen_augmentation_params,
        {"seed_id": 0, "config": SMALL_CONFIG},
    ),
    Entry(
        "core.params_for_key",
        dpa_core.params_for_key,
        {"key": b"1", "config": SMALL_CONFIG, "full_seed": False},
    ),
    Entry("core.seed_from_hash", dpa_core.seed_from_hash, {"hex_digest": GOOD_HASH}),
    # backends
    Entry("backend", dpa.backend),
    Entry("backends.native_available", dpa._backends.native_available),
    # generate
    Entry(
        "gen_augmentation_params",
        dpa.gen_augmentation_params,
        {"seed_id": 0, "config": SMALL_CONFIG, "backend": None, "scheme": ElasticScheme(1, 2)},
    ),
    Entry(
        "generate_batch",
        dpa.generate_batch,
        {
            "ids": range(3),
            "config": SMALL_CONFIG,
            "workers": 1,
            "backend": None,
            "scheme": ElasticScheme(1, 2),
        },
    ),
    Entry(
        "iter_batches",
        dpa.iter_batches,
        {
            "start_id": 0,
            "end_id": 5,
            "config": SMALL_CONFIG,
            "batch_size": 2,
            "progress_callback": None,
            "key_prefix": None,
            "seed_words": None,
            "workers": 1,
            "backend": None,
            "scheme": ElasticScheme(1, 2),
        },
    ),
    Entry(
        "stream_augmentation_range",
        dpa.stream_augmentation_range,
        {
            "start_id": 0,
            "end_id": 5,
            "config": SMALL_CONFIG,
            "chunk_size": None,
            "progress_callback": None,
            "scheme": ElasticScheme(1, 2),
        },
    ),
    Entry(
        "stream_augmentation_chain",
        dpa.stream_augmentation_chain,
        {
            "num_samples": 5,
            "config": SMALL_CONFIG,
            "chunk_size": 2,
            "start_id": 0,
            "progress_callback": None,
        },
    ),
    Entry(
        "generate_augmentation_chain",
        dpa.generate_augmentation_chain,
        {"num_samples": 3, "config": SMALL_CONFIG, "verbose": False, "save_path": None},
        small=frozenset({"num_samples"}),
        allowed=PATH_ERRORS,
    ),
    Entry(
        "ParamBatch",
        ParamBatch,
        {
            "sample_id": Fresh(lambda: np.arange(2)),
            **{name: Fresh(lambda: np.zeros(2)) for name in PARAM_NAMES},
            "hash": Fresh(lambda: np.array([GOOD_HASH.encode()] * 2, dtype="S64")),
            "rank": None,
        },
        after=lambda batch: (
            len(batch),
            batch[0],
            batch[:1],
            batch.to_dicts(),
            batch.columns(),
            batch.equals(batch),
            batch.to_arrow(),
        ),
    ),
    Entry(
        "ParamBatch.__getitem__",
        ParamBatch.__getitem__,
        {"index": 1},
        call=lambda **kw: generate_batch(range(3), SMALL_CONFIG)[kw["index"]],
        allowed=(*PLAIN_ERRORS, IndexError),
    ),
    Entry(
        "ParamBatch.with_rank",
        ParamBatch.with_rank,
        {"rank": 1},
        call=lambda **kw: generate_batch(range(3), SMALL_CONFIG).with_rank(**kw),
    ),
    Entry(
        "ParamBatch.equals",
        ParamBatch.equals,
        {"other": Fresh(lambda: generate_batch(range(3), SMALL_CONFIG))},
        call=lambda **kw: generate_batch(range(3), SMALL_CONFIG).equals(**kw),
    ),
    Entry(
        "ParamBatch.from_dicts",
        ParamBatch.from_dicts,
        {"records": Fresh(_records), "start_id": 0, "rank": False},
    ),
    Entry(
        "ParamBatch.concat",
        ParamBatch.concat,
        {"batches": Fresh(lambda: [generate_batch(range(2), SMALL_CONFIG)] * 2)},
    ),
    Entry(
        "StreamingProgress",
        StreamingProgress,
        {
            "processed": 1,
            "total": 2,
            "elapsed_seconds": 0.5,
            "samples_per_second": 2.0,
            "eta_seconds": None,
        },
        after=_properties,
        allowed=RECORD_ERRORS,
    ),
    # distributed
    Entry(
        "gen_distributed_augmentation_params",
        dpa.gen_distributed_augmentation_params,
        {
            "sample_id": 0,
            "rank": 0,
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "world_size": 2,
            "backend": None,
        },
    ),
    Entry(
        "gen_elastic_augmentation_params",
        dpa.gen_elastic_augmentation_params,
        {"sample_id": 0, "config": SMALL_CONFIG, "base_seed": 0, "epoch": 0, "backend": None},
    ),
    Entry(
        "generate_distributed_batch",
        dpa.generate_distributed_batch,
        {
            "ids": range(3),
            "rank": 1,
            "world_size": 2,
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "workers": 1,
            "backend": None,
        },
    ),
    Entry(
        "generate_elastic_batch",
        dpa.generate_elastic_batch,
        {
            "ids": range(3),
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "epoch": 0,
            "workers": 1,
            "backend": None,
        },
    ),
    Entry(
        "stream_distributed_augmentation_range",
        dpa.stream_distributed_augmentation_range,
        {
            "start_id": 0,
            "end_id": 4,
            "rank": 0,
            "world_size": 2,
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "chunk_size": None,
        },
    ),
    Entry(
        "stream_distributed_augmentation_chain",
        dpa.stream_distributed_augmentation_chain,
        {
            "num_samples": 4,
            "rank": 0,
            "world_size": 2,
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "chunk_size": 2,
        },
    ),
    Entry(
        "stream_elastic_augmentation_range",
        dpa.stream_elastic_augmentation_range,
        {
            "start_id": 0,
            "end_id": 4,
            "config": SMALL_CONFIG,
            "base_seed": 0,
            "epoch": 0,
            "chunk_size": None,
        },
    ),
    Entry(
        "RankAwareSeedGenerator",
        RankAwareSeedGenerator,
        {"base_seed": 0, "world_size": 2},
        after=lambda g: g.generate_seed(1, 1, 2),
    ),
    Entry(
        "RankAwareSeedGenerator.key",
        RankAwareSeedGenerator.key,
        {"sample_id": 1, "rank": 1},
        call=lambda **kw: RankAwareSeedGenerator(5, 2).key(**kw),
    ),
    Entry(
        "RankAwareSeedGenerator.generate_seed",
        RankAwareSeedGenerator.generate_seed,
        {"sample_id": 1, "rank": 1, "augmentation_depth": 2},
        call=lambda **kw: RankAwareSeedGenerator(5, 2).generate_seed(**kw),
        small=frozenset({"augmentation_depth"}),
    ),
    Entry(
        "DistributedRangeSplitter",
        DistributedRangeSplitter,
        {"total_samples": 10, "world_size": 3},
        small=frozenset({"world_size"}),
        after=lambda s: (s.get_all_ranges(), s.get_all_rank_ranges(), s.validate_ranges()),
    ),
    Entry(
        "DistributedRangeSplitter.get_rank_range",
        DistributedRangeSplitter.get_rank_range,
        {"rank": 1},
        call=lambda **kw: DistributedRangeSplitter(10, 3).get_rank_range(**kw),
    ),
    Entry(
        "DistributedRangeSplitter.get_rank_for_sample",
        DistributedRangeSplitter.get_rank_for_sample,
        {"sample_id": 4},
        call=lambda **kw: DistributedRangeSplitter(10, 3).get_rank_for_sample(**kw),
    ),
    Entry(
        "RankRange",
        RankRange,
        {"start_id": 0, "end_id": 3, "rank": 0, "total_samples": 3},
        after=lambda r: (_properties(r), r.ids()),
    ),
    Entry(
        "DistributedContext",
        DistributedContext,
        {"rank": 0, "world_size": 1, "local_rank": 0, "source": "single"},
        after=_properties,
    ),
    Entry("detect_distributed_context", dpa.detect_distributed_context, {"environ": {}}),
    # keys
    Entry(
        "keys.RankAwareScheme",
        dpa._keys.RankAwareScheme,
        {"base_seed": 0, "rank": 0, "world_size": 1},
    ),
    Entry("keys.ElasticScheme", dpa._keys.ElasticScheme, {"base_seed": 0, "epoch": 0}),
    Entry(
        "keys.scheme_for_mode",
        dpa._keys.scheme_for_mode,
        {"mode": "rank_aware", "base_seed": 0, "rank": 0, "world_size": 1, "epoch": 0},
    ),
    Entry("keys.PlainScheme", dpa._keys.PlainScheme, {}, after=lambda s: s.key(5)),
    Entry(
        "keys.PerRecordRankScheme",
        dpa._keys.PerRecordRankScheme,
        {"base_seed": 0, "world_size": 2},
        after=lambda s: s.for_rank(1).key(3),
    ),
    Entry("DPAError", dpa.DPAError, {}),
    Entry("ShardError", dpa.ShardError, {}),
    Entry("keys.scheme_from_metadata", dpa._keys.scheme_from_metadata, {"metadata": {}}),
    # batch
    Entry(
        "BatchConfig",
        BatchConfig,
        {
            "strategy": "adaptive",
            "batch_size": None,
            "max_memory_mb": 1000,
            "min_batch_size": 1,
            "max_batch_size": None,
            "num_lanes": 1,
            "target_batch_ms": None,
        },
    ),
    Entry("BatchStrategy", BatchStrategy, call=BatchStrategy, kwargs={}),
    Entry(
        "BatchMetrics",
        BatchMetrics,
        {
            "strategy": BatchStrategy.SEQUENTIAL,
            "total_batches": 1,
            "total_samples": 2,
            "batch_size_runs": ((2, 1),),
            "peak_memory_growth_mb": 0.0,
            "processing_time_seconds": 0.0,
        },
        small=frozenset({"batch_size_runs"}),
        after=_properties,
        allowed=RECORD_ERRORS,
    ),
    Entry(
        "BatchProcessor",
        BatchProcessor,
        {
            "strategy": "sequential",
            "config": None,
            "clock": Fresh(lambda: iter(range(99)).__next__),
            "rss": None,
        },
        after=lambda p: (list(p.process_range(0, 3)), p.metrics, repr(p)),
    ),
    Entry(
        "BatchProcessor.process_stream",
        BatchProcessor.process_stream,
        {"iterable": range(5)},
        call=lambda **kw: BatchProcessor("memory_optimized").process_stream(**kw),
    ),
    Entry(
        "BatchProcessor.process_range",
        BatchProcessor.process_range,
        {
            "start_id": 0,
            "end_id": 5,
            "config": SMALL_CONFIG,
            "rank": None,
            "world_size": None,
            "base_seed": 0,
            "epoch": None,
            "workers": 1,
            "backend": None,
            "scheme": ElasticScheme(1, 2),
        },
        call=lambda **kw: BatchProcessor(
            "round_robin", BatchConfig("round_robin", batch_size=2, num_lanes=2)
        ).process_range(**kw),
    ),
    Entry(
        "MemoryAwareBatcher",
        MemoryAwareBatcher,
        {"max_memory_mb": 100, "min_batch_size": 1, "max_batch_size": None},
        after=lambda b: (b.budget_bytes, b.calculate_optimal_batch_size(1024)),
    ),
    Entry(
        "MemoryAwareBatcher.calculate_optimal_batch_size",
        MemoryAwareBatcher.calculate_optimal_batch_size,
        {"sample_size_bytes": 100, "used_bytes": 0, "live_batches": 1},
        call=lambda **kw: MemoryAwareBatcher(100).calculate_optimal_batch_size(**kw),
    ),
    Entry(
        "MemoryInfo",
        MemoryInfo,
        {"rss_mb": 1.0, "available_mb": 2.0, "total_mb": 3.0, "percent_used": 4.0},
        after=_properties,
        allowed=RECORD_ERRORS,
    ),
    Entry("MemoryInfo.current", MemoryInfo.current),
    Entry("batch.get_memory_usage", dpa._batch.get_memory_usage),
    Entry(
        "MemoryMonitor",
        MemoryMonitor,
        {"max_memory_mb": None, "rss": None},
        allowed=(*PLAIN_ERRORS, MemoryLimitExceededError),
        after=lambda m: (m.sample(), m.check(), m.reset(), m.info(), _properties(m)),
    ),
    Entry(
        "memory_monitor",
        dpa.memory_monitor,
        {"max_memory_mb": 1000, "interval_s": None, "rss": None},
        allowed=(*PLAIN_ERRORS, MemoryLimitExceededError),
        after=_enter,
    ),
    Entry(
        "batch.batch_nbytes",
        dpa._batch.batch_nbytes,
        {"batch": Fresh(lambda: generate_batch(range(2)))},
    ),
    Entry("InvalidBatchConfigError", InvalidBatchConfigError, call=InvalidBatchConfigError),
    Entry("batch.BatchProcessingError", BatchProcessingError, call=BatchProcessingError),
    Entry(
        "MemoryLimitExceededError",
        MemoryLimitExceededError,
        {"growth_mb": 2.0, "limit_mb": 1.0},
        allowed=RECORD_ERRORS,
    ),
    # stats
    Entry(
        "compute_statistics",
        dpa.compute_statistics,
        {"params": Fresh(_records)},
    ),
    Entry(
        "compute_streaming_statistics",
        dpa.compute_streaming_statistics,
        {"stream": Fresh(lambda: iter(_records(3)))},
    ),
    Entry("RunningStatistics", RunningStatistics, after=lambda r: r.result()),
    Entry(
        "RunningStatistics.update_batch",
        RunningStatistics.update_batch,
        {"batch": Fresh(lambda: generate_batch(range(2), SMALL_CONFIG))},
        call=lambda **kw: RunningStatistics().update_batch(**kw),
    ),
    Entry(
        "RunningStatistics.update_records",
        RunningStatistics.update_records,
        {"records": Fresh(_records)},
        call=lambda **kw: RunningStatistics().update_records(**kw),
    ),
    Entry(
        "RunningStatistics.update",
        RunningStatistics.update,
        {"item": Fresh(_records)},
        call=lambda **kw: RunningStatistics().update(**kw),
    ),
    # quality
    Entry(
        "check_quality",
        dpa.check_quality,
        {
            "n": 40,
            "config": SMALL_CONFIG,
            "start": 0,
            "base_seed": 0,
            "alpha": 0.001,
            "workers": 1,
            "backend": None,
        },
        small=frozenset({"n"}),
        after=lambda r: (r.format(), r.to_dict()),
    ),
    Entry(
        "check_batch_quality",
        dpa.check_batch_quality,
        {
            "batch": Fresh(lambda: generate_batch(range(40), SMALL_CONFIG)),
            "config": SMALL_CONFIG,
            "alpha": 0.001,
        },
    ),
    Entry(
        "check_file_quality",
        dpa.check_file_quality,
        {"path": "input.jsonl", "config": None, "alpha": 0.001, "batch_size": 5},
        allowed=PATH_ERRORS,
    ),
    Entry(
        "QualityReport",
        dpa.QualityReport,
        {
            "samples": 3,
            "alpha": 0.01,
            "source": "x",
            "config": SMALL_CONFIG,
            "checks": Fresh(lambda: [quality.QualityCheck("seeds", "a", 1.0, 0.5, True)]),
            "histograms": Fresh(lambda: {"rotation": [1, 2]}),
        },
        after=lambda r: (r.format(), r.to_dict(), r.summary(), r.failures(), r.passed),
    ),
    Entry(
        "quality.QualityCheck",
        quality.QualityCheck,
        {
            "group": "seeds",
            "name": "a",
            "statistic": 1.0,
            "p_value": 0.5,
            "passed": True,
            "note": "",
        },
        after=lambda c: c.to_dict(),
    ),
    Entry("quality.chi_square_uniform", quality.chi_square_uniform, {"counts": [3, 4, 5]}),
    Entry(
        "quality.kolmogorov_smirnov_uniform",
        quality.kolmogorov_smirnov_uniform,
        {"u": [0.2, 0.7]},
    ),
    Entry("quality.pearson", quality.pearson, {"x": [1, 2, 3], "y": [3, 1, 2]}),
    Entry(
        "quality.seeds_of",
        quality.seeds_of,
        {"hashes": Fresh(lambda: np.array([GOOD_HASH.encode()], dtype="S64"))},
    ),
    Entry(
        "quality.plot_quality",
        quality.plot_quality,
        {
            "report": Fresh(lambda: quality.QualityReport(3, 0.01, "x", SMALL_CONFIG, ())),
            "path": "new.png",
        },
        allowed=PATH_ERRORS,
    ),
    # formats, io, verify
    Entry("DPAFileError", DPAFileError, {"path": "x.json", "problem": "bad"}, after=str),
    Entry("formats.detect_format", dpa._formats.detect_format, {"path": "x.json", "format": None}),
    Entry(
        "read_augmentation_file",
        dpa.read_augmentation_file,
        {"path": "input.json"},
        allowed=PATH_ERRORS,
        after=lambda f: (f.num_samples, f.config, f.per_record_rank, list(f.iter_records())),
    ),
    Entry(
        "AugmentationFile",
        AugmentationFile,
        {
            "path": Path("input.jsonl"),
            "format": "jsonl",
            "metadata": Fresh(dict),
            "statistics": None,
            "_parquet": None,
        },
        allowed=PATH_ERRORS,
        after=lambda f: (f.num_samples, f.config, f.per_record_rank, list(f.iter_records())),
    ),
    Entry(
        "AugmentationFile.iter_batches",
        AugmentationFile.iter_batches,
        {"batch_size": 2},
        call=_iter_file("input.parquet"),
        allowed=PATH_ERRORS,
    ),
    Entry(
        "load_augmentation_chain",
        dpa.load_augmentation_chain,
        {"path": "input.jsonl"},
        allowed=PATH_ERRORS,
    ),
    Entry(
        "load_augmentation_stream",
        dpa.load_augmentation_stream,
        {"path": "input.parquet", "chunk_size": None},
        allowed=PATH_ERRORS,
    ),
    Entry(
        "save_augmentation_chain",
        dpa.save_augmentation_chain,
        {
            "params": Fresh(_records),
            "path": "saved.json",
            "config": SMALL_CONFIG,
            "include_stats": True,
            "format": None,
            "distributed_info": None,
            "elastic_info": None,
            "scheme": ElasticScheme(1, 2),
        },
        allowed=PATH_ERRORS,
    ),
    Entry(
        "save_augmentation_stream",
        dpa.save_augmentation_stream,
        {
            "stream": Fresh(lambda: iter(_records(3))),
            "path": "saved.parquet",
            "config": SMALL_CONFIG,
            "include_stats": True,
            "format": None,
            "distributed_info": None,
            "elastic_info": None,
            "scheme": ElasticScheme(1, 2),
        },
        allowed=PATH_ERRORS,
    ),
    Entry(
        "AugmentationWriter",
        AugmentationWriter,
        {
            "path": "writer.parquet",
            "config": SMALL_CONFIG,
            "format": None,
            "include_stats": True,
            "distributed_info": None,
            "elastic_info": None,
            "extra_metadata": None,
            "resumable": False,
            "resume": False,
            "scheme": ElasticScheme(1, 2),
        },
        allowed=PATH_ERRORS,
        after=_abort,
    ),
    Entry(
        "AugmentationWriter.write",
        AugmentationWriter.write,
        {"batch": Fresh(_records)},
        call=_write_and_abort,
        allowed=PATH_ERRORS,
    ),
    Entry("io.partial_path", dpa._io.partial_path, {"path": "x.jsonl"}, allowed=PATH_ERRORS),
    Entry(
        "io.write_atomic",
        dpa._io.write_atomic,
        {"path": "atomic.txt", "data": b"x"},
        allowed=PATH_ERRORS,
    ),
    Entry(
        "io.write_range",
        dpa._io.write_range,
        {
            "path": "range.jsonl",
            "start_id": 0,
            "end_id": 4,
            "config": SMALL_CONFIG,
            "format": None,
            "include_stats": True,
            "batch_size": 3,
            "progress": None,
            "resumable": False,
            "resume": False,
            "workers": 1,
            "distributed_info": None,
            "elastic_info": None,
            "extra_metadata": None,
            "scheme": ElasticScheme(1, 2),
        },
        small=frozenset({"end_id"}),
        allowed=PATH_ERRORS,
    ),
    Entry(
        "verify_augmentation_file",
        dpa.verify_augmentation_file,
        {
            "path": "input.json",
            "max_mismatches": 10,
            "batch_size": 7,
            "progress": None,
            "workers": 1,
            "expected_ids": None,
            "config": None,
        },
        allowed=PATH_ERRORS,
    ),
    Entry(
        "VerifyReport",
        VerifyReport,
        {
            "path": "x.json",
            "format": "json",
            "checked": 0,
            "mismatched_samples": 0,
            "mismatches": Fresh(list),
            "problems": Fresh(list),
        },
        after=_properties,
    ),
    Entry(
        "verify.Mismatch",
        Mismatch,
        {"position": 0, "sample_id": 0, "field": "rotation", "stored": 1.0, "expected": 2.0},
    ),
    # sharded runs (the folder "shards" is a complete run, see ``workdir``), preview
    Entry(
        "generate_shards",
        dpa.generate_shards,
        {
            "folder": "new-shards",
            "num_samples": 5,
            "config": SMALL_CONFIG,
            "group": None,
            "start": 3,
            "mode": "elastic",
            "base_seed": 1,
            "epoch": 2,
            "format": "jsonl",
            "include_stats": True,
            "batch_size": 2,
            "workers": 1,
            "progress": None,
            "resume": False,
        },
        small=frozenset({"num_samples"}),
        allowed=PATH_ERRORS,
    ),
    Entry(
        "verify_shards",
        dpa.verify_shards,
        {"folder": "shards", "max_mismatches": 10, "batch_size": 3, "progress": None, "workers": 1},
        allowed=PATH_ERRORS,
        after=_properties,
    ),
    Entry(
        "check_shards",
        dpa.check_shards,
        {"folder": "shards", "manifest": None, "checksums": True},
        allowed=PATH_ERRORS,
    ),
    Entry("read_manifest", dpa.read_manifest, {"folder": "shards"}, allowed=PATH_ERRORS),
    Entry(
        "merge_shards",
        dpa.merge_shards,
        {
            "folder": "shards",
            "target": "merged.parquet",
            "format": None,
            "include_stats": True,
            "batch_size": 4,
            "progress": None,
        },
        allowed=PATH_ERRORS,
    ),
    Entry(
        "ShardsReport",
        dpa.ShardsReport,
        {"path": "shards", "manifest": None, "problems": Fresh(list), "shards": Fresh(list)},
        after=_properties,
    ),
    Entry(
        "write_preview",
        dpa.write_preview,
        {
            "output": "preview.png",
            "config": SMALL_CONFIG,
            "image_path": None,
            "num": 2,
            "start": 0,
            "tile": 16,
            "columns": None,
            "title": None,
        },
        small=frozenset({"num", "tile", "columns"}),
        allowed=PATH_ERRORS,
    ),
]

#: Where a parameter's name says it takes a path: the working folder's files too.
_PATH_PARAMS = {"path", "save_path"}


def _named_params(target: Any) -> list[str]:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without one
        return []
    return [
        name
        for name, p in signature.parameters.items()
        if name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _cases() -> list[Any]:
    cases = []
    for entry in ENTRIES:
        params = list(entry.kwargs)
        if not params and entry.call is not None and entry.call is entry.target:
            params = ["*args"]  # takes one positional value (an enum, an exception)
        for param in params or [None]:
            cases.append(pytest.param(entry, param, id=f"{entry.name}:{param or '()'}"))
    return cases


CASES = _cases()


def _strategy(entry: Entry, param: str | None) -> st.SearchStrategy[Any]:
    return _pool(param not in entry.small, param in _PATH_PARAMS)


@functools.cache
def _pool(big: bool, paths: bool) -> st.SearchStrategy[Any]:
    """The hostile values, built once (building the strategy costs more than drawing)."""
    values = hostile(big)
    return st.one_of(values, st.sampled_from(PATH_WORDS)) if paths else values


def _write_inputs(folder: Path, stem: str) -> None:
    for fmt in ("json", "jsonl", "parquet"):
        batch = generate_batch(range(4), SMALL_CONFIG)
        dpa.save_augmentation_chain(batch, folder / f"{stem}.{fmt}", SMALL_CONFIG)


@pytest.fixture(scope="module", autouse=True)
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A working folder with files to read, and no way for a relative path out of it."""
    folder = tmp_path_factory.mktemp("hostile")
    _write_inputs(folder, "good")  # hostile paths name these: they may be written over
    _write_inputs(folder, "input")  # the valid arguments: no hostile path names them
    (folder / "bad.json").write_text('{"metadata": {"config": 7}, "augmentations": []}')
    (folder / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 20 + b"PAR1")
    (folder / "folder").mkdir()
    dpa.generate_shards(folder / "shards", 6, SMALL_CONFIG, format="jsonl")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(os, "fsync", lambda fd: None)  # what reaches the disk is not tested here
        yield folder


def _public_names() -> Iterator[tuple[str, Any]]:
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


def test_every_public_name_is_in_the_table() -> None:
    covered = {id(entry.target) for entry in ENTRIES}
    data = {id(obj) for name, obj in _public_names() if name in DATA}
    missing = []
    for qualified, obj in _public_names():
        if id(obj) not in covered | data:
            missing.append(qualified)
    assert missing == [], f"public names without hostile-input cases: {missing}"


def test_the_table_gives_every_parameter() -> None:
    for entry in ENTRIES:
        if entry.call is entry.target and not entry.kwargs:
            continue
        assert set(entry.kwargs) == set(_named_params(entry.target)), entry.name


@pytest.mark.parametrize(("entry", "param"), CASES)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NotImplemented as a bool
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_argument(
    entry: Entry, param: str | None, data: st.DataObject, robustness_counts: Counter[str]
) -> None:
    value = data.draw(_strategy(entry, param), label=param or "()") if param else None
    robustness_counts["hostile API calls"] += 1
    entry.run(param, value)


# --------------------------------------------------------------------------- the command

#: Options whose int is a count of work (samples, tiles, threads, chain steps): small.
COUNT_OPTIONS = {"-n", "--num-samples", "--n", "--num", "--tile", "--depth", "--workers"}
#: What ``dpa._cli.main`` turns into exit status 2, and so what the click group may raise.
MAIN_HANDLES = (OSError, ValueError, TypeError, RuntimeError)

_INT_TOKENS = ["0", "1", "2", "3", "7", "-1", "-0", "+5", " 4", "1_000", "0x10", "1.5", "nan"]
_INT_TOKENS += ["", "abc", "٣", "18446744073709551616", "-9223372036854775809", "9" * 25]
_HUGE_INT_TOKENS = ["1" + "0" * 300, "9" * 4300, "9" * 4301]
_SMALL_INT_TOKENS = ["0", "1", "2", "3", "5", "20", "-1", "-5", "x", "1.5", "", "٣"]
_FLOAT_TOKENS = ["0", "1", "-1", "0.5", "2", "256", "1e-300", "5e-324", "1e308", "-1e308"]
_FLOAT_TOKENS += ["1.7976931348623157e308", "inf", "-inf", "nan", "-nan", "1e400", "x", ""]
_CLI_PATHS = [
    *PATH_WORDS,
    "empty.json",
    "shards",
    "bad-shards",
    "config.json",
    "bad-config.json",
    "list-config.json",
    "image.png",
    "run.json",
    "new.png",
    "sub/dir/new.jsonl",
    "",
    "-",
    ".",
    "\udcff.json",
]
_SUITES = ["standard", "generation", "per-sample", "batch-1t,stream", "nonsense", "", ","]

#: Anything a shell could pass (no separators: nothing outside the working folder).
_JUNK = st.one_of(
    st.sampled_from(["--", "-", "--help", "-h", "--version", "--nope", "-x", "--json", "-q"]),
    _SAFE_TEXT,
    st.binary(max_size=6)
    .map(lambda raw: raw.decode("utf-8", "surrogateescape"))
    .filter(lambda text: "/" not in text and ".." not in text),
)


_VALID_PATHS = ["good.json", "good.jsonl", "good.parquet", "shards", "config.json", "image.png"]
_VALID_PATHS += ["run.json", "new.json", "new.jsonl", "new.parquet", "new.png", "sub/dir/new.jsonl"]


def _values(param: Any, name: str, mode: str) -> st.SearchStrategy[str]:
    """Tokens for one value of ``param``: in ``valid`` mode ones that parse and are in
    range, otherwise any that fit its type (most are wrong)."""
    kind, valid = param.type, mode == "valid"
    if isinstance(kind, click.Choice):
        words = [str(c) for c in kind.choices]
        return st.sampled_from(words if valid else [*words, words[0].upper(), "", "nope"])
    if isinstance(kind, click.types.IntParamType):
        small = name in COUNT_OPTIONS
        if valid:
            return st.sampled_from(["1", "2", "3", "7"] if small else ["0", "2", "12", "9" * 30])
        return st.sampled_from(_SMALL_INT_TOKENS if small else _INT_TOKENS + _HUGE_INT_TOKENS)
    if isinstance(kind, click.types.FloatParamType):
        return st.sampled_from(["0.01", "0.5", "0.9", "1", "2"] if valid else _FLOAT_TOKENS)
    if isinstance(kind, click.Path):
        return st.sampled_from(_VALID_PATHS if valid else _CLI_PATHS)
    return st.sampled_from(_SUITES[:4] if valid else _SUITES + _CLI_PATHS[:3])


def _param_tokens(param: Any, mode: str) -> st.SearchStrategy[list[str]]:
    """An option with its value(s), or an argument's value; ``mode`` is ``valid``
    (values that parse, in range), ``fitting`` (of the right kind, mostly wrong) or
    ``junk`` (sometimes anything at all)."""
    names = [*param.opts, *param.secondary_opts] if isinstance(param, click.Option) else []
    label = names[0] if names else param.name
    if isinstance(param, click.Option) and param.is_flag:
        return st.sampled_from(names).map(lambda flag: [flag])
    kinds = param.type.types if isinstance(param.type, click.Tuple) else [param.type]
    values = [_values(type("P", (), {"type": kind})(), label, mode) for kind in kinds]
    if mode == "junk":
        values = [st.one_of(v, v, v, _JUNK) for v in values]
    value_lists = st.tuples(*values).map(list)
    if len(kinds) == 2 and mode == "valid":  # a range: lo < hi
        value_lists = value_lists.map(lambda pair: sorted(pair, key=float))
    if not names:
        return value_lists
    return st.tuples(st.sampled_from(names), value_lists).map(lambda p: [p[0], *p[1]])


@functools.cache
def _command_pieces(name: str, mode: str) -> tuple[Any, list[Any]]:
    """Lists of option pieces of command ``name``, and its required ones (built once)."""
    command = cli.commands[name]
    choices = [_param_tokens(p, mode) for p in command.params]
    pieces = st.one_of(*choices, *([_JUNK.map(lambda t: [t])] if mode == "junk" else []))
    required = [_param_tokens(p, mode) for p in command.params if p.required]
    return st.lists(pieces, max_size=7 if mode == "junk" else 4), required if mode != "junk" else []


@st.composite
def command_lines(draw: st.DrawFn, name: str) -> list[str]:
    """``name`` and options (see :func:`_param_tokens`); outside junk mode with the
    required ones given."""
    mode = draw(st.sampled_from(["valid", "fitting", "junk"]))
    pieces, required = _command_pieces(name, mode)
    chosen = draw(pieces) + [draw(piece) for piece in required]
    argv = [name] + [token for piece in chosen for token in piece]
    if "--quality" in argv and not {"-n", "--n"} & set(argv):
        argv += ["-n", draw(st.sampled_from(_SMALL_INT_TOKENS))]  # not a million samples
    return argv


class FakeRunner:
    """Stands in for the benchmark runner: the options are checked for real, no suite runs."""

    def __init__(self, config: Any) -> None:
        self.backend = "native"

    def run_suite(self, suite: str, progress: Any = None) -> Any:
        return _saved_run()


def _saved_run() -> Any:
    from dpa.benchmark.results import BenchmarkResult, BenchmarkRun

    times = [0.010, 0.011, 0.0105, 0.0102]
    results = [BenchmarkResult("per-sample", times, samples_per_iteration=1000)]
    return BenchmarkRun.of(results, system={"backend": "native"}, suite="fake")


@pytest.fixture(scope="module")
def cli_files(workdir: Path) -> Iterator[Path]:
    """The files the command lines name, and no real benchmark runs."""
    from PIL import Image

    _write_inputs(workdir, "good")  # as they were before the API cases wrote over them
    (workdir / "empty.json").write_bytes(b"")
    assert main(["generate", "--distributed", "-n", "10", "-o", "shards", "-q"]) == 0
    (workdir / "bad-shards").mkdir()
    (workdir / "bad-shards" / "manifest.json").write_text('{"format": 3}')
    (workdir / "config.json").write_text(json.dumps(SMALL_CONFIG.to_dict()))
    (workdir / "bad-config.json").write_text("{not json")
    (workdir / "list-config.json").write_text("[1, 2]")
    Image.new("RGB", (12, 9), (200, 30, 30)).save(workdir / "image.png")
    _saved_run().save(workdir / "run.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dpa.benchmark.command.BenchmarkRunner", FakeRunner)
        yield workdir


def _text(stream: Any) -> str:
    return bytes(stream.getvalue()).decode("utf-8", "replace")


def check_command_line(argv: list[str], counts: Counter[str]) -> tuple[int, str, str]:
    """``main(argv)``: exit 0, 1 or 2, no traceback, an error on one line; the click
    group itself (CliRunner.invoke): the same exit statuses, or an error main reports."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = main(argv)
    stdout, stderr = _text(out), _text(err)
    shown = f"argv={argv!r}\nexit {code}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
    assert type(code) is int and code in (0, 1, 2), shown
    counts[f"hostile command lines (exit {code})"] += 1
    assert "Traceback" not in stdout + stderr, shown
    if code == 2:  # one line of error, the last (after any progress or notes)
        lines = [line for line in stderr.split("\n") if line.strip()]
        errors = [line for line in lines if line.startswith("dpa: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], shown
    if code == 1:
        assert argv[0] in ("verify", "bench", "stats"), shown
    result = runner.invoke(cli, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert isinstance(result.exception, MAIN_HANDLES), (argv, result.exc_info)
    else:
        assert result.exit_code in (0, 1, 2), (argv, result.output)
    assert "Traceback" not in result.output, (argv, result.output)
    return code, stdout, stderr


def test_every_command_is_tried() -> None:
    assert set(cli.commands) == set(COMMANDS), "a new dpa command: add it to COMMANDS"


COMMANDS = ["generate", "show", "verify", "stats", "presets", "merge", "bench", "preview"]


@pytest.mark.parametrize("name", COMMANDS)
@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_command_line(
    name: str, data: st.DataObject, cli_files: Path, robustness_counts: Counter[str]
) -> None:
    argv = data.draw(command_lines(name), label="argv")
    check_command_line(argv, robustness_counts)


@settings(max_examples=40)
@given(argv=st.lists(_JUNK, max_size=4))
def test_hostile_words_before_any_command(
    argv: list[str], cli_files: Path, robustness_counts: Counter[str]
) -> None:
    check_command_line(argv, robustness_counts)


# --------------------------------------------------------------------------- regressions


def test_a_batch_checks_its_columns() -> None:
    good = generate_batch(range(2), SMALL_CONFIG).columns()
    with pytest.raises(TypeError, match="1-D numpy array"):
        ParamBatch(**{**good, "rotation": [0.0, 1.0]})
    with pytest.raises(TypeError, match="dtype"):
        ParamBatch(**{**good, "hash": np.array(["x", "y"])})
    with pytest.raises(ValueError, match="differ in length"):
        ParamBatch(**{**good, "noise": np.zeros(3)})
    batch = ParamBatch(**good)
    with pytest.raises(TypeError):
        batch["rotation"]  # type: ignore[index]
    with pytest.raises(IndexError):
        batch[2**63]
    assert batch[-1] == batch.to_dicts()[1]
    with pytest.raises(ValueError, match="rank"):
        batch.with_rank(2**64)
    with pytest.raises(ValueError, match="not a list of parameter dicts"):
        ParamBatch.from_dicts([1, 2])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="not a list of parameter dicts"):
        ParamBatch.from_dicts(batch.to_dicts(), rank=True)  # no 'rank' in them
    with pytest.raises(TypeError, match="sequence of ParamBatch"):
        ParamBatch.concat([batch, "x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ParamBatch"):
        dpa._batch.batch_nbytes(batch.to_dicts())  # type: ignore[arg-type]


def test_key_schemes_are_checked() -> None:
    with pytest.raises(ValueError, match="seed_words"), pytest.warns(DeprecationWarning):
        dpa.iter_batches(0, 3, seed_words=2**70)
    with pytest.raises(ValueError, match="seed_words"), pytest.warns(DeprecationWarning):
        dpa.iter_batches(0, 3, seed_words=3)  # the reference would take it as 8
    with pytest.raises(TypeError, match="key_prefix"), pytest.warns(DeprecationWarning):
        dpa.iter_batches(0, 3, key_prefix="1:2:")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping"):
        dpa.scheme_from_metadata({"elastic_info": 5})
    with pytest.raises(ValueError, match="base_seed"):
        dpa.scheme_from_metadata({"distributed_info": {"rank": 0}})
    with pytest.raises(TypeError, match="config"):
        dpa_core.params_for_key(b"1", "mild")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        dpa_core.seed_from_hash(np.int64(5))  # type: ignore[arg-type]


def test_sizes_beyond_the_float_range() -> None:
    batcher = MemoryAwareBatcher(1.7976931348623157e308)
    assert batcher.budget_bytes > 0 and batcher.calculate_optimal_batch_size(100) >= 1
    assert MemoryAwareBatcher(10).calculate_optimal_batch_size(1, used_bytes=10**400) == 1
    with (
        pytest.raises(InvalidBatchConfigError, match="interval_s"),
        dpa.memory_monitor(100, interval_s=1e300),
    ):
        pass
    with pytest.raises(ValueError, match="not finite"):
        dpa.save_augmentation_chain([{**_records(1)[0], "rotation": 10**400}], "huge.json")


def test_generate_with_the_largest_memory_budget(robustness_counts: Counter[str]) -> None:
    argv = ["generate", "-n", "3", "-o", "budget.json", "--max-memory-mb", "1e308", "-q"]
    check_command_line(argv, robustness_counts)
    assert dpa.verify_augmentation_file("budget.json").ok


def test_bench_refuses_a_folder_to_save_in_before_running(
    cli_files: Path, robustness_counts: Counter[str]
) -> None:
    """It ran the whole suite first, then failed to save."""
    code, _, err = check_command_line(["bench", "--save", "folder"], robustness_counts)
    assert code == 2 and "is a folder" in err and "suite" not in err


def test_bad_arguments_of_file_functions(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    dpa.save_augmentation_chain(generate_batch(range(4), SMALL_CONFIG), path, SMALL_CONFIG)
    with pytest.raises(TypeError, match="expected_ids"):
        dpa.verify_augmentation_file(path, expected_ids=[0, 1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        list(dpa.read_augmentation_file(path).iter_batches(0))
    with pytest.raises(TypeError, match="end_id"):
        dpa._io.write_range(tmp_path / "r.jsonl", 0, decimal.Decimal("NaN"))  # type: ignore[arg-type]
    assert not (tmp_path / "r.jsonl").exists()


def test_a_file_object_never_opens_a_descriptor() -> None:
    """An AugmentationFile given an int path used to open (and close) that file
    descriptor: standard output, say."""
    with pytest.raises(TypeError, match="path"):
        AugmentationFile(1, "jsonl", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read_augmentation_file"):
        AugmentationFile(Path("input.parquet"), "parquet", {})
    os.fstat(1)  # still open


def test_json_numbers_too_long_for_int_are_a_file_error(tmp_path: Path) -> None:
    record = json.dumps(_records(1)[0])
    for fmt, text in (
        ("json", '{"metadata": {}, "augmentations": [' + record + "]}"),
        ("jsonl", '{"metadata": {}}\n' + record + '\n{"end": {"num_samples": 1}}\n'),
    ):
        path = tmp_path / f"long.{fmt}"
        path.write_text(text.replace('"sample_id": 0', '"sample_id": -' + "9" * 5000))
        with pytest.raises(DPAFileError):
            dpa.load_augmentation_chain(path)
        path.write_text(text.replace('"noise": ', '"noise": 1' + "0" * 400 + ', "x": '))
        with pytest.raises(DPAFileError, match="not finite"):
            dpa.load_augmentation_chain(path)
        huge = '"num_samples": ' + "9" * 5000  # declared in the header, or the end line
        if fmt == "json":
            path.write_text(text.replace('"metadata": {}', '"metadata": {' + huge + "}"))
        else:
            path.write_text(text.replace('"num_samples": 1', huge))
        with pytest.raises(DPAFileError, match="declares <an int"):
            dpa.load_augmentation_chain(path)


# --------------------------------------------------------------------------- extremes


@pytest.fixture(params=["native", "python"])
def default_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every API on one backend, chosen as DPA_BACKEND chooses it."""
    if request.param == "native" and not dpa._backends.native_available():
        pytest.skip("native kernel not built")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DPA_BACKEND", request.param)
        dpa._backends.forget_default()
        try:
            assert dpa.backend() == request.param
            yield request.param
        finally:
            patch.undo()
            dpa._backends.forget_default()


DEPTH_1000 = AugmentationConfig(augmentation_depth=1000)
#: Ids past 64 bits: 2**200, and of thousands of digits (past int -> str's limit too).
HUGE_IDS = [2**200, 2**200 + 1, 10**3000 + 7, 10**5000 - 1]


def _dicts(batch: ParamBatch) -> list[dict[str, Any]]:
    return batch.to_dicts()


@pytest.mark.slow
def test_depth_1000_and_huge_ids_agree_everywhere(default_backend: str) -> None:
    """Per sample, batch and stream, plain, rank-aware and elastic, at depth 1000 and
    ids past 2**64, on this backend; and the same numbers as the Python reference."""
    ids = [0, 2**64 - 1, 2**64, *HUGE_IDS]
    first = 2**200  # a contiguous run for the streams
    run = list(range(first, first + 3))
    cases = [
        (
            lambda i: dpa.gen_augmentation_params(i, DEPTH_1000),
            lambda ids: dpa.generate_batch(ids, DEPTH_1000),
            lambda: dpa.stream_augmentation_range(first, first + 3, DEPTH_1000, chunk_size=2),
            lambda i: dpa_core.gen_augmentation_params(i, DEPTH_1000),
        ),
        (
            lambda i: dpa.gen_distributed_augmentation_params(i, 2, DEPTH_1000, 2**70, 3),
            lambda ids: dpa.generate_distributed_batch(ids, 2, 3, DEPTH_1000, 2**70),
            lambda: dpa.stream_distributed_augmentation_range(
                first, first + 3, 2, 3, DEPTH_1000, 2**70
            ),
            lambda i: dpa.gen_distributed_augmentation_params(
                i, 2, DEPTH_1000, 2**70, 3, backend="python"
            ),
        ),
        (
            lambda i: dpa.gen_elastic_augmentation_params(i, DEPTH_1000, 5, 2**65),
            lambda ids: dpa.generate_elastic_batch(ids, DEPTH_1000, 5, 2**65),
            lambda: dpa.stream_elastic_augmentation_range(first, first + 3, DEPTH_1000, 5, 2**65),
            lambda i: dpa.gen_elastic_augmentation_params(
                i, DEPTH_1000, 5, 2**65, backend="python"
            ),
        ),
    ]
    for one, batch, stream, reference in cases:
        singles = [{**one(i), "sample_id": i} for i in ids]
        expected = [{**reference(i), "sample_id": i} for i in ids]
        assert singles == expected
        assert _dicts(batch(ids)) == [_without_rank(r) for r in expected]
        streamed = [record for chunk in stream() for record in _flat(chunk)]
        assert streamed == [{**one(i), "sample_id": i} for i in run]
    batches = dpa.iter_batches(first, first + 3, DEPTH_1000, batch_size=2)
    assert [r for b in batches for r in _dicts(b)] == _dicts(dpa.generate_batch(run, DEPTH_1000))


def _without_rank(record: dict[str, Any]) -> dict[str, Any]:
    """A rank-aware batch carries its rank as an argument, not a column."""
    return {key: value for key, value in record.items() if key != "rank"}


def _flat(chunk: Any) -> list[dict[str, Any]]:
    return chunk if isinstance(chunk, list) else [chunk]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_huge_ids_through_files_and_verify(
    tmp_path: Path, fmt: str, default_backend: str, robustness_counts: Counter[str]
) -> None:
    """Ids of 2**200 and of thousands of digits at depth 1000: written, read back
    equal, verified (also with the ids expected, and by ``dpa verify``)."""
    config = AugmentationConfig(augmentation_depth=1000, noise_range=(0, 0.5))
    batch = dpa.generate_batch(HUGE_IDS, config)
    path = tmp_path / f"huge.{fmt}"
    dpa.save_augmentation_chain(batch, path, config)
    assert dpa.load_augmentation_chain(path) == batch.to_dicts()
    assert dpa.verify_augmentation_file(path).ok
    run = range(2**200, 2**200 + 3)
    elastic = tmp_path / f"run.{fmt}"
    info = {"base_seed": 2**80, "epoch": 1}
    dpa._io.write_range(elastic, run.start, run.stop, config, elastic_info=info, batch_size=2)
    assert dpa.load_augmentation_chain(elastic) == _dicts(
        dpa.generate_elastic_batch(run, config, 2**80, 1)
    )
    assert dpa.verify_augmentation_file(elastic, expected_ids=run).ok
    report = dpa.verify_augmentation_file(elastic, expected_ids=range(2**200 + 1, 2**200 + 4))
    assert not report.ok and "expected sample" in report.problems[0]
    check_command_line(["verify", str(path)], robustness_counts)
    check_command_line(["verify", str(elastic)], robustness_counts)


def test_huge_ids_on_the_command_line(tmp_path: Path, robustness_counts: Counter[str]) -> None:
    start = str(2**200)
    out = tmp_path / "cli.parquet"
    check_command_line(
        ["generate", "-n", "3", "--start", start, "--depth", "1000", "-o", str(out), "-q"],
        robustness_counts,
    )
    records = dpa.load_augmentation_chain(out)
    config = AugmentationConfig(augmentation_depth=1000)
    assert records == _dicts(dpa.generate_batch(range(2**200, 2**200 + 3), config))
    with CliRunner().isolation() as (stdout, _, _):
        assert main(["show", str(10**3000), "--depth", "1000"]) == 0
    shown = json.loads(stdout.getvalue())
    assert shown == {"sample_id": 10**3000, **dpa_core.gen_augmentation_params(10**3000, config)}
