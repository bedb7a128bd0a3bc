"""Parameter records in DPA v0.2's shape, computed by dpa's engine.

A record is the dict v0.2 returned: ``rotation``, ``brightness``, ``noise``,
``scale``, ``contrast``, ``hash``, and ``rank`` for rank-aware keys; no
``sample_id``. The numbers are dpa's, which are v0.2's to the last bit: the native
kernel computes them in blocks, and neither the global ``random`` state nor any
other shared state is read or changed (v0.2 reseeded the global generator on every
sample).

Example:
    >>> gen_augmentation_params(0)["rotation"]
    -0.14542826986576074
    >>> scheme = engine.RankAwareScheme(base_seed=0, rank=1, world_size=2)
    >>> [record["rank"] for record in stream_records(0, 2, None, scheme)]
    [1, 1]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import _engine as engine
from ._checks import check_non_negative, check_rank
from ._engine import AugmentationConfig

__all__ = [
    "BLOCK",
    "fib",
    "gen_augmentation_params",
    "gen_augmentation_seed",
    "gen_distributed_augmentation_params",
    "get_preset",
    "sample_line",
    "stream_chunks",
    "stream_records",
]

#: Records computed at a time by the streams: small enough that taking a few
#: records of a long stream costs little, large enough for the kernel's speed.
BLOCK = 1024


def fib(n: int) -> int:
    """The ``n``-th Fibonacci number (``fib(0) = 0``, ``fib(1) = 1``).

    Example:
        >>> fib(10)
        55
    """
    check_non_negative(n, "n")
    return engine.fib(n)


def get_preset(preset_name: str) -> AugmentationConfig:
    """The preset config ``mild``, ``moderate`` or ``aggressive``.

    Example:
        >>> get_preset("none")
        Traceback (most recent call last):
        ...
        ValueError: Unknown preset 'none'. Available: ['mild', 'moderate', 'aggressive']
    """
    if preset_name not in engine.PRESETS:
        raise ValueError(f"Unknown preset '{preset_name}'. Available: {list(engine.PRESETS)}")
    return engine.get_preset(preset_name)


def gen_augmentation_seed(seed_id: int, augmentation_depth: int = 10) -> str:
    """The final hex digest of the Fibonacci-salted SHA-256 chain of ``seed_id``.

    Example:
        >>> gen_augmentation_seed(0)[:16]
        'f186c633e8861c7e'
    """
    check_non_negative(seed_id, "seed_id")
    if augmentation_depth < 1:
        raise ValueError("augmentation_depth must be >= 1")
    return engine.gen_augmentation_seed(seed_id, augmentation_depth)


def gen_augmentation_params(
    seed_id: int, config: AugmentationConfig | None = None, rank: int | None = None
) -> dict[str, Any]:
    """The parameters of sample ``seed_id``; with ``rank``, its rank-aware
    parameters at base seed 0 and world size 1 (as v0.2: only rank 0 is valid).

    Example:
        >>> sorted(gen_augmentation_params(3))
        ['brightness', 'contrast', 'hash', 'noise', 'rotation', 'scale']
    """
    check_non_negative(seed_id, "seed_id")
    if rank is not None:
        return gen_distributed_augmentation_params(seed_id, rank, config)
    return engine.gen_augmentation_params(seed_id, config)


def gen_distributed_augmentation_params(
    sample_id: int,
    rank: int,
    config: AugmentationConfig | None = None,
    base_seed: int = 0,
    world_size: int = 1,
) -> dict[str, Any]:
    """Rank-aware parameters of one sample, with ``"rank"``: keyed by
    ``f"{base_seed}:{rank}:{sample_id}"``, so each rank gets its own values.

    Example:
        >>> gen_distributed_augmentation_params(0, 1, base_seed=42, world_size=4)["rank"]
        1
    """
    check_non_negative(sample_id, "sample_id")
    check_rank(rank, world_size)
    return engine.gen_distributed_augmentation_params(
        sample_id, rank, config, base_seed, world_size
    )


def _v02_records(batch: engine.ParamBatch, extra: dict[str, Any]) -> list[dict[str, Any]]:
    records = batch.to_dicts()
    for record in records:
        del record["sample_id"]
        record.update(extra)
    return records


def stream_records(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None,
    scheme: engine.KeyScheme | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of ids ``start_id .. end_id - 1`` keyed by ``scheme`` (v0.2's
    plain key by default), one at a time, computed :data:`BLOCK` at a time.

    Example:
        >>> next(stream_records(5, 10, None)) == gen_augmentation_params(5)
        True
    """
    for chunk in stream_chunks(start_id, end_id, config, BLOCK, scheme):
        yield from chunk


def stream_chunks(
    start_id: int,
    end_id: int,
    config: AugmentationConfig | None,
    chunk_size: int,
    scheme: engine.KeyScheme | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The same records in lists of ``chunk_size`` (the last one shorter).

    Example:
        >>> [len(chunk) for chunk in stream_chunks(0, 7, None, 3)]
        [3, 3, 1]
    """
    extra = scheme.record_fields if scheme is not None else {}
    for batch in engine.iter_batches(start_id, end_id, config, chunk_size, scheme=scheme):
        yield _v02_records(batch, extra)


def sample_line(sample_id: int, params: dict[str, Any]) -> str:
    """v0.2's verbose line for one sample.

    Example:
        >>> sample_line(0, gen_augmentation_params(0))[:32]
        'Sample(0) -> rotation=-0.15° bri'
    """
    return (
        f"Sample({sample_id}) -> rotation={params['rotation']:.2f}° "
        f"brightness={params['brightness']:.2f} "
        f"noise={params['noise']:.3f} "
        f"scale={params['scale']:.2f} "
        f"contrast={params['contrast']:.2f}\n"
    )
