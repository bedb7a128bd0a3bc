"""How every file dpa writes gets into place: whole or not at all, resumable on
demand, never through a link.

A new file is created exclusively (``O_EXCL``, never through a link) under a unique
hidden name beside its target (:func:`open_unique_temporary`), written through the
handle that created it, flushed to disk, and renamed over the target only when
complete; then the folder is flushed too, so that the rename survives a power cut.
On an error the temporary file is removed and the target keeps what it held. The
target must be absent or a regular file (:func:`check_replaceable`), never a device,
a FIFO or a socket. :func:`write_atomic` does all this for a small file in memory;
:class:`PendingFile` for a file written piece by piece (:mod:`dpa._io`).

A resumable output keeps its progress beside the target, in
``.NAME.dpa-partial`` (:func:`partial_path`): a file, or a folder, held under an
exclusive lock (:func:`hold_lock`) from the moment it is opened until it is renamed
into place or removed, so that two runs never write it at once and a run never
removes a partial it does not hold. What stands at that name and is not a partial
dpa made (a symbolic link, a device, a FIFO, another user's file, a file with other
hard links) is refused with :class:`UnsafePathError`, never followed or emptied.
The lock is ``flock`` on POSIX and ``msvcrt.locking`` on Windows.

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
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NoReturn

__all__ = [
    "PendingFile",
    "UnsafePathError",
    "atomic_file",
    "check_replaceable",
    "fsync_dir",
    "fsync_file",
    "hold_lock",
    "open_new",
    "open_regular",
    "open_unique_temporary",
    "partial_path",
    "raise_naming",
    "write_atomic",
]

_PARTIAL_SUFFIX = ".dpa-partial"
_LOCK_NAME = "lock"
#: What a partial folder holds: its lock, its metadata (and the temporary file that
#: is written through) and numbered pieces (``part-000001.parquet``, and
#: ``part-000001.writing`` while one is written). Anything else: not dpa's.
_FOLDER_ENTRIES = re.compile(
    r"(lock|metadata\.json|\.metadata\.json\.[0-9a-f]+\.tmp|part-[0-9]+\.[a-z]+)\Z"
)
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
    stat.S_IFREG: "a regular file",
}
_BINARY = getattr(os, "O_BINARY", 0)  # Windows
#: Flags of every open of a scratch file: never through a link (where the system
#: has the flag).
_NO_LINK = getattr(os, "O_NOFOLLOW", 0) | _BINARY
#: Opening what may be a FIFO: do not wait for a writer.
_NO_WAIT = getattr(os, "O_NONBLOCK", 0)
#: How often :func:`hold_lock` tries again when the file it locked was renamed or
#: removed in the meantime (another run finishing): only a path that keeps
#: changing under it takes them all.
_LOCK_TRIES = 100

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


class UnsafePathError(OSError):
    """A path dpa would write, replace or remove holds something dpa may not touch
    there: a symbolic link, a device, a FIFO, a socket, another user's file. It is
    left as it is; the message names it and says what to do."""


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where an interrupted resumable write of ``path`` keeps its progress.

    Example:
        >>> partial_path("out/params.jsonl").as_posix()
        'out/.params.jsonl.dpa-partial'
    """
    target = Path(path)
    return target.with_name(f".{target.name}{_PARTIAL_SUFFIX}")


def _kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words (``a FIFO``)."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def check_replaceable(path: Path) -> None:
    """Nothing when ``path`` is absent or a regular file (a link to one included):
    what dpa may replace with a new file. :class:`UnsafePathError` naming it when it
    is a device, a FIFO or a socket; IsADirectoryError for a folder.

    Example:
        >>> check_replaceable(Path("/dev/null"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        dpa._lifecycle.UnsafePathError: /dev/null: is a character device, not a regular file...
    """
    try:
        found = os.stat(path)
    except OSError:  # absent (or a broken link): a new file goes there
        return
    if stat.S_ISREG(found.st_mode):
        return
    if stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(f"{path}: is a folder, not a file")
    raise UnsafePathError(
        f"{path}: is {_kind(found.st_mode)}, not a regular file: dpa writes regular "
        "files only; give another output name"
    )


