"""Hostile files and paths (issue 17, the file layer): what stands where dpa writes,
what a partial output holds, a second run at the wrong moment, signals, malformed
files.

Each test here failed before its fix. The data-loss ones use real symbolic links,
device nodes, FIFOs and sockets, and a real second process, made to meet the first
at the moment that matters by a hook (never by sleeping and hoping):

- nothing is written, emptied or removed through a link planted at a name dpa uses
  (the partial output, its folder, the files in it, the temporary files), nor in a
  partial another user owns; such a partial is refused with a message, left as is;
- an output that is a device, a FIFO or a socket is refused, never replaced;
- a run that finishes never removes the partial output of a run that started
  meanwhile, and a run never takes a finished output for its partial;
- a resumed run recomputes what the partial holds and keeps only what matches;
- the JSON reader is linear in the length of one value; deep nesting is a
  DPAFileError naming the file;
- SIGTERM is handled as Ctrl-C (exit 143); the messages say what happened.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dpa
from dpa import AugmentationWriter, DPAFileError, generate_batch, verify_augmentation_file
from dpa._cli import main
from dpa._formats.json import JsonScanner
from dpa._io import partial_path, write_range
from dpa._lifecycle import PendingFile, UnsafePathError, write_atomic

#: The contents of files that are not dpa's, which must come through untouched.
PRECIOUS = b"not dpa's: must stay as it is\n"
FORMATS = ["json", "jsonl", "parquet"]
RESUMABLE = ["jsonl", "parquet"]


def child_env() -> dict[str, str]:
    """This environment without a launcher's rank variables (one process)."""
    prefixes = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_", "OMPI_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str]:
    """``dpa ARGV`` in this process: its exit status and stderr."""
    code = main([str(arg) for arg in argv])
    return code, capsys.readouterr().err


def one_line(err: str, *words: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


class Stop(Exception):
    """What stops a run in these tests (as a preemption would)."""


def stop_after(batches: int) -> Callable[[int], None]:
    """A progress callback that stops the run after ``batches`` batches."""
    done = {"n": 0}

    def progress(count: int) -> None:
        done["n"] += 1
        if done["n"] == batches:
            raise Stop

    return progress


def interrupted(target: Path, fmt: str, n: int = 1000, batch: int = 100, after: int = 3) -> Path:
    """A resumable run of ``n`` records stopped after ``after`` batches; its partial."""
    with pytest.raises(Stop):
        write_range(target, 0, n, format=fmt, batch_size=batch, resumable=True,
                    progress=stop_after(after))  # fmt: skip
    assert partial_path(target).exists()
    return partial_path(target)


def snapshot(folder: Path) -> dict[str, Any]:
    """Every entry under ``folder``: a link's target, a file's bytes, a folder."""
    found: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_file():
            found[name] = path.read_bytes()
        else:
            found[name] = stat.S_IFMT(path.lstat().st_mode)
    return found


# --------------------------------------------------------------------------- 1. links


def plant_link(partial: Path, fmt: str, elsewhere: Path) -> Path:
    """A link at the partial name to something not dpa's: a file (JSON Lines) or a
    folder holding files, one named as a part would be (Parquet); its target."""
    elsewhere.mkdir()
    if fmt == "jsonl":
        victim = elsewhere / "victim.txt"
        victim.write_bytes(PRECIOUS)
    else:
        victim = elsewhere / "victim"
        victim.mkdir()
        (victim / "notes.txt").write_bytes(PRECIOUS)
        (victim / "part-000000.parquet").write_bytes(PRECIOUS)
    partial.symlink_to(victim)
    return victim


@pytest.mark.parametrize("resume", [False, True], ids=["fresh", "resume"])
@pytest.mark.parametrize("fmt", RESUMABLE)
def test_a_link_at_the_partial_name_is_refused_never_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, resume: bool
) -> None:
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    target = run_folder / f"out.{fmt}"
    plant_link(partial_path(target), fmt, tmp_path / "elsewhere")
    before = snapshot(tmp_path)
    code, err = run(capsys, "generate", "-n", 500, "-q", "-o", target, *(["--resume"] * resume))
    assert code == 2
    one_line(err, "dpa: error: ", partial_path(target).name, "symbolic link", "remove it")
    assert "--resume" not in err  # not a partial to continue
    with pytest.raises(UnsafePathError, match="symbolic link"):
        write_range(target, 0, 500, format=fmt, resumable=True, resume=resume)
    assert snapshot(tmp_path) == before  # the link, its target and its files as they were


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_a_link_inside_the_partial_folder_or_a_hard_link_is_refused(
    tmp_path: Path, fmt: str
) -> None:
    """A part of a Parquet partial that is a link, a JSON Lines partial with another
    hard link (to a file dpa would then truncate)."""
    target = tmp_path / f"out.{fmt}"
    partial = interrupted(target, fmt)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    if fmt == "parquet":
        part = partial / "part-000001.parquet"
        part.unlink()
        part.symlink_to(victim)
        problem = "symbolic link"
    else:
        partial.unlink()
        os.link(victim, partial)
        problem = "2 hard links"
    for resume in (False, True):
        with pytest.raises(UnsafePathError, match=problem):
            write_range(target, 0, 1000, format=fmt, resumable=True, resume=resume)
    assert victim.read_bytes() == PRECIOUS
    assert not target.exists()


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_a_partial_folder_or_file_of_another_user_is_refused(tmp_path: Path, fmt: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    target = tmp_path / f"out.{fmt}"
    partial = interrupted(target, fmt)
    os.chown(partial, 12345, 12345)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafePathError, match="belongs to another user"):
        write_range(target, 0, 1000, format=fmt, resumable=True)
    assert snapshot(tmp_path) == before


