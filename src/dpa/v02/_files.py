"""DPA v0.2's JSON files: saving, loading, streaming both ways, and recovery.

The files have v0.2's layout key for key and byte for byte::

    {"metadata": {"num_samples": N, "config": {...} or null[, "streaming": true]},
     "augmentations": [record, ...],
     "statistics": {"rotation": {"mean", "stdev", "min", "max", "count"}, ...}}

``save_augmentation_chain`` and the saves with statistics write it as
``json.dump(..., indent=2)``; ``save_augmentation_stream`` without statistics writes
one compact record per line after a ``"num_samples": null`` header. Records are
written as they are given. dpa reads and verifies these files
(:func:`dpa.verify_augmentation_file`).

Kept from dpa rather than v0.2: each save is atomic (a temporary file in the same
folder, renamed over the target when complete, removed on failure), so a failed
save leaves no partial file; a stream saved with statistics is held on disk, not in
memory; an empty stream saves (v0.2 raised ``PartialWriteError``).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "new" / "chain.json"
    >>> save_augmentation_chain([{"rotation": 1.0}], str(path), include_stats=False)
    Saved 1 augmentations to ...chain.json
    >>> json.loads(path.read_text())["metadata"]
    {'num_samples': 1, 'config': None}
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from . import _engine as engine
from ._checks import check_non_negative
from ._context import safe_cleanup_generator
from ._engine import AugmentationConfig, atomic_file
from ._errors import PartialWriteError, StreamingError, StreamingIOError
from ._progress import (
    ProgressCallback,
    StreamingProgress,
    create_streaming_metadata,
    create_streaming_progress,
    format_progress_info,
    update_streaming_progress,
)
from ._stats import compute_statistics, fill_empty

__all__ = [
    "load_augmentation_chain",
    "load_augmentation_stream",
    "recover_partial_write",
    "resume_streaming_save",
    "save_augmentation_chain",
    "save_augmentation_stream",
]

Record = dict[str, Any]


@contextlib.contextmanager
def _atomic_text(path: Path) -> Iterator[IO[str]]:
    """A new text file that replaces ``path`` when the block ends without error and
    is removed when it does not (dpa's :func:`atomic_file`). Missing folders are
    created, as v0.2 created them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as binary:
        handle = io.TextIOWrapper(binary, encoding="utf-8")
        try:
            yield handle
            handle.flush()
        finally:
            handle.detach()  # atomic_file closes the file itself


def _config_dict(config: AugmentationConfig | None) -> dict[str, Any] | None:
    return config.to_dict() if config is not None else None


def _nested(value: Any, level: int) -> str:
    """``value`` as ``json.dump(..., indent=2)`` writes it ``level`` containers deep."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


def save_augmentation_chain(
    params_list: list[Record],
    filepath: str,
    config: AugmentationConfig | None = None,
    include_stats: bool = True,
) -> None:
    """Save records, with the config and (by default) their statistics, as JSON.

    Raises OSError (``Failed to save augmentation chain: ...``) when the file
    cannot be written.
    """
    output: dict[str, Any] = {
        "metadata": {"num_samples": len(params_list), "config": _config_dict(config)},
        "augmentations": params_list,
    }
    if include_stats:
        output["statistics"] = compute_statistics(params_list)
    try:
        with _atomic_text(Path(filepath)) as handle:
            json.dump(output, handle, indent=2)
    except OSError as exc:
        raise OSError(f"Failed to save augmentation chain: {exc}") from exc
    sys.stdout.write(f"Saved {len(params_list)} augmentations to {filepath}\n")


def load_augmentation_chain(filepath: str) -> list[Record]:
    """The records of a JSON file, as stored.

    Raises FileNotFoundError (``Augmentation file not found: ...``) and
    ``json.JSONDecodeError`` (``Invalid JSON in ...``), as v0.2.
    """
    try:
        with open(filepath, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"Augmentation file not found: {filepath}") from None
    except json.JSONDecodeError as exc:
        raise json.JSONDecodeError(f"Invalid JSON in {filepath}: {exc}", "", 0) from exc
    records: list[Record] = data["augmentations"]
    sys.stdout.write(f"Loaded {len(records)} augmentations from {filepath}\n")
    return records


class _StreamSave:
    """One ``save_augmentation_stream``: counts, progress and the callback."""

    def __init__(
        self,
        filepath: str,
        buffer_size: int,
        verbose: bool,
        progress_callback: ProgressCallback | None,
        config: AugmentationConfig | None,
    ) -> None:
        self.filepath = filepath
        self.buffer_size = buffer_size
        self.verbose = verbose
        self.callback = progress_callback
        self.metadata = create_streaming_metadata(None, config, buffer_size=buffer_size)
        self.progress: StreamingProgress = create_streaming_progress(None, 0)
        self.written = 0

    def buffers(self, records: Iterable[Record]) -> Iterator[list[Record]]:
        """The records in lists of ``buffer_size``; progress is reported after each
        full list has been handled."""
        iterator = iter(records)
        while buffer := list(islice(iterator, self.buffer_size)):
            yield buffer
            self.written += len(buffer)
            if len(buffer) == self.buffer_size:
                self._update()
                if self.verbose and self.written % (self.buffer_size * 10) == 0:
                    self.say(f"Streaming progress: {format_progress_info(self.progress)}")
                if self.callback:
                    self.callback(self.progress, self.metadata)

    def _update(self) -> None:
        update_streaming_progress(self.progress, self.written, max(self.written - 1, 0))

    def finish(self) -> None:
        self._update()
        if self.verbose:
            info = format_progress_info(self.progress)
            self.say(f"Saved {self.written} augmentations to {self.filepath} ({info})")
        else:
            self.say(f"Saved {self.written} augmentations to {self.filepath}")
        if self.callback:
            self.callback(self.progress, self.metadata)

    def say(self, line: str) -> None:
        sys.stdout.write(line + "\n")


def save_augmentation_stream(
    param_generator: Iterable[Record],
    filepath: str,
    config: AugmentationConfig | None = None,
    include_stats: bool = True,
    buffer_size: int = 1000,
    verbose: bool = False,
    progress_callback: ProgressCallback | None = None,
) -> None:
    """Save a stream of records as JSON, ``buffer_size`` records at a time, with
    ``"streaming": true`` in the metadata.

    With ``include_stats`` the file has the count and statistics (computed online);
    without, ``num_samples`` is null and the records are written as they come.
    Raises :class:`~dpa.v02.PartialWriteError` (``samples_written``: records
    written before the failure) when the stream fails, and
    :class:`~dpa.v02.StreamingIOError` when the file cannot be written.
    """
    try:
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        save = _StreamSave(filepath, buffer_size, verbose, progress_callback, config)
        if verbose:
            save.say(f"Starting streaming save to {filepath}")
        if include_stats:
            _save_with_statistics(save, param_generator, config)
        else:
            _save_incrementally(save, param_generator, config)
        save.finish()
    except StreamingError:
        raise
    except OSError as exc:
        raise StreamingIOError(f"I/O error during streaming save: {exc}") from exc
    except Exception as exc:
        raise StreamingIOError(f"Unexpected error during streaming save: {exc}") from exc


def _save_with_statistics(
    save: _StreamSave, records: Iterable[Record], config: AugmentationConfig | None
) -> None:
    if save.verbose:
        save.say("Computing statistics from stream...")
    target = Path(save.filepath)
    try:
        running = engine.RunningStatistics()
        with tempfile.TemporaryFile("w+", encoding="utf-8", dir=target.parent) as body:
            separator = "\n"
            for buffer in save.buffers(records):
                running.update_records(buffer)
                body.write(separator + ",\n".join("    " + _nested(r, 2) for r in buffer))
                separator = ",\n"
            save.progress.estimated_total = save.written
            metadata = {
                "num_samples": save.written,
                "config": _config_dict(config),
                "streaming": True,
            }
            with _atomic_text(target) as handle:
                handle.write('{\n  "metadata": ' + _nested(metadata, 1) + ',\n  "augmentations": [')
                body.seek(0)
                shutil.copyfileobj(body, handle)
                handle.write("\n  ]" if save.written else "]")
                statistics = fill_empty(running.result())
                handle.write(',\n  "statistics": ' + _nested(statistics, 1) + "\n}")
    except Exception as exc:
        raise PartialWriteError(f"Failed to compute statistics and save: {exc}", 0) from exc


def _save_incrementally(
    save: _StreamSave, records: Iterable[Record], config: AugmentationConfig | None
) -> None:
    with _atomic_text(Path(save.filepath)) as handle:
        handle.write('{\n  "metadata": {\n    "num_samples": null,\n    "config": ')
        handle.write(json.dumps(_config_dict(config)))
        handle.write(',\n    "streaming": true\n  },\n  "augmentations": [\n')
        separator = ""
        try:
            for buffer in save.buffers(records):
                handle.write(separator + ",\n".join("    " + json.dumps(r) for r in buffer))
                separator = ",\n"
                handle.flush()
        except Exception as exc:
            raise PartialWriteError(f"Failed during streaming write: {exc}", save.written) from exc
        finally:
            with contextlib.suppress(StreamingError):
                safe_cleanup_generator(records)
        handle.write("\n  ]\n}\n")


def load_augmentation_stream(
    filepath: str,
    chunk_size: int = 1000,
    verbose: bool = False,
    progress_callback: ProgressCallback | None = None,
) -> Iterator[Any]:
    """The records of a JSON file, in lists of ``chunk_size`` (one at a time for
    ``chunk_size <= 1``). The file is read on the first ``next``.

    Raises FileNotFoundError (``Augmentation file not found: ...``) and
    :class:`~dpa.v02.StreamingIOError` (``Invalid JSON in ...``, ``missing
    'augmentations' key``, a record that is not a dict).
    """
    records = _read_records(filepath)
    total = len(records)
    progress = create_streaming_progress(total, 0)
    metadata = create_streaming_metadata(total, chunk_size=max(chunk_size, 1))
    sys.stdout.write(f"Loading {total} augmentations from {filepath}\n")
    size = max(chunk_size, 1)
    report_every = max(1, total // 20) if size == 1 else size * 10
    try:
        for start in range(0, total, size):
            chunk = records[start : start + size]
            for index, record in enumerate(chunk, start):
                if not isinstance(record, dict):
                    raise StreamingIOError(
                        f"Invalid parameter format at index {index}: "
                        f"expected dict, got {type(record)}"
                    )
            done = start + len(chunk)
            update_streaming_progress(progress, done, done - 1)
            if verbose and total > 100 and done % report_every == 0:
                sys.stdout.write(f"Loading progress: {format_progress_info(progress)}\n")
            if progress_callback:
                progress_callback(progress, metadata)
            yield chunk[0] if chunk_size <= 1 else chunk
    except Exception as exc:
        raise StreamingIOError(f"Error during streaming load: {exc}") from exc
    if verbose:
        sys.stdout.write(f"Loading completed: {format_progress_info(progress)}\n")


def _read_records(filepath: str) -> list[Any]:
    if not Path(filepath).exists():
        raise FileNotFoundError(f"Augmentation file not found: {filepath}")
    try:
        with open(filepath, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise StreamingIOError(f"Invalid JSON in {filepath}: {exc}") from exc
    except OSError as exc:
        raise StreamingIOError(f"I/O error during streaming load: {exc}") from exc
    if not isinstance(data, dict) or "augmentations" not in data:
        raise StreamingIOError("Invalid augmentation file format: missing 'augmentations' key")
    records = data["augmentations"]
    if not isinstance(records, list):
        raise StreamingIOError("Invalid augmentation file format: 'augmentations' must be a list")
    return records


def recover_partial_write(
    filepath: str, expected_samples: int | None = None, verbose: bool = False
) -> dict[str, Any]:
    """What can be read from a file a save may have left unfinished (as v0.2's
    non-atomic saves could): ``recoverable``, ``samples_found`` (complete records),
    ``metadata`` and ``error``.

    Raises :class:`~dpa.v02.StreamingIOError` when the file cannot be read.
    """
    info: dict[str, Any] = {
        "recoverable": False,
        "samples_found": 0,
        "metadata": None,
        "error": None,
    }
    path = Path(filepath)
    if not path.exists():
        info["error"] = "File does not exist"
        return info

    def say(line: str) -> None:
        if verbose:
            sys.stdout.write(line + "\n")

    say(f"Attempting to recover partial write from {filepath}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        info["error"] = f"I/O error during recovery: {exc}"
        raise StreamingIOError(f"Cannot access file for recovery: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        say("File appears to be incomplete, attempting partial recovery")
        info["metadata"] = _value_after(text, '"metadata":')
        say("Successfully recovered metadata" if info["metadata"] else "Could not recover metadata")
        info["samples_found"] = _complete_records(text)
        info["recoverable"] = info["samples_found"] > 0
        say(f"Recovered {info['samples_found']} complete samples")
        if not info["recoverable"]:
            info["error"] = "No recoverable data found in file"
        return info
    info.update(recoverable=True, metadata=data.get("metadata", {}))
    info["samples_found"] = len(data.get("augmentations", []))
    say(f"File is complete with {info['samples_found']} samples")
    return info


_DECODER = json.JSONDecoder()


def _value_after(text: str, key: str) -> Any:
    """The JSON value that follows ``key`` in ``text``, or None."""
    at = text.find(key)
    if at < 0:
        return None
    start = len(text) - len(text[at + len(key) :].lstrip())
    try:
        return _DECODER.raw_decode(text, start)[0]
    except json.JSONDecodeError:
        return None


def _complete_records(text: str) -> int:
    """How many complete values the ``"augmentations"`` array of ``text`` holds."""
    at = text.find('"augmentations": [')
    if at < 0:
        return 0
    position, count = at + len('"augmentations": ['), 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            _, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            return count
        count += 1


def resume_streaming_save(
    param_generator: Iterable[Record],
    filepath: str,
    resume_from_sample: int = 0,
    config: AugmentationConfig | None = None,
    include_stats: bool = True,
    buffer_size: int = 1000,
    verbose: bool = False,
) -> None:
    """:func:`save_augmentation_stream` of the stream less its first
    ``resume_from_sample`` records. A failure is raised as
    :class:`~dpa.v02.PartialWriteError`.
    """
    check_non_negative(resume_from_sample, "resume_from_sample")
    if verbose:
        sys.stdout.write(f"Resuming streaming save from sample {resume_from_sample}\n")
        if resume_from_sample > 0:
            sys.stdout.write(f"Skipping first {resume_from_sample} samples\n")
    iterator = iter(param_generator)
    skipped = 0
    try:
        skipped = sum(1 for _ in islice(iterator, resume_from_sample))
        save_augmentation_stream(iterator, filepath, config, include_stats, buffer_size, verbose)
    except Exception as exc:
        raise PartialWriteError(
            f"Failed to resume streaming save from sample {resume_from_sample}: {exc}", skipped
        ) from exc