def open_regular(path: Path) -> IO[bytes]:
    """``path`` (a regular file, or a link to one) open for reading bytes;
    :class:`UnsafePathError` naming what else it is (a FIFO, on which reading would
    wait; a device, which might never end) before anything is read.

    Example:
        >>> open_regular(Path("/dev/zero"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        dpa._lifecycle.UnsafePathError: /dev/zero: is a character device, not a regular file...
    """
    fd = os.open(path, os.O_RDONLY | _BINARY | _NO_WAIT)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise UnsafePathError(f"{path}: is {_kind(mode)}, not a regular file: not a dpa file")
        if _NO_WAIT:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_new(path: Path) -> IO[bytes]:
    """A new file at ``path``, open for reading and writing: created exclusively
    (FileExistsError when anything, a link included, is there already), with mode
    0o666 less the umask."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NO_LINK, 0o666), "r+b")


def open_unique_temporary(path: Path) -> tuple[Path, IO[bytes]]:
    """A new empty file beside ``path`` with a unique hidden name, and its handle
    (:func:`open_new`: created like any new file, unlike mkstemp's 0o600).

    Example:
        >>> import tempfile
        >>> scratch, handle = open_unique_temporary(Path(tempfile.mkdtemp()) / "out.json")
        >>> scratch.name.startswith(".out.json."), scratch.suffix, handle.write(b"x")
        (True, '.tmp', 1)
        >>> handle.close()
    """
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            handle = open_new(candidate)
        except FileExistsError:
            continue
        except BaseException:  # Ctrl-C just after the file was made: no stray file
            with contextlib.suppress(OSError):
                os.unlink(candidate)
            raise
        return candidate, handle


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


def _refuse(path: Path, problem: str) -> NoReturn:
    raise UnsafePathError(
        f"{path}: {problem}, not a partial output dpa made; left as it is: remove it, "
        "or write to another output"
    )


def _check_own(path: Path, found: os.stat_result, *, folder: bool) -> None:
    """:class:`UnsafePathError` unless ``found`` (``path``'s lstat) is what dpa makes
    there: a regular file with one link (``folder``: a real folder), this user's."""
    wanted = stat.S_ISDIR if folder else stat.S_ISREG
    if not wanted(found.st_mode):
        _refuse(path, f"is {_kind(found.st_mode)}")
    if hasattr(os, "geteuid") and found.st_uid != os.geteuid():
        _refuse(path, f"belongs to another user (uid {found.st_uid})")
    if not folder and found.st_nlink != 1:
        _refuse(path, f"has {found.st_nlink} hard links")


def _same_file(path: Path, handle: IO[bytes]) -> bool:
    """Whether ``path`` still names the file open in ``handle`` (not renamed,
    removed or replaced since it was opened)."""
    try:
        there = os.lstat(path)
    except OSError:
        return False
    held = os.fstat(handle.fileno())
    return held.st_nlink > 0 and (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)


def _open_own_file(path: Path) -> tuple[IO[bytes], bool] | None:
    """``path`` open for update and whether it was there already: created
    exclusively, or an existing file checked (:func:`_check_own`) and opened without
    following a link. None when it vanished or changed meanwhile (try again)."""
    with contextlib.suppress(FileExistsError):
        return open_new(path), False
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    _check_own(path, found, folder=False)
    try:
        fd = os.open(path, os.O_RDWR | _NO_LINK | _NO_WAIT)
    except FileNotFoundError:
        return None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
        os.close(fd)
        return None
    if _NO_WAIT:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "r+b"), True


def hold_lock(path: Path, what: Path) -> IO[bytes]:
    """:func:`_hold_lock`'s handle."""
    return _hold_lock(path, what)[0]


def _hold_lock(path: Path, what: Path) -> tuple[IO[bytes], bool]:
    """Open ``path`` for update (creating it) and hold an exclusive lock on it until
    the returned handle is closed; also whether the file was there already.
    RuntimeError naming ``what`` when another process holds it;
    :class:`UnsafePathError` when ``path`` is not a file this user made (a link is
    never followed).

    The handle reads and writes without O_APPEND, so a header can be rewritten in
    place. The lock is taken on the file ``path`` names once it is held: a file
    renamed or removed between the open and the lock (a run finishing) is let go.

    Example:
        >>> import tempfile
        >>> lock_file = Path(tempfile.mkdtemp()) / "lock"
        >>> with hold_lock(lock_file, lock_file):
        ...     hold_lock(lock_file, lock_file)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        RuntimeError: ...lock: another process is writing this output
    """
    for _ in range(_LOCK_TRIES):
        opened = _open_own_file(path)
        if opened is None:
            continue
        handle, existed = opened
        try:
            locked = _try_lock(handle)
            if locked and not _same_file(path, handle):
                handle.close()
                continue
        except BaseException:
            handle.close()
            raise
        if not locked:
            handle.close()
            raise RuntimeError(f"{what}: another process is writing this output")
        return handle, existed
    raise RuntimeError(f"{what}: keeps changing while dpa opens it; is another run finishing?")


def _check_folder(path: Path) -> None:
    """:class:`UnsafePathError` unless ``path`` is a real folder of this user's
    holding only what dpa writes there (:data:`_FOLDER_ENTRIES`), each a regular
    file of this user's with one link."""
    _check_own(path, os.lstat(path), folder=True)
    with os.scandir(path) as entries:
        found = sorted(entries, key=lambda entry: entry.name)
    foreign = [entry.name for entry in found if not _FOLDER_ENTRIES.match(entry.name)]
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        _refuse(path, f"holds files dpa does not write there ({', '.join(foreign[:3])}{more})")
    for entry in found:
        _check_own(Path(entry.path), entry.stat(follow_symlinks=False), folder=False)


def _hold_folder(path: Path) -> tuple[IO[bytes], bool]:
    """The folder ``path`` (made, or an existing one checked by
    :func:`_check_folder`) locked through its lock file; whether it was there."""
    for _ in range(_LOCK_TRIES):
        try:
            os.mkdir(path)
            existed = False
        except FileExistsError:
            _check_folder(path)
            existed = True
        try:
            lock, _ = _hold_lock(path / _LOCK_NAME, path)
        except FileNotFoundError:  # removed meanwhile by the run that finished it
            continue
        try:
            _check_folder(path)  # still the folder checked, now that it is held
        except BaseException:
            lock.close()
            raise
        return lock, existed
    raise RuntimeError(f"{path}: keeps changing while dpa opens it; is another run finishing?")


def _remove_held(path: Path, lock: IO[bytes], *, folder: bool) -> None:
    """Remove the partial ``path`` while its ``lock`` is held, then let go of the
    lock: a run that opened it meanwhile finds it gone once it gets the lock, and
    starts its own. (Windows removes no open file: there the lock's own file goes
    just after it is let go.)"""
    try:
        held: Path | None = path
        if folder:
            with os.scandir(path) as entries:
                names = [entry.name for entry in entries if entry.name != _LOCK_NAME]
            for name in names:
                with contextlib.suppress(OSError):
                    os.unlink(path / name)
            held = path / _LOCK_NAME
        elif not _same_file(path, lock):
            held = None  # renamed or replaced since: not ours to remove
        if held is not None:
            try:
                os.unlink(held)
            except PermissionError:
                lock.close()
                with contextlib.suppress(OSError):
                    os.unlink(held)
        if folder:
            with contextlib.suppress(OSError):  # not empty: another run's new lock
                os.rmdir(path)
    finally:
        with contextlib.suppress(OSError):
            lock.close()


def raise_naming(exc: BaseException, path: Path) -> NoReturn:
    """Raise ``exc`` again; an OSError that names no file (a failed write or fsync of
    an open file: ENOSPC, EFBIG, EIO) as one of the same errno that names ``path``.

    Example:
        >>> import errno
        >>> raise_naming(OSError(errno.ENOSPC, "No space left on device"), Path("out.json"))
        Traceback (most recent call last):
        OSError: [Errno 28] No space left on device: 'out.json'
    """
    if isinstance(exc, OSError) and exc.filename is None and not isinstance(exc, UnsafePathError):
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
    """A file on its way to ``target`` (which must be absent or a regular file),
    written at :attr:`path` until complete.

    A fresh one is a unique temporary file beside the target
    (:func:`open_unique_temporary`); a ``resumable`` one is :func:`partial_path`,
    locked by this process (with ``folder``, a folder of pieces locked through its
    ``lock`` file), checked to be one dpa made (:class:`UnsafePathError` otherwise).
    A partial of the other kind (a file where a folder is wanted, or the reverse:
    another format's) is discarded with ``start_over``, else refused (ValueError).
    :meth:`commit` renames the complete file into place; :meth:`release` lets go
    of the rest (keeping a resumable :attr:`path` without ``discard``, so that a
    writer that stops keeps its progress).
    """

    def __init__(
        self,
        target: Path,
        *,
        resumable: bool = False,
        folder: bool = False,
        start_over: bool = False,
    ) -> None:
        check_replaceable(target)
        if target.name.startswith(".") and target.name.endswith(_PARTIAL_SUFFIX):
            raise ValueError(
                f"{target}: is the name of another output's partial output "
                f"({target.name[1 : -len(_PARTIAL_SUFFIX)]}); give another output name"
            )
        self.target = target
        self.resumable = resumable
        self.folder = folder and resumable
        #: Whether a partial output was there already (to continue or start over).
        self.existed = False
        self._handle: IO[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self._scratches: dict[Path, IO[bytes]] = {}
        self._committed: set[Path] = set()
        if not resumable:
            self.path, self._handle = open_unique_temporary(target)
            self._scratches[self.path] = self._handle
            return
        self.path = partial_path(target)
        self._other_kind(start_over)
        if self.folder:
            self._lock, self.existed = _hold_folder(self.path)
        else:
            self._handle, self.existed = _hold_lock(self.path, self.path)
            self._lock = self._handle

    def _other_kind(self, start_over: bool) -> None:
        """Discard (``start_over``) or refuse a partial of the other kind (a folder
        where a file is wanted, or the reverse); anything else is left to the
        checks of the holding."""
        try:
            found = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return
        is_folder = stat.S_ISDIR(found)
        if not (is_folder or stat.S_ISREG(found)) or is_folder == self.folder:
            return
        if not start_over:
            what = "a folder (Parquet parts)" if is_folder else "a file (JSON Lines)"
            raise ValueError(
                f"{self.path}: the interrupted output there is {what}, written in another "
                "format; resume it in that format, or run without resuming to start over"
            )
        if is_folder:
            lock, _ = _hold_folder(self.path)
        else:
            lock, _ = _hold_lock(self.path, self.path)
        _remove_held(self.path, lock, folder=is_folder)

    def open(self) -> IO[bytes]:
        """:attr:`path` open for writing, at its start (nothing cut): a resumable
        file's locked handle, a fresh file's. Closed by :meth:`release`."""
        if self._handle is None:
            raise ValueError(f"{self.path}: a folder of pieces has no handle to write")
        self._handle.seek(0)
        return self._handle

    def scratch(self) -> tuple[Path, IO[bytes]]:
        """One more unique temporary file beside the target (to assemble a resumable
        output's pieces in) and its handle, removed by :meth:`release` unless
        committed."""
        path, handle = open_unique_temporary(self.target)
        self._scratches[path] = handle
        return path, handle

    def commit(self, complete: Path | None = None) -> None:
        """Flush ``complete`` (default :attr:`path`) to disk, rename it over the
        target (still a regular file, or absent), and flush the folder."""
        source = self.path if complete is None else complete
        handle = self._scratches.get(source) or (self._handle if source == self.path else None)
        if handle is not None:
            handle.flush()
            os.fsync(handle.fileno())
            if not _same_file(source, handle):  # renamed, or replaced by a link
                raise UnsafePathError(
                    f"{source}: is no longer the file this run wrote; {self.target} is "
                    "left as it was"
                )
        else:
            fsync_file(source)
        check_replaceable(self.target)  # it may have become something else meanwhile
        os.replace(source, self.target)
        self._committed.add(source)
        fsync_dir(self.target.parent)

    def release(self, *, discard: bool) -> None:
        """Let go: remove the temporary files unless committed, and a resumable
        :attr:`path` with ``discard`` (while its lock is still held; never once
        committed); close the handles and the lock. Safe to call more than once."""
        lock, handles = self._lock, [self._handle, self._lock, *self._scratches.values()]
        self._handle = self._lock = None
        if lock is not None and discard and self.path not in self._committed:
            _remove_held(self.path, lock, folder=self.folder)
        for handle in handles:
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        for path in self._scratches:
            if path not in self._committed:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        self._scratches = {}