def test_a_partial_folder_holding_files_dpa_does_not_write_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.parquet"
    partial = interrupted(target, "parquet")
    (partial / "notes.txt").write_bytes(PRECIOUS)
    before = snapshot(tmp_path)
    code, err = run(capsys, "generate", "-n", 1000, "-q", "-o", target)
    assert code == 2
    one_line(err, "holds files dpa does not write there (notes.txt)")
    assert snapshot(tmp_path) == before


def test_a_fifo_at_the_partial_name_is_refused_without_waiting(tmp_path: Path) -> None:
    """Opening a FIFO waits for a writer: dpa must not open it at all (a process,
    so that a hang fails the test rather than the suite)."""
    target = tmp_path / "out.jsonl"
    os.mkfifo(partial_path(target))
    done = subprocess.run(
        [sys.executable, "-m", "dpa", "generate", "-n", "10", "-q", "-o", str(target)],
        capture_output=True, text=True, env=child_env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    one_line(done.stderr, "is a FIFO")
    assert stat.S_ISFIFO(os.lstat(partial_path(target)).st_mode)


def test_a_link_at_a_temporary_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary names are random, but were one guessed (here: the first one
    drawn), the file is created exclusively: a new name is drawn."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    target = tmp_path / "note.json"
    guessed = target.with_name(f".{target.name}.{'0' * 12}.tmp")
    guessed.symlink_to(victim)
    draws = iter(["0" * 12, "1" * 12])
    monkeypatch.setattr("dpa._lifecycle.secrets.token_hex", lambda size: next(draws))
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert victim.read_bytes() == PRECIOUS and guessed.is_symlink()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_temporary_file_swapped_for_a_link_is_not_renamed_into_place(
    tmp_path: Path, fmt: str
) -> None:
    """Someone who can write in the folder replaces the file being written with a
    link: the writer neither writes through it nor renames it over the output."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    target = tmp_path / f"out.{fmt}"
    writer = AugmentationWriter(target, format=fmt)
    writer.write(generate_batch(range(100)))
    os.unlink(writer.tmp_path)
    writer.tmp_path.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="no longer the file this run wrote"):
        writer.close()
    assert victim.read_bytes() == PRECIOUS
    assert not target.exists() and not os.path.lexists(writer.tmp_path)


def test_a_shard_folder_manifest_is_written_through_a_new_file(tmp_path: Path) -> None:
    """The manifest's old scratch name (``._manifest.json.PID.tmp``) holds a link:
    nothing is written through it."""
    folder = tmp_path / "shards"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PRECIOUS)
    (folder / f"._manifest.json.{os.getpid()}.tmp").symlink_to(victim)
    assert main(["generate", "-n", "20", "--distributed", "--format", "jsonl", "-q",
                 "-o", str(folder)]) == 0  # fmt: skip
    assert victim.read_bytes() == PRECIOUS
    assert main(["verify", "-q", str(folder)]) == 0


# --------------------------------------------------------------------------- 2. outputs


def make_node(path: Path, kind: str) -> socket.socket | None:
    """A FIFO, a character device (``mknod c 1 3``: what /dev/null is) or a socket
    (its listening socket returned, to close) at ``path``; skipped where it cannot
    be made."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("only root can make a device node")
    else:
        listener = socket.socket(socket.AF_UNIX)
        try:
            listener.bind(str(path))
        except OSError as exc:  # a path too long for a socket
            listener.close()
            pytest.skip(f"cannot bind a socket here: {exc}")
        return listener
    return None


NODES = {"fifo": stat.S_ISFIFO, "chardev": stat.S_ISCHR, "socket": stat.S_ISSOCK}
NODE_WORDS = {"fifo": "a FIFO", "chardev": "a character device", "socket": "a socket"}


@pytest.mark.parametrize("via_link", [False, True], ids=["node", "link"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", sorted(NODES))
def test_an_output_that_is_not_a_regular_file_is_refused_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, fmt: str, via_link: bool
) -> None:
    node = tmp_path / "node"
    listener = make_node(node, kind)
    output = node
    if via_link:
        output = tmp_path / "link"
        output.symlink_to(node)
    try:
        code, err = run(capsys, "generate", "-n", 10, "-q", "--format", fmt, "-o", output)
        assert code == 2
        one_line(err, "dpa: error: ", str(output), NODE_WORDS[kind], "not a regular file")
        with pytest.raises(OSError, match=f"{NODE_WORDS[kind]}, not a regular file"):
            AugmentationWriter(output, format=fmt)
        with pytest.raises(OSError, match=NODE_WORDS[kind]):
            write_range(output, 0, 10, format=fmt, resumable=fmt != "json")
        with pytest.raises(OSError, match=NODE_WORDS[kind]):
            write_atomic(output, b"x")
        assert NODES[kind](os.stat(output).st_mode)  # still what it was
        assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "node"][not via_link :]
    finally:
        if listener is not None:
            listener.close()


def test_merge_into_a_fifo_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "shards"
    assert main(["generate", "-n", "10", "--distributed", "--format", "jsonl", "-q",
                 "-o", str(folder)]) == 0  # fmt: skip
    os.mkfifo(tmp_path / "merged")
    code, err = run(capsys, "merge", folder, "--format", "jsonl", "-q", "-o", tmp_path / "merged")
    assert code == 2
    one_line(err, "a FIFO")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "merged").st_mode)


