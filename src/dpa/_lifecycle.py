"""How every file dpa writes gets into place: whole or not at all, resumable on demand.

A new file is written under a unique hidden name beside its target
(:func:`unique_temporary`), flushed to disk, and renamed over the target only when
complete; then the folder is flushed too, so that the rename survives a power cut.
On an error the temporary file is removed and the target keeps what it held.
:func:`write_atomic` does all of this for a small file held in memory (manifests,
plots, benchmark results); :class:`PendingFile` does it for a file written piece by
piece (:class:`dpa._io.AugmentationWriter`).

A resumable output keeps its progress beside the target, in
``.NAME.dpa-partial`` (:func:`partial_path`): a file, or a folder, held under an
exclusive lock (:func:`hold_lock`) so that two runs never write it at once, and
kept when a run stops so that a later one continues it. The lock is ``flock`` on
POSIX and ``msvcrt.locking`` on Windows.

Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> pending = PendingFile(target)
    >>> pending.open().write(b"complete")
    8
    >>> pending.commit()
    >>> pending.release(discard=True)
    >>> target.read_bytes(), sorted(p.name for p in target.parent.iterdir())
    (b'complete', ['out.txt'])
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NoReturn

__all__ = [
    "PendingFile",
    "atomic_file",
    "fsync_dir",
    "fsync_file",
    "hold_lock",
    "partial_path",
    "raise_naming",
    "unique_temporary",
    "write_atomic",
]

_PARTIAL_SUFFIX = ".dpa-partial"

if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        """Lock the first byte of ``handle``'s file for this handle alone."""
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        """Take the exclusive ``flock`` of ``handle``'s file, without waiting."""
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where an interrupted resumable write of ``path`` keeps its progress.

    Example:
        >>> partial_path("out/params.jsonl").as_posix()
        'out/.params.jsonl.dpa-partial'
    """
    target = Path(path)
    return target.with_name(f".{target.name}{_PARTIAL_SUFFIX}")


def unique_temporary(path: Path) -> Path:
    """A new empty file beside ``path`` with a unique hidden name, created like any
    new file (mode 0o666 less the umask, unlike mkstemp's 0o600).

    Example:
        >>> import tempfile
        >>> scratch = unique_temporary(Path(tempfile.mkdtemp()) / "out.json")
        >>> scratch.name.startswith(".out.json."), scratch.suffix, scratch.stat().st_size
        (True, '.tmp', 0)
    """
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except BaseException:  # Ctrl-C just after the file was made: no stray file
            candidate.unlink(missing_ok=True)
            raise
        return candidate


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system allows."""
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def hold_lock(path: Path, what: Path) -> IO[bytes]:
    """Open ``path`` for update (creating it) and hold an exclusive lock on it until
    the returned handle is closed; RuntimeError naming ``what`` when another process
    holds it.

    The handle reads and writes without O_APPEND, so a header can be rewritten in
    place.

    Example:
        >>> import tempfile
        >>> lock_file = Path(tempfile.mkdtemp()) / "lock"
        >>> with hold_lock(lock_file, lock_file):
        ...     hold_lock(lock_file, lock_file)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        RuntimeError: ...lock: another process is writing this output
    """
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
    try:
        locked = _try_lock(handle)
    except BaseException:
        handle.close()
        raise
    if not locked:
        handle.close()
        raise RuntimeError(f"{what}: another process is writing this output")
    return handle


def raise_naming(exc: BaseException, path: Path) -> NoReturn:
    """Raise ``exc`` again; an OSError that names no file (a failed write or fsync of
    an open file: ENOSPC, EFBIG, EIO) as one of the same errno that names ``path``.

    Example:
        >>> import errno
        >>> raise_naming(OSError(errno.ENOSPC, "No space left on device"), Path("out.json"))
        Traceback (most recent call last):
        OSError: [Errno 28] No space left on device: 'out.json'
    """
    if isinstance(exc, OSError) and exc.filename is None:
        if exc.errno is not None:
            raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
        raise OSError(f"{path}: {exc}") from exc
    raise exc


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing (:func:`atomic_file`).

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomic(target, b"done")
        >>> target.read_bytes()
        b'done'
    """
    with atomic_file(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A new file that replaces ``path`` when the block ends without error: written
    to a unique temporary file in the same folder, flushed to disk, renamed over
    ``path``, the folder flushed. On any failure the temporary file is removed and
    ``path`` is left as it was.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "lines.txt"
        >>> with atomic_file(target) as handle:
        ...     _ = handle.write(b"a\\nb\\n")
        >>> target.read_bytes()
        b'a\\nb\\n'
    """
    pending = PendingFile(Path(path))
    try:
        yield pending.open()
        pending.commit()
    finally:
        pending.release(discard=True)  # after a commit the temporary is gone already


class PendingFile:
    """A file on its way to ``target``, written at :attr:`path` until complete.

    A fresh one is a unique temporary file beside the target (:func:`unique_temporary`);
    a ``resumable`` one is :func:`partial_path`, locked by this process (with
    ``folder``, a folder of pieces locked through its ``lock`` file). :meth:`commit`
    renames the complete file into place; :meth:`release` closes what this object
    opened and removes the temporary files, and with ``discard`` :attr:`path` too
    (so a resumable writer that stops keeps its progress by not discarding).
    """

    def __init__(self, target: Path, *, resumable: bool = False, folder: bool = False) -> None:
        self.target = target
        self.resumable = resumable
        self._handle: IO[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self._scratches: list[Path] = []
        if not resumable:
            self.path = unique_temporary(target)
            return
        self.path = partial_path(target)
        if folder:
            self.path.mkdir(exist_ok=True)
            self._lock = hold_lock(self.path / "lock", self.path)
        else:
            self._lock = self._handle = hold_lock(self.path, self.path)

    def open(self) -> IO[bytes]:
        """:attr:`path` open for writing: a resumable file's locked handle (at its
        start, nothing cut), a fresh file's new handle. Closed by :meth:`release`."""
        if self._handle is None:
            self._handle = open(self.path, "wb")  # noqa: SIM115 - closed by release()
        self._handle.seek(0)
        return self._handle

    def scratch(self) -> Path:
        """One more unique temporary file beside the target (to assemble a resumable
        output's pieces in), removed by :meth:`release` unless committed."""
        path = unique_temporary(self.target)
        self._scratches.append(path)
        return path

    def commit(self, complete: Path | None = None) -> None:
        """Flush ``complete`` (default :attr:`path`) to disk, rename it over the
        target, and flush the folder."""
        source = self.path if complete is None else complete
        if source == self.path and self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        else:
            fsync_file(source)
        os.replace(source, self.target)
        fsync_dir(self.target.parent)

    def release(self, *, discard: bool) -> None:
        """Close the handle and lock; remove the scratch files, and :attr:`path` when
        ``discard``. Safe to call more than once."""
        for handle in (self._handle, self._lock):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._handle = self._lock = None
        for scratch in self._scratches:
            with contextlib.suppress(OSError):
                scratch.unlink(missing_ok=True)
        self._scratches.clear()
        if discard:
            if self.path.is_dir():
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                self.path.unlink(missing_ok=True)
