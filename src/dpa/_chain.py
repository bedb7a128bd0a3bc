"""DPA v0.2's whole-chain entry point: the parameters of ids ``0 .. n-1`` as one
list of dicts, printed or saved on request. It sits above generation and the files
(it uses both), so neither of those has to know the other.
"""

from __future__ import annotations

from typing import Any

from ._config import AugmentationConfig, check_config
from ._generate import iter_batches
from ._io import save_augmentation_chain
from ._validate import check_int

__all__ = ["generate_augmentation_chain"]


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
    config = check_config(config)
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
        save_augmentation_chain(records, save_path, config=config)
    return records
