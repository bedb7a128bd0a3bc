"""DPA v0.2's exceptions, with v0.2's names and hierarchy.

Each also derives from :class:`dpa.DPAError`, so one ``except dpa.DPAError``
catches dpa's errors and the legacy layer's alike::

    StreamingError                  (dpa.v02)
    ├── PartialWriteError           .samples_written: how many records were written
    ├── StreamingIOError
    ├── GeneratorExhaustionError
    └── ResourceCleanupError
    DistributedError                (dpa.v02.distributed)
    ├── InvalidRankError
    ├── RangeSplittingError
    └── SeedGenerationError
    BenchmarkError                  (dpa.v02.benchmark)
    ├── ProfilingError
    ├── InvalidBenchmarkConfigError
    └── MeasurementError

Example:
    >>> issubclass(PartialWriteError, StreamingError)
    True
    >>> PartialWriteError("stopped", 42).samples_written
    42
"""

from __future__ import annotations

from . import _engine as engine

__all__ = [
    "BenchmarkError",
    "DistributedError",
    "GeneratorExhaustionError",
    "InvalidBenchmarkConfigError",
    "InvalidRankError",
    "MeasurementError",
    "PartialWriteError",
    "ProfilingError",
    "RangeSplittingError",
    "ResourceCleanupError",
    "SeedGenerationError",
    "StreamingError",
    "StreamingIOError",
]


class StreamingError(engine.DPAError):
    """Base of the errors of the streaming functions."""


class PartialWriteError(StreamingError):
    """A streaming write stopped before the end; ``samples_written`` says how far it got."""

    def __init__(self, message: str, samples_written: int) -> None:
        super().__init__(message)
        self.samples_written = samples_written


class StreamingIOError(StreamingError):
    """A file could not be read or written while streaming."""


class GeneratorExhaustionError(StreamingError):
    """A generator ended before it was expected to."""


class ResourceCleanupError(StreamingError):
    """A file or generator could not be closed."""


class DistributedError(engine.DPAError):
    """Base of the errors of the distributed functions."""


class InvalidRankError(DistributedError):
    """A rank that does not fit the world size."""


class RangeSplittingError(DistributedError):
    """Splitting the samples over the ranks failed."""


class SeedGenerationError(DistributedError):
    """Generating rank-aware parameters failed."""


class BenchmarkError(engine.DPAError):
    """Base of the errors of the benchmarking tools."""


class ProfilingError(BenchmarkError):
    """A profiled operation was started twice, or ended without being started."""


class InvalidBenchmarkConfigError(BenchmarkError):
    """A :class:`~dpa.v02.benchmark.BenchmarkConfig` setting is out of range."""


class MeasurementError(BenchmarkError):
    """A benchmark could not be measured (the measured code failed)."""


# Shown in tracebacks as users name them (``dpa.v02.StreamingIOError``), not by this
# private module.
for _public, _errors in (
    ("dpa.v02", (StreamingError, PartialWriteError, StreamingIOError)),
    ("dpa.v02", (GeneratorExhaustionError, ResourceCleanupError)),
    ("dpa.v02.distributed", (DistributedError, InvalidRankError, RangeSplittingError)),
    ("dpa.v02.distributed", (SeedGenerationError,)),
    ("dpa.v02.benchmark", (BenchmarkError, ProfilingError, InvalidBenchmarkConfigError)),
    ("dpa.v02.benchmark", (MeasurementError,)),
):
    for _error in _errors:
        _error.__module__ = _public
