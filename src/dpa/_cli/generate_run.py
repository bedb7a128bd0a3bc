"""What ``dpa generate`` was asked to write: :class:`GenerateRun`, the key scheme
its options give (:func:`key_scheme`), and what its progress bar says once every
sample is written (:func:`finishing`).

Example:
    >>> key_scheme(distributed=True, mode="elastic", base_seed=7, epoch=2)
    ElasticScheme(base_seed=7, epoch=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._config import AugmentationConfig
from .._keys import PLAIN, KeyScheme, RankAwareScheme, scheme_for_mode
from .batch_size import memory_batch_size
from .errors import fail

__all__ = ["GenerateRun", "finishing", "key_scheme"]


def key_scheme(
    distributed: bool, mode: str | None, base_seed: int | None, epoch: int | None
) -> KeyScheme:
    """The keys ``--distributed``, ``--mode``, ``--base-seed`` and ``--epoch`` ask for:
    plain without ``--distributed`` (the others are then an error), else the mode's
    (rank-aware by default); the shards set each rank's own rank."""
    if not distributed:
        given = {"--mode": mode, "--base-seed": base_seed, "--epoch": epoch}
        named = [name for name, value in given.items() if value is not None]
        if named:
            fail(f"{', '.join(named)}: only with --distributed")
        return PLAIN
    scheme = scheme_for_mode(
        mode or RankAwareScheme.mode, base_seed=base_seed or 0, epoch=epoch or 0
    )
    if epoch is not None and not hasattr(scheme, "epoch"):
        fail("--epoch needs --mode elastic (rank-aware keys have no epoch)")
    return scheme


@dataclass(frozen=True)
class GenerateRun:
    """The ids, config, keys and output of one ``dpa generate`` run, as its options
    gave them (``fmt``, ``batch_size`` and ``workers`` None: not given)."""

    output: Path
    start: int
    num_samples: int
    config: AugmentationConfig
    scheme: KeyScheme
    fmt: str | None
    resume: bool
    include_stats: bool
    batch_size: int | None
    max_memory_mb: float
    workers: int | None
    quiet: bool

    @property
    def end(self) -> int:
        """One past the last id."""
        return self.start + self.num_samples

    def batch_size_for(self, fmt: str) -> int:
        """``--batch-size``, else the most ids per batch that writing ``fmt`` fits in
        ``--max-memory-mb``."""
        if self.batch_size is not None:
            return self.batch_size
        return memory_batch_size(fmt, self.config, self.max_memory_mb)


def finishing(output: Path, fmt: str) -> str:
    """What a run does once every sample is written, for the progress bar.

    Example:
        >>> finishing(Path("out.parquet"), "parquet")
        'joining the parts into out.parquet'
    """
    if fmt == "parquet":
        return f"joining the parts into {output.name}"
    return f"flushing {output.name} to disk"