# --------------------------------------------------------------------------- 5. the end-of-run race

#: A second run, in its own process: holds the partial of argv[1] (a file, or with
#: argv[4] "folder" a folder), and with argv[2] "wait-before-lock" stops between
#: opening it and locking it; says so on stdout, waits for a line on stdin; writes
#: b"second run" in it and commits it (argv[3] "commit") or keeps it.
SECOND_RUN = """
import sys
from pathlib import Path
import dpa._lifecycle as lifecycle

target, when, end, kind = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
real_lock = lifecycle._try_lock

def lock_when_told(handle):
    print("opened", flush=True)
    sys.stdin.readline()
    return real_lock(handle)

if when == "wait-before-lock":
    lifecycle._try_lock = lock_when_told
pending = lifecycle.PendingFile(target, resumable=True, folder=kind == "folder")
if kind == "folder":
    (pending.path / "metadata.json").write_bytes(b"second run")
else:
    handle = pending.open()
    handle.truncate()
    handle.write(b"second run")
    handle.flush()
if when != "wait-before-lock":
    print("held", flush=True)
    sys.stdin.readline()
if end == "commit":
    pending.commit()
pending.release(discard=end == "commit")
print("done", flush=True)
"""


def second_run(target: Path, when: str, end: str, kind: str = "file") -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SECOND_RUN, str(target), when, end, kind],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_env(),
    )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    if line not in ("held\n", "opened\n"):
        child.kill()
        raise AssertionError(f"the second run did not start: {line!r} {child.communicate()}")
    return child


