"""DPA v0.2's rank-aware streams: a rank's share of the samples, or a given range,
keyed by ``f"{base_seed}:{rank}:{sample_id}"``.

They are generators, as v0.2's: the arguments are checked (with v0.2's messages)
when the first record is asked for.

Example:
    >>> [len(chunk) for chunk in stream_distributed_augmentation_chain(10, 0, 2, chunk_size=2)]
    [2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import _engine as engine
from ._checks import check_chunk_size, check_id_range, check_non_negative, check_rank
from ._engine import AugmentationConfig
from ._records import stream_chunks, stream_records

__all__ = ["stream_distributed_augmentation_chain", "stream_distributed_augmentation_range"]

_VERBOSE_SAMPLES = 10  # verbose streams print each sample of ranges this small


def stream_distributed_augmentation_chain(
    num_samples: int,
    rank: int,
    world_size: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
    verbose: bool = False,
    inclusive_range: bool = True,
) -> Iterator[Any]:
    """This rank's contiguous share of ``num_samples`` (see
    :class:`~dpa.v02.distributed.DistributedRangeSplitter`), one record at a time or
    in lists of ``chunk_size``. ``inclusive_range`` is accepted and, as in v0.2,
    changes nothing.

    Example:
        >>> [p["rank"] for p in stream_distributed_augmentation_chain(5, 1, 2)]
        [1, 1]
    """
    check_non_negative(num_samples, "num_samples")
    check_rank(rank, world_size)
    check_chunk_size(chunk_size)
    start, end = engine.DistributedRangeSplitter(num_samples, world_size).get_rank_range(rank)
    if verbose:
        print(
            f"Rank {rank}/{world_size}: processing samples {start}-{end - 1} "
            f"({end - start} samples)"
        )
    if start == end:
        if verbose:
            print(f"Rank {rank}: no samples to process (empty range)")
        return
    yield from _rank_stream(start, end, rank, world_size, config, base_seed, chunk_size, verbose)
    if verbose:
        print(f"Rank {rank}: completed processing {end - start} samples")


def stream_distributed_augmentation_range(
    start_id: int,
    end_id: int,
    rank: int,
    world_size: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
    verbose: bool = False,
) -> Iterator[Any]:
    """Rank-aware records of the ids ``start_id .. end_id - 1`` (not split: the
    whole range, keyed by this rank).

    Example:
        >>> len(list(stream_distributed_augmentation_range(10, 15, 0, 2)))
        5
    """
    check_id_range(start_id, end_id)
    check_rank(rank, world_size)
    check_chunk_size(chunk_size)
    last = end_id - 1
    if verbose:
        print(
            f"Rank {rank}/{world_size}: processing range {start_id}-{last} "
            f"({end_id - start_id} samples)"
        )
    yield from _rank_stream(
        start_id, end_id, rank, world_size, config, base_seed, chunk_size, verbose
    )
    if verbose:
        print(f"Rank {rank}: completed processing range {start_id}-{last}")


def _rank_stream(
    start_id: int,
    end_id: int,
    rank: int,
    world_size: int,
    config: AugmentationConfig | None,
    base_seed: int,
    chunk_size: int | None,
    verbose: bool,
) -> Iterator[Any]:
    scheme = engine.RankAwareScheme(base_seed, rank, world_size)
    show = verbose and end_id - start_id <= _VERBOSE_SAMPLES
    if chunk_size is None:
        records = stream_records(start_id, end_id, config, scheme)
        for sample_id, params in enumerate(records, start_id):
            if show:
                _print_sample(rank, sample_id, params)
            yield params
        return
    sample_id = start_id
    for chunk in stream_chunks(start_id, end_id, config, chunk_size, scheme):
        for params in chunk if show else ():
            _print_sample(rank, sample_id, params)
            sample_id += 1
        yield chunk


def _print_sample(rank: int, sample_id: int, params: dict[str, Any]) -> None:
    print(
        f"Rank {rank} Sample({sample_id}) -> rotation={params['rotation']:.2f}\u00b0 "
        f"brightness={params['brightness']:.2f} hash={params['hash'][:8]}..."
    )
