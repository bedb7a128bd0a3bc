"""The three file formats: how records and metadata are laid out and read back.

Formats (chosen from the file name's suffix, or ``format=``):

``json``
    ``{"metadata": {...}, "augmentations": [record, ...], "statistics": {...}}``.
    ``metadata`` holds ``version``, ``format_version``, ``config``, ``num_samples``,
    ``generation_time`` (ISO-8601 UTC) and the key scheme's entry
    (:meth:`dpa.KeyScheme.to_metadata`): for rank-aware output ``distributed_info``
    (``rank``, ``world_size``, ``base_seed``), for elastic output ``elastic_info``.
    A merged rank-aware file (several ranks in one, see :mod:`dpa._shards`) has
    ``distributed_info`` ``{"per_record_rank": true, "world_size", "base_seed"}`` and
    a ``rank`` in every record (a ``rank`` column in Parquet).
``jsonl``
    A first line ``{"metadata": {...}}``, one record per line, and a last line
    ``{"end": {"num_samples": N, "statistics": {...}}}`` that marks the file complete.
``parquet``
    Columns ``sample_id``, the five parameters (float64) and ``hash``; the metadata
    (as JSON) in the file's key-value metadata under ``dpa.metadata`` and the count
    and statistics under ``dpa.summary``.

A record is ``{"sample_id", "rotation", "brightness", "noise", "scale", "contrast",
"hash"}``. Readers validate as they go and raise :class:`DPAFileError` naming the
file and the problem.

Each format is a module (``json``, ``jsonl``, ``parquet``) holding its sink, the
writer's side (a :class:`~dpa._formats.interface.RecordSink`), and its reader, both
under one :class:`~dpa._formats.interface.FileFormat`; ``text`` holds what the two
text formats share, ``common`` what all three share (detection, metadata, record
checks), ``files`` the opening of a file of any format. File lifecycles (temporary
files, renames, the resumable partial and its lock) live in :mod:`dpa._lifecycle`,
the writer in :mod:`dpa._io`.
"""

from .._errors import DPAFileError as DPAFileError
from .common import (
    FORMAT_VERSION as FORMAT_VERSION,
    FORMATS as FORMATS,
    READ_BLOCK as READ_BLOCK,
    PathLike as PathLike,
    brief,
    detect_format as detect_format,
)
from .files import (
    AugmentationFile as AugmentationFile,
    read_augmentation_file as read_augmentation_file,
)

__all__ = [
    "FORMATS",
    "AugmentationFile",
    "DPAFileError",
    "detect_format",
    "read_augmentation_file",
]

#: ``repr`` cut short, under the name other modules imported it by before.
_brief = brief