def finish(child: subprocess.Popen[str]) -> str:
    out, err = child.communicate("go\n", timeout=120)
    assert child.returncode == 0, err
    return out


def test_a_finishing_run_never_removes_the_partial_of_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run has renamed its partial into place; before it lets go, a second
    run creates and locks a new partial (a hook at the folder's fsync, which comes
    right after the rename). The first must not remove it."""
    from dpa import _lifecycle

    target = tmp_path / "out.jsonl"
    children: list[subprocess.Popen[str]] = []
    real_fsync_dir = _lifecycle.fsync_dir

    def second_run_starts(folder: Path) -> None:
        real_fsync_dir(folder)
        if not children:
            children.append(second_run(target, "now", "commit"))

    monkeypatch.setattr(_lifecycle, "fsync_dir", second_run_starts)
    write_range(target, 0, 100, format="jsonl", resumable=True)
    monkeypatch.undo()
    assert verify_augmentation_file(target).ok  # the first run's output, complete
    assert partial_path(target).read_bytes() == b"second run"  # the second's, kept
    finish(children[0])
    assert target.read_bytes() == b"second run"


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_a_run_that_opened_a_partial_just_renamed_does_not_take_the_output_for_it(
    tmp_path: Path, fmt: str
) -> None:
    """The second run opened the partial (JSON Lines: the file; Parquet: its lock)
    before the first renamed it into place, and gets the lock after the first let
    go: it must start a partial of its own, not truncate the finished output."""
    target = tmp_path / f"out.{fmt}"
    writer = AugmentationWriter(target, format=fmt, resumable=True, extra_metadata={"start_id": 0})
    writer.write(generate_batch(range(100)))
    kind = "folder" if fmt == "parquet" else "file"
    child = second_run(target, "wait-before-lock", "keep", kind)
    writer.close()
    finish(child)
    assert verify_augmentation_file(target).ok
    assert dpa.read_augmentation_file(target).num_samples == 100
    kept = partial_path(target) / "metadata.json" if kind == "folder" else partial_path(target)
    assert kept.read_bytes() == b"second run"  # a partial of its own


def test_a_lock_file_renamed_between_open_and_lock_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hold_lock locks the file its path names once held: one renamed away
    meanwhile (the first run finishing) is let go, and a new one made."""
    from dpa import _lifecycle

    path = tmp_path / "lock"
    moved = tmp_path / "moved"
    real_lock = _lifecycle._try_lock
    calls = {"n": 0}

    def rename_first(handle: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            os.rename(path, moved)
        return real_lock(handle)

    path.write_bytes(b"")
    monkeypatch.setattr(_lifecycle, "_try_lock", rename_first)
    handle = _lifecycle.hold_lock(path, path)
    assert calls["n"] == 2
    assert os.fstat(handle.fileno()).st_ino == path.stat().st_ino != moved.stat().st_ino
    handle.close()


# --------------------------------------------------------------------------- 7. resume recomputes


def edit_partial(partial: Path, fmt: str, record: int) -> None:
    """Change the rotation of ``record`` in a partial output to another valid value."""
    if fmt == "jsonl":
        lines = partial.read_bytes().split(b"\n")
        line = json.loads(lines[1 + record])
        line["rotation"] = 0.5 if line["rotation"] != 0.5 else 0.25
        lines[1 + record] = json.dumps(line).encode()
        partial.write_bytes(b"\n".join(lines))
        return
    part = partial / f"part-{record // 100:06d}.parquet"
    table = pq.read_table(part)
    rotation = table.column("rotation").to_pylist()
    rotation[record % 100] = 0.5
    table = table.set_column(1, "rotation", pa.array(rotation, pa.float64()))
    pq.write_table(table, part)


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_recomputes_the_records_kept(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    partial = interrupted(target, fmt)
    edit_partial(partial, fmt, 150)
    writer = write_range(target, 0, 1000, format=fmt, batch_size=100, resume=True)
    assert writer.resumed_count == 150  # cut at the edited record
    assert writer.statistics.count == 1000
    assert dpa.load_augmentation_chain(target) == generate_batch(range(1000)).to_dicts()
    assert verify_augmentation_file(target).ok


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_generate_resume_does_not_keep_an_edited_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    edit_partial(interrupted(target, fmt), fmt, 0)
    code, err = run(capsys, "generate", "-n", 1000, "--batch-size", 100, "-o", target, "--resume")
    assert code == 0, err
    assert "resumed" not in err  # nothing kept: the first record was edited
    assert dpa.load_augmentation_chain(target)[0]["rotation"] != 0.5
    assert main(["verify", "-q", str(target)]) == 0


def test_resume_refuses_a_partial_whose_count_was_edited(tmp_path: Path) -> None:
    """The header's count is rewritten in place at the end: a header whose count
    field is not the width dpa wrote would be overwritten past it."""
    target = tmp_path / "out.jsonl"
    partial = interrupted(target, "jsonl")
    partial.write_bytes(re.sub(rb'"num_samples": +0', b'"num_samples": 0', partial.read_bytes()))
    with pytest.raises(ValueError, match="no readable header"):
        write_range(target, 0, 1000, format="jsonl", resume=True)
    write_range(target, 0, 1000, format="jsonl", resumable=True)  # starting over works
    assert verify_augmentation_file(target).ok


# --------------------------------------------------------------------------- 14. linear JSON


def parse_work(monkeypatch: pytest.MonkeyPatch, length: int) -> int:
    """Characters the JSON decoder is handed to read one string of ``length``."""
    work = {"chars": 0}
    real = json.JSONDecoder.raw_decode

    def counted(self: json.JSONDecoder, text: str, index: int = 0) -> tuple[Any, int]:
        work["chars"] += len(text) - index
        return real(self, text, index)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counted)
    scanner = JsonScanner(io.StringIO('{"note": "' + "a" * length + '"}'), Path("x.json"))
    scanner.expect("{")
    assert scanner.value() == "note"
    scanner.expect(":")
    assert len(scanner.value()) == length
    monkeypatch.undo()
    return work["chars"]


def test_the_json_reader_is_linear_in_the_length_of_one_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small, large = parse_work(monkeypatch, 4 << 20), parse_work(monkeypatch, 16 << 20)
    assert large / small < 6  # linear: about 4; re-parsing every MiB: about 16
    assert large < 3 * (16 << 20)


# --------------------------------------------------------------------------- 16. deep nesting

DEEP = "[" * 200_000 + "]" * 200_000


def deeply_nested(folder: Path, where: str) -> Path:
    """A dpa file with a value nested 200,000 levels deep at ``where``."""
    fmt = where.split()[0]
    path = folder / f"deep.{fmt}"
    dpa.save_augmentation_chain(generate_batch(range(5)), path)
    if fmt == "parquet":
        kv = {
            k: v for k, v in pq.ParquetFile(path).metadata.metadata.items() if k != b"ARROW:schema"
        }
        key = b"dpa.metadata" if "metadata" in where else b"dpa.summary"
        kv[key] = b'{"config": ' + DEEP.encode() + b"}"
        pq.write_table(pq.read_table(path).replace_schema_metadata(kv), path)
        return path
    text = path.read_text()
    if "record" in where:
        text = text.replace('"rotation": ', f'"x": {DEEP}, "rotation": ', 3)
    else:
        text = text.replace('"config": ', f'"x": {DEEP}, "config": ', 1)
    path.write_text(text)
    return path


WHERE = ["json record", "json metadata", "jsonl record", "jsonl metadata", "parquet metadata",
         "parquet summary"]  # fmt: skip


@pytest.mark.parametrize("where", WHERE)
def test_deep_nesting_is_a_dpa_file_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    path = deeply_nested(tmp_path, where)
    with pytest.raises(DPAFileError, match="nested too deeply") as info:
        list(dpa.read_augmentation_file(path).iter_records())
    assert info.value.path == str(path)
    code, out = main(["verify", str(path)]), capsys.readouterr().out
    assert code == 1
    assert str(path) in out and "nested too deeply" in out and "recursion" not in out
    if where == "jsonl record":  # stats reads the end line's statistics, not the records
        assert main(["stats", str(path)]) == 0
        assert "statistics stored in the file" in capsys.readouterr().out
        return
    code, err = run(capsys, "stats", path)
    assert code == 2
    one_line(err, str(path), "nested too deeply")


@pytest.mark.parametrize("fmt", RESUMABLE)
def test_resume_over_a_deeply_nested_partial_header_says_so(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    partial = interrupted(target, fmt)
    header = partial / "metadata.json" if fmt == "parquet" else partial
    header.write_bytes(b'{"metadata": ' + DEEP.encode() + b"}\n")
    with pytest.raises(ValueError, match="no readable header"):
        write_range(target, 0, 1000, format=fmt, resume=True)


# --------------------------------------------------------------------------- 17. exit codes


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("damage", ["empty", "truncated", "nested", "random"])
def test_verify_exits_1_for_any_damage_of_any_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, damage: str
) -> None:
    path = tmp_path / f"out.{fmt}"
    dpa.save_augmentation_chain(generate_batch(range(50)), path)
    data = path.read_bytes()
    damaged = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "nested": data[:1] + b'"x": ' + DEEP.encode() + b", " + data[1:],
        "random": data[:1] + os.urandom(300),
    }[damage]
    if fmt == "parquet" and damage == "nested":
        damaged = deeply_nested(tmp_path, "parquet metadata").read_bytes()
    path.write_bytes(damaged)
    assert main(["verify", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing.json")]) == 2


# --------------------------------------------------------------------------- 18. signals, messages


@pytest.mark.integration
@pytest.mark.parametrize("fmt", FORMATS)
def test_sigterm_is_handled_as_ctrl_c(tmp_path: Path, fmt: str) -> None:
    """SIGTERM (``timeout``, Slurm, ``docker stop``) while the output grows: exit 143,
    one line, no temporary file; a resumable run's progress kept and continued.
    (More points and outputs: tests/test_crash.py.)"""
    target = tmp_path / f"out.{fmt}"
    child = subprocess.Popen(
        [sys.executable, "-m", "dpa", "generate", "-n", str(10**8), "--batch-size", "1000",
         "-o", str(target)],
        stderr=subprocess.PIPE, text=True, env=child_env(),
    )  # fmt: skip
    partial = partial_path(target)

    def grown() -> bool:
        if fmt == "parquet":
            return len(list(partial.glob("part-*.parquet"))) >= 2
        files = [partial] if fmt == "jsonl" else list(tmp_path.glob(".out.json.*.tmp"))
        return any(f.exists() and f.stat().st_size > 100_000 for f in files)

    try:
        while not grown():
            assert child.poll() is None, child.communicate()
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 143
    line = one_line(err, "dpa: terminated, ", f"{target} not written")
    assert ("--resume" in line) == (fmt != "json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ([partial.name] if fmt != "json" else [])


def test_a_second_run_is_refused_without_claiming_to_discard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    holder = PendingFile(target, resumable=True)  # a run writing this output now
    holder.open().write(b"in progress")
    code, err = run(capsys, "generate", "-n", 10, "-o", target)
    holder.release(discard=False)
    assert code == 2
    one_line(err, "another process is writing this output")
    assert "discard" not in err
    assert partial_path(target).read_bytes() == b"in progress"


def test_starting_over_says_so_once_it_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    interrupted(target, "jsonl")
    code, err = run(capsys, "generate", "-n", 100, "-o", target)
    assert code == 0
    assert "started over: the interrupted" in err and err.index("started over") < err.index("wrote")


def test_resuming_a_partial_of_another_format_does_not_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Parquet partial, resumed as JSON Lines: refused with advice that does not
    send the user back to --resume; without --resume the run starts over."""
    target = tmp_path / "out.parquet"
    interrupted(target, "parquet")
    code, err = run(capsys, "generate", "-n", 1000, "--format", "jsonl", "-o", target, "--resume")
    assert code == 2
    line = one_line(err, "another format", "without resuming")
    assert "run again with --resume" not in line
    code, err = run(capsys, "generate", "-n", 1000, "--format", "jsonl", "-q", "-o", target)
    assert code == 0, err
    assert dpa.read_augmentation_file(target).format == "jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    # and the reverse: a JSON Lines partial where a Parquet run keeps a folder
    target = tmp_path / "other.jsonl"
    interrupted(target, "jsonl")
    code, err = run(capsys, "generate", "-n", 1000, "--format", "parquet", "-o", target, "--resume")
    assert code == 2
    one_line(err, "another format")
    assert run(capsys, "generate", "-n", 1000, "--format", "parquet", "-q", "-o", target)[0] == 0
    assert not os.path.lexists(partial_path(target))


def test_a_brace_and_random_bytes_is_malformed_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "noise.json"
    path.write_bytes(b"{" + bytes(range(256)) * 4)
    with pytest.raises(DPAFileError, match="malformed JSON") as info:
        dpa.read_augmentation_file(path)
    assert "config" not in str(info.value)
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "malformed JSON" in out and "no config" not in out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_count_of_5000_digits_is_read_as_the_count_it_is(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"big.{fmt}"
    dpa.save_augmentation_chain(generate_batch(range(10)), path)
    text = re.sub(r'"num_samples": +10', '"num_samples": ' + "7" * 5000, path.read_text(), count=1)
    path.write_text(text)
    with pytest.raises(DPAFileError) as info:
        list(dpa.read_augmentation_file(path).iter_records())
    assert "malformed metadata line" not in info.value.problem
    assert (
        "declares <an int of" in info.value.problem or "disagree on the count" in info.value.problem
    )


def test_a_range_too_wide_is_refused_in_plain_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "show", "0", "--rotation", "-1e308", "1e308")
    assert code == 2
    line = one_line(err, "rotation_range", "(-1e+308, 1e+308)", "too wide")
    assert not re.search(r"\d{20}", line), line


@pytest.mark.parametrize("resumed", [False, True])
def test_parquet_ids_crossing_2_63_with_small_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], resumed: bool
) -> None:
    target = tmp_path / "big.parquet"
    start = 2**63 - 8
    if resumed:  # the first parts hold int64 ids, the later ones uint64
        with pytest.raises(Stop):
            write_range(target, start, start + 16, batch_size=4, resumable=True,
                        progress=stop_after(1))  # fmt: skip
    argv = ["generate", "-n", 16, "--start", start, "--batch-size", 4, "-q", "-o", target]
    code, err = run(capsys, *argv, *(["--resume"] * resumed))
    assert code == 0, err
    assert [r["sample_id"] for r in dpa.load_augmentation_chain(target)] == list(
        range(start, start + 16)
    )
    assert main(["verify", "-q", str(target)]) == 0
    # the API writer, given the range, sizes its id column too
    write_range(tmp_path / "api.parquet", start, start + 16, batch_size=4)
    assert verify_augmentation_file(tmp_path / "api.parquet").ok


# --------------------------------------------------------------------------- issue 16, item 6


def test_the_bar_names_the_join_of_the_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, err = run(
        capsys, "generate", "-n", 300, "--batch-size", 100, "-o", tmp_path / "o.parquet"
    )
    assert code == 0, err
    assert "joining the parts into o.parquet" in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_too_little_free_space_is_said_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    free = 10**6
    monkeypatch.setattr(
        "dpa._cli.files.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 0, free)
    )
    target = tmp_path / f"out.{fmt}"
    code, err = run(capsys, "generate", "-n", 10**6, "-o", target)
    assert code == 2
    one_line(err, str(target), "need at least", "1.0 MB free", "free some space")
    assert list(tmp_path.iterdir()) == []
    assert run(capsys, "generate", "-n", 1000, "-q", "-o", target)[0] == 0  # fits


def test_a_parquet_run_needs_room_for_its_parts_and_the_joined_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Room for the file alone is not enough: the parts stay until joined."""
    n = 10**6
    free = n * 80  # more than the joined file takes (about 72 bytes a record)
    monkeypatch.setattr(
        "dpa._cli.files.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 0, free)
    )
    code, err = run(capsys, "generate", "-n", n, "-o", tmp_path / "o.parquet")
    assert code == 2
    one_line(err, "its parts, then the joined file")


def test_an_unreadable_free_space_does_not_stop_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(path: Any) -> Any:
        raise OSError(errno.ENOSYS, "no statvfs here")

    monkeypatch.setattr("dpa._cli.files.shutil.disk_usage", unreadable)
    assert run(capsys, "generate", "-n", 10, "-q", "-o", tmp_path / "o.jsonl")[0] == 0


# --------------------------------------------------------------------------- beyond the list


def test_an_output_named_as_a_partial_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writing to another run's partial name would replace its progress under it."""
    target = tmp_path / "out.jsonl"
    partial = interrupted(target, "jsonl")
    before = partial.read_bytes()
    code, err = run(capsys, "generate", "-n", 10, "--format", "jsonl", "-o", partial)
    assert code == 2
    one_line(err, "partial output (out.jsonl)")
    assert partial.read_bytes() == before


def test_a_resume_refusal_quotes_a_huge_value_briefly(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    partial = interrupted(target, "jsonl")
    text = partial.read_bytes().replace(b'"start_id": 0', b'"start_id": ' + b"9" * 5000, 1)
    partial.write_bytes(text)
    with pytest.raises(ValueError, match="another start_id") as info:
        write_range(target, 0, 1000, format="jsonl", resume=True)
    assert len(str(info.value)) < 500


def test_white_space_between_values_is_skipped_in_linear_time(tmp_path: Path) -> None:
    """Megabytes of white space (a pretty-printer's, or an attacker's) read as such."""
    path = tmp_path / "spaced.json"
    dpa.save_augmentation_chain(generate_batch(range(3)), path)
    path.write_text(path.read_text().replace(",\n", "," + " \n\t\r" * (1 << 20), 1))
    assert dpa.load_augmentation_chain(path) == generate_batch(range(3)).to_dicts()


#: Read argv[1] through the API and `dpa stats`; print what each raised or returned.
READ_NODE = """
import sys
import dpa
from dpa._cli import main

try:
    dpa.read_augmentation_file(sys.argv[1])
except OSError as exc:
    print(type(exc).__name__, exc)
print("stats exit", main(["stats", sys.argv[1]]))
"""


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_reading_a_fifo_or_a_device_is_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    """Reading a FIFO waits for a writer, a device may never end: refused before
    anything is read (in a process, so that a hang fails the test, not the suite)."""
    node = tmp_path / "node.jsonl"
    make_node(node, kind)
    done = subprocess.run(
        [sys.executable, "-c", READ_NODE, str(node)],
        capture_output=True, text=True, env=child_env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"UnsafePathError {node}: is {NODE_WORDS[kind]}, not a regular file" in done.stdout
    assert "stats exit 2" in done.stdout
    one_line(done.stderr, NODE_WORDS[kind])


def test_a_huge_value_in_the_metadata_is_quoted_briefly(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    dpa.save_augmentation_chain(generate_batch(range(3)), path)
    huge = f'"rotation_range": "{"x" * 10**6}"'
    path.write_text(path.read_text().replace('"rotation_range": [-30, 30]', huge))
    with pytest.raises(DPAFileError, match="invalid config in metadata") as info:
        dpa.read_augmentation_file(path)
    assert len(str(info.value)) < 500
