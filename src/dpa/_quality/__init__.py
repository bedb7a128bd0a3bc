"""Statistical quality of the parameters: uniformity, independence, coverage, seeds.

DPA promises parameters spread uniformly over their ranges, independent of each
other, of the neighbouring sample ids, of the rank (rank-aware keys) and of the
epoch (elastic keys), reaching both ends of every range, from 32-bit seeds whose
bytes are balanced. This module measures each promise as a statistical test at a
significance level (0.1% by default):

- uniformity: Kolmogorov-Smirnov and chi-square (64 equal bins) of each parameter
  against the uniform law on its range;
- independence: Pearson's r between every pair of parameters, between consecutive
  sample ids, and (for a generator run) between the same ids on ranks 0 and 1 and
  in epochs 0 and 1;
- coverage: every value inside its range, and the smallest and largest values within
  0.01% of the range's width from its bounds (or, for fewer samples than that can
  promise, no farther than a uniform sample would be with probability 99.9%);
- seeds: chi-square of each of the four bytes of the 32-bit seed (the digest's last
  32 bits) against 256 equally likely values.

The sample ids are fixed, so each verdict is deterministic: a run that passes today
passes on every machine. The Kolmogorov-Smirnov test needs every value of a sample
at once (sorted), so a check holds the whole sample in memory, about 450 bytes a
sample: it takes at most :data:`MAX_SAMPLES` (10**7, about 4.5 GB) and refuses more
with a ValueError before any work (a file that holds more, as soon as it is read
past the limit). At that size the test already finds a deviation of 0.0006 in a
parameter's distribution; more samples would only cost memory.
:mod:`scipy.stats` computes the statistics and p-values:
scipy is the ``quality`` extra (``pip install 'dpa-augment[quality]'``), imported when a
check runs; without it a check raises ImportError saying so.

This module draws or reads the sample (:func:`check_quality`,
:func:`check_batch_quality`, :func:`check_file_quality`); the checks themselves are
in :mod:`dpa._quality.checks`, the tests in :mod:`dpa._quality.stats`, the report in
:mod:`dpa._quality.report` and the picture in :mod:`dpa._quality.plot`.

Example:
    >>> report = check_quality(2000)
    >>> report.passed, report.samples
    (True, 2000)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._config import PARAM_NAMES, AugmentationConfig, check_config
from .._generate import generate_batch
from .._keys import PLAIN, ElasticScheme, KeyScheme, RankAwareScheme
from .._parambatch import ParamBatch
from .._validate import check_int
from .checks import BINS, COVERAGE_GAP, Columns, assess, seeds_of
from .plot import plot_quality
from .report import ALPHA, QualityCheck, QualityReport, check_alpha
from .stats import chi_square_uniform, kolmogorov_smirnov_uniform, pearson, scipy_stats

__all__ = [
    "ALPHA",
    "BINS",
    "COVERAGE_GAP",
    "QualityCheck",
    "QualityReport",
    "check_batch_quality",
    "check_file_quality",
    "check_quality",
    "chi_square_uniform",
    "kolmogorov_smirnov_uniform",
    "pearson",
    "plot_quality",
    "seeds_of",
]

#: Ids generated at a time by :func:`check_quality`.
_CHUNK = 1 << 20
#: The most samples a check takes: it holds them all in memory (about 450 bytes
#: each, 4.5 GB here).
MAX_SAMPLES = 10_000_000


def check_quality(
    n: int = 1_000_000,
    config: AugmentationConfig | None = None,
    *,
    start: int = 0,
    base_seed: int = 0,
    alpha: float = ALPHA,
    workers: int = 1,
    backend: str | None = None,
) -> QualityReport:
    """Generate ids ``start .. start+n-1`` and run every check on them, with the
    rank and epoch comparisons: the same ids on ranks 0 and 1 of 2 (rank-aware keys
    with ``base_seed``) and in epochs 0 and 1 (elastic keys with ``base_seed``).

    Example:
        >>> check_quality(2000).summary()["failed"]
        0
    """
    n = check_int(n, "n", 1)
    if n > MAX_SAMPLES:
        raise ValueError(_too_many(f"{n:,} samples asked for"))
    start = check_int(start, "start", 0)
    config = check_config(config)
    alpha = check_alpha(alpha)
    comparisons = {
        "rank 0 ~ rank 1": (RankAwareScheme(base_seed, 0, 2), RankAwareScheme(base_seed, 1, 2)),
        "epoch 0 ~ epoch 1": (ElasticScheme(base_seed, 0), ElasticScheme(base_seed, 1)),
    }
    scipy_stats()  # a missing scipy fails here, before the generation
    ids = range(start, start + n)

    def drawn(
        scheme: KeyScheme, *, with_seeds: bool = False
    ) -> tuple[Columns, npt.NDArray[Any], npt.NDArray[np.uint32] | None]:
        chunks = (ids[first : first + _CHUNK] for first in range(0, n, _CHUNK))
        batches = (
            generate_batch(chunk, config, scheme=scheme, workers=workers, backend=backend)
            for chunk in chunks
        )
        return _columns_of(batches, with_seeds=with_seeds)

    columns, id_array, seeds = drawn(PLAIN, with_seeds=True)
    pairs = [(label, drawn(one)[0], drawn(other)[0]) for label, (one, other) in comparisons.items()]
    source = f"ids {start:,}..{ids[-1]:,}, base seed {base_seed}"
    return assess(columns, id_array, seeds, config, alpha, source, pairs)


def check_batch_quality(
    batch: ParamBatch, config: AugmentationConfig | None = None, *, alpha: float = ALPHA
) -> QualityReport:
    """The quality checks (uniformity, independence of parameters and of consecutive
    ids, coverage, seed bytes) of a batch drawn with ``config`` (default: the
    default config).

    Example:
        >>> check_batch_quality(generate_batch(range(5000))).passed
        True
    """
    if not isinstance(batch, ParamBatch):
        raise TypeError(f"batch must be a ParamBatch, got {type(batch).__name__}")
    config = check_config(config)
    alpha = check_alpha(alpha)
    scipy_stats()
    columns, ids, seeds = _columns_of([batch])
    return assess(columns, ids, seeds, config, alpha, f"a batch of {len(batch)}")


def check_file_quality(
    path: str | Path,
    config: AugmentationConfig | None = None,
    *,
    alpha: float = ALPHA,
    batch_size: int = 65536,
) -> QualityReport:
    """The quality checks of the parameters in a dpa file (JSON, JSON Lines or
    Parquet), against the config in its metadata (or ``config`` when it has none).

    Consecutive ids are the file's ids that differ by one; a file holds one rank or
    epoch, so there are no rank or epoch comparisons.
    """
    from .._formats import DPAFileError, read_augmentation_file

    alpha = check_alpha(alpha)
    scipy_stats()
    opened = read_augmentation_file(path)
    stored = opened.config
    if stored is None and config is None:
        raise DPAFileError(
            opened.path, "no config in the metadata: give the config the file was made with"
        )
    used = stored if stored is not None else check_config(config)
    declared = opened.num_samples
    if declared is not None and declared > MAX_SAMPLES:
        raise ValueError(_too_many(f"{opened.path} holds {declared:,} samples"))
    columns, ids, seeds = _columns_of(_at_most(opened.iter_batches(batch_size), opened.path))
    if len(ids) == 0:
        raise DPAFileError(opened.path, "holds no samples")
    return assess(columns, ids, seeds, used, alpha, f"{opened.path}, {opened.format}")


def _too_many(what: str) -> str:
    """Why a sample is refused: ``what`` (its size), the limit and the reason."""
    return (
        f"{what}; the quality checks take at most {MAX_SAMPLES:,} samples "
        "(they hold every value in memory, about 450 bytes a sample)"
    )


def _at_most(batches: Iterable[ParamBatch], path: Path) -> Iterator[ParamBatch]:
    """``batches`` while they hold no more than :data:`MAX_SAMPLES` samples in all
    (a file that declares fewer than it holds is found out as it is read)."""
    count = 0
    for batch in batches:
        count += len(batch)
        if count > MAX_SAMPLES:
            raise ValueError(_too_many(f"{path} holds more than {MAX_SAMPLES:,} samples"))
        yield batch


def _columns_of(
    batches: Iterable[ParamBatch], *, with_seeds: bool = True
) -> tuple[Columns, npt.NDArray[Any], npt.NDArray[np.uint32] | None]:
    """The five parameter columns (as floats), the sample ids and (``with_seeds``) the
    32-bit seeds of ``batches``, each joined into one array; None for the seeds
    otherwise."""
    wanted = (*PARAM_NAMES, "sample_id", *(("seed",) if with_seeds else ()))
    parts: dict[str, list[Any]] = {name: [] for name in wanted}
    for batch in batches:
        for name in PARAM_NAMES:
            parts[name].append(np.asarray(getattr(batch, name), dtype=np.float64))
        parts["sample_id"].append(batch.sample_id)
        if with_seeds:
            parts["seed"].append(seeds_of(batch.hash))
    joined = {
        name: np.concatenate(chunks) if chunks else np.zeros(0) for name, chunks in parts.items()
    }
    ids = joined.pop("sample_id")
    seeds = joined.pop("seed").astype(np.uint32) if with_seeds else None
    return joined, ids, seeds
