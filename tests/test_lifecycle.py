"""How files get into place (dpa._lifecycle): unique temporary names, all-or-nothing
writes, the resumable partial and its lock, which works without fcntl (Windows).
The writers' use of it is tested in test_io.py and test_crash.py."""

from __future__ import annotations

import errno
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from dpa import _lifecycle
from dpa._lifecycle import (
    PendingFile,
    hold_lock,
    open_unique_temporary,
    partial_path,
    raise_naming,
    write_atomic,
)


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_partial_path() -> None:
    assert partial_path("a/b/out.jsonl") == Path("a/b/.out.jsonl.dpa-partial")


def test_temporary_names_are_unique_hidden_new_and_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        opened = [open_unique_temporary(tmp_path / "out.json") for _ in range(50)]
    finally:
        os.umask(old)
    for _, handle in opened:
        handle.close()
    made = {path for path, _ in opened}
    assert len(made) == 50
    for path in made:
        assert path.parent == tmp_path
        assert path.name.startswith(".out.json.") and path.suffix == ".tmp"
        assert path.stat().st_size == 0
        assert path.stat().st_mode & 0o777 == 0o644


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert names(tmp_path) == ["note.txt"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_write_atomic_failure_leaves_the_target_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "note.txt"
    target.write_bytes(b"before")

    def fail(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_lifecycle.os, failing, fail)
    with pytest.raises(OSError):
        write_atomic(target, b"after")
    monkeypatch.undo()
    assert target.read_bytes() == b"before"
    assert names(tmp_path) == ["note.txt"]


def test_a_lock_is_held_until_its_handle_closes(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    first = hold_lock(path, tmp_path / "out")
    with pytest.raises(RuntimeError, match=r"out: another process is writing this output"):
        hold_lock(path, tmp_path / "out")
    first.close()
    hold_lock(path, tmp_path / "out").close()


def test_pending_file_is_renamed_into_place_or_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    pending = PendingFile(target)
    pending.open().write(b"complete")
    pending.commit()
    pending.release(discard=True)
    assert target.read_bytes() == b"complete"
    assert names(tmp_path) == ["out.json"]
    dropped = PendingFile(target)
    dropped.open().write(b"half")
    dropped.release(discard=True)
    assert target.read_bytes() == b"complete"
    assert names(tmp_path) == ["out.json"]


def test_a_resumable_pending_file_is_kept_locked_and_continued(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    pending = PendingFile(target, resumable=True)
    assert pending.path == partial_path(target)
    pending.open().write(b"line 1\n")
    with pytest.raises(RuntimeError, match="another process"):
        PendingFile(target, resumable=True)
    pending.release(discard=False)  # stopped: the progress stays
    again = PendingFile(target, resumable=True)
    handle = again.open()
    assert handle.read() == b"line 1\n"  # at its start, nothing cut
    handle.write(b"line 2\n")
    again.commit()
    again.release(discard=True)
    assert target.read_bytes() == b"line 1\nline 2\n"
    assert names(tmp_path) == ["out.jsonl"]


def test_a_folder_partial_assembles_in_a_scratch_file(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    pending = PendingFile(target, resumable=True, folder=True)
    assert pending.path.is_dir() and (pending.path / "lock").exists()
    (pending.path / "part-0").write_bytes(b"piece")
    unused, _ = pending.scratch()
    assembled, handle = pending.scratch()
    handle.write((pending.path / "part-0").read_bytes())
    pending.commit(assembled)
    pending.release(discard=True)
    assert target.read_bytes() == b"piece"
    assert not unused.exists()
    assert names(tmp_path) == ["out.parquet"]


def test_scratch_files_go_even_when_the_partial_stays(tmp_path: Path) -> None:
    pending = PendingFile(tmp_path / "out.parquet", resumable=True, folder=True)
    scratch, _ = pending.scratch()
    pending.release(discard=False)
    assert not scratch.exists()
    assert names(tmp_path) == [".out.parquet.dpa-partial"]


def test_raise_naming_names_the_output_of_an_anonymous_os_error() -> None:
    with pytest.raises(OSError) as info:
        raise_naming(OSError(errno.EIO, "I/O error"), Path("out.json"))
    assert (info.value.errno, info.value.filename) == (errno.EIO, "out.json")
    named = FileNotFoundError(errno.ENOENT, "missing", "elsewhere")
    with pytest.raises(FileNotFoundError) as kept:
        raise_naming(named, Path("out.json"))
    assert kept.value is named


def test_the_lock_uses_msvcrt_where_there_is_no_fcntl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded as on Windows (no fcntl, an msvcrt), the module locks through msvcrt."""
    calls: list[tuple[int, int, int]] = []
    held: set[int] = set()

    def locking(fd: int, mode: int, nbytes: int) -> None:
        inode = os.fstat(fd).st_ino
        if inode in held:
            raise PermissionError(errno.EACCES, "locked")
        held.add(inode)
        calls.append((fd, mode, nbytes))

    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_NBLCK = 2  # type: ignore[attr-defined]
    msvcrt.locking = locking  # type: ignore[attr-defined]
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # importing it would fail
    spec = importlib.util.spec_from_file_location("lifecycle_on_windows", _lifecycle.__file__)
    assert spec is not None and spec.loader is not None
    windows = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(windows)
    assert not hasattr(windows, "fcntl")
    handle = windows.hold_lock(tmp_path / "lock", tmp_path)
    assert calls == [(handle.fileno(), 2, 1)]
    with pytest.raises(RuntimeError, match="another process"):
        windows.hold_lock(tmp_path / "lock", tmp_path)
    handle.close()
