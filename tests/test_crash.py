"""Crash safety of `dpa generate` and of the writers under it.

A run stopped by SIGKILL, SIGINT or SIGTERM at several points (its temporary output
just created, half written, complete and about to be renamed into place), or failing
on a full disk (a file-size limit, a full tmpfs, ENOSPC from a write or an fsync),
leaves at the output path either nothing (a fresh output) or the earlier complete
output, byte for byte, which `dpa verify` still passes. After SIGINT, SIGTERM or a
failed write the command says so in one line; JSON Lines and Parquet keep the
progress for ``--resume``, and a resumed run gives the exact, complete output.

A sharded output (``--distributed``, a folder) keeps each shard file whole the same
way, but a new run removes the earlier manifest first, so an interrupted folder never
looks complete: `dpa verify` fails on it until a run (or a ``--resume``) completes.
(`tests/test_cli.py` kills fresh runs with SIGKILL; this file adds the other cases.)
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dpa
from dpa import AugmentationWriter, generate_batch
from dpa._cli import main
from dpa._formats.json import JsonSink
from dpa._formats.jsonl import JsonLinesSink
from dpa._formats.parquet import ParquetPartsSink, ParquetSink
from dpa._io import partial_path, write_range
from dpa._shards import MANIFEST_NAME

DPA = [sys.executable, "-m", "dpa"]
BATCH = 1000
EARLIER_N = 300  # the earlier complete run at the same output
HUGE_N = 10**8  # a run that cannot end before the test stops it
RENAME_N = 3 * BATCH  # a run that reaches its final rename
FULL_N = 5 * BATCH  # more than a file may hold under FILE_LIMIT (or the tmpfs holds)
FILE_LIMIT = 150_000  # bytes: RLIMIT_FSIZE of the child; more than a Parquet part
FORMATS = ["json", "jsonl", "parquet", "shards"]  # shards: --distributed, Parquet shards
HANG = 300  # seconds: only a hung child takes this long

#: The `dpa` command, held (until a signal ends it) where it would rename its complete
#: output into place: argv[1] is that output, argv[2] a file it creates when held.
HELD_AT_RENAME = """
import os, sys, time
import dpa._lifecycle
from dpa._cli import main

held, marker = os.path.abspath(sys.argv[1]), sys.argv[2]

class HeldOS:
    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        if os.path.abspath(dst) == held:
            open(marker, "w").close()
            while True:
                time.sleep(3600)
        os.replace(src, dst)

dpa._lifecycle.os = HeldOS()
sys.exit(main(sys.argv[3:]))
"""


class Output:
    """A `dpa generate` output of one format in ``folder``."""

    def __init__(self, fmt: str, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        self.fmt, self.folder = fmt, folder
        self.sharded = fmt == "shards"
        #: What -o names: a file, or the folder of shards.
        self.target = folder / ("out" if self.sharded else f"out.{fmt}")
        #: The file the writer renames into place.
        self.file = self.target / "part-00000.parquet" if self.sharded else self.target
        self.resumable = fmt != "json"
        self.partial = partial_path(self.file)

    def argv(self, n: int, *extra: str) -> list[str]:
        sharded = ["--distributed", "--format", "parquet"] if self.sharded else []
        size = ["--batch-size", str(BATCH)]
        return ["generate", "-n", str(n), *size, "-o", str(self.target), *sharded, *extra]

    def temporaries(self) -> list[Path]:
        return sorted(self.file.parent.glob(f".{self.file.name}.*.tmp"))

    def started(self) -> bool:
        return self.partial.exists() if self.resumable else bool(self.temporaries())

    def grown(self) -> bool:
        """The output is well under way: the signal lands while it is written."""
        if self.fmt in ("jsonl", "json"):
            files = [self.partial] if self.resumable else self.temporaries()
            return any(f.exists() and f.stat().st_size > 200_000 for f in files)
        return len(list(self.partial.glob("part-*.parquet"))) >= 2

    def records_bound(self) -> int:
        """At least as many records as the partial output holds."""
        if self.fmt == "jsonl":
            return self.partial.read_bytes().count(b"\n")
        return BATCH * len(list(self.partial.glob("part-*.parquet")))

    def listing(self) -> list[str]:
        return sorted(p.name for p in self.file.parent.iterdir())


def child_env() -> dict[str, str]:
    """This environment without a launcher's rank variables (one process)."""
    prefixes = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_", "OMPI_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def wait_until(ready: Callable[[], bool], child: subprocess.Popen[str]) -> None:
    """Poll until ``ready()``; fail if the child ends first or nothing happens for long."""
    deadline = time.monotonic() + HANG
    while not ready():
        if child.poll() is not None:
            _, err = child.communicate()
            raise AssertionError(f"the run ended (status {child.returncode}) too soon: {err}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the child process")
        time.sleep(0.005)


def assert_one_line(err: str, start: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(start), lines[0]
    return lines[0]


def assert_verifies(target: Path, ok: bool = True) -> None:
    """``dpa verify`` passes (0), or fails: 1 for damaged output, 2 for a folder the
    run left without any shard (nothing there to check)."""
    code = main(["verify", "-q", str(target)])
    if ok:
        assert code == 0
    elif target.is_dir() and not any(target.glob("part-*")):
        assert code == 2
    else:
        assert code == 1


def earlier_run(out: Output, capsys: pytest.CaptureFixture[str]) -> bytes:
    """A complete earlier run at the output; its file's bytes."""
    assert main(out.argv(EARLIER_N, "-q")) == 0, capsys.readouterr().err
    assert_verifies(out.target)
    return out.file.read_bytes()


def assert_earlier_output_kept(out: Output, before: bytes | None) -> None:
    """The output path holds what it held before: nothing, or the earlier file."""
    if before is None:
        assert not out.file.exists()
    else:
        assert out.file.read_bytes() == before
    if out.sharded:  # dropped when the run began: the folder does not look complete
        assert not (out.target / MANIFEST_NAME).exists()
        assert_verifies(out.target, ok=False)
    elif before is not None:
        assert_verifies(out.target)


def resume(out: Output, n: int, capsys: pytest.CaptureFixture[str]) -> str:
    """Continue the partial output to ``n`` records; check the result; the summary."""
    capsys.readouterr()
    assert main(out.argv(n, "--resume")) == 0, capsys.readouterr().err
    assert not out.partial.exists()
    assert dpa.read_augmentation_file(out.file).num_samples == n
    assert_verifies(out.target)
    return capsys.readouterr().err


# --------------------------------------------------------------------------- signals


KILL, INT, TERM = signal.SIGKILL, signal.SIGINT, signal.SIGTERM
#: How the command ends on each signal it handles: exit status, first words.
HANDLED = {INT: (130, "dpa: interrupted, "), TERM: (143, "dpa: terminated, ")}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("point", "earlier", "signum"),
    [
        ("started", True, KILL),
        ("started", True, INT),
        ("grown", True, KILL),
        ("grown", True, INT),
        ("grown", False, INT),  # (fresh outputs killed: tests/test_cli.py)
        ("renaming", True, KILL),
        ("renaming", True, INT),
        ("grown", True, TERM),  # what timeout, Slurm and docker stop send
        ("renaming", True, TERM),
    ],
    ids=lambda v: (
        v.name if isinstance(v, signal.Signals) else {True: "earlier", False: "fresh"}.get(v, v)
    ),
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_signal_leaves_the_earlier_output_or_none(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    point: str,
    earlier: bool,
    signum: int,
) -> None:
    out = Output(fmt, tmp_path / "run")
    before = earlier_run(out, capsys) if earlier else None
    if point == "renaming":
        marker = tmp_path / "held"
        argv = [sys.executable, "-c", HELD_AT_RENAME, str(out.file), str(marker)]
        child = subprocess.Popen(
            [*argv, *out.argv(RENAME_N)], stderr=subprocess.PIPE, text=True, env=child_env()
        )
        ready: Callable[[], bool] = marker.exists
    else:
        child = subprocess.Popen(
            [*DPA, *out.argv(HUGE_N)], stderr=subprocess.PIPE, text=True, env=child_env()
        )
        ready = out.started if point == "started" else out.grown
    try:
        wait_until(ready, child)
        child.send_signal(signum)
        _, err = child.communicate(timeout=HANG)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert_earlier_output_kept(out, before)
    if signum == signal.SIGKILL:
        assert child.returncode == -signal.SIGKILL
    else:
        status, words = HANDLED[signum]  # cli.EXIT_INTERRUPTED, cli.EXIT_TERMINATED
        assert child.returncode == status
        line = assert_one_line(err, words)
        assert ("--resume" in line) == out.resumable, line
        kept = [out.file.name] if before is not None else []
        kept += [out.partial.name] if out.resumable else []
        assert out.listing() == sorted(kept)  # no temporary file left
    if not out.resumable:
        return
    if point == "renaming":
        resume(out, RENAME_N, capsys)
    elif not out.sharded:  # (a shard continues only with the same -n: HUGE_N)
        summary = resume(out, out.records_bound() + BATCH, capsys)
        assert point == "started" or " resumed) to " in summary, summary


# --------------------------------------------------------------------------- a full disk


def limit_file_size() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def assert_write_failure(out: Output, err: str, reason: str) -> None:
    line = assert_one_line(err, f"dpa: error: {out.file} not written: {reason}")
    assert ("--resume" in line) == out.resumable, line
    if out.resumable:
        assert str(out.partial) in line


@pytest.mark.integration
@pytest.mark.parametrize("earlier", [True, False], ids=["earlier", "fresh"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_size_limit_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, earlier: bool
) -> None:
    """EFBIG (CPython ignores SIGXFSZ): one line, exit 2 (as any OS error), the output
    path as it was; JSON Lines and Parquet keep their progress for --resume."""
    out = Output(fmt, tmp_path / "run")
    before = earlier_run(out, capsys) if earlier else None
    done = subprocess.run(
        [*DPA, *out.argv(FULL_N, "-q")],
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=HANG,
    )
    assert done.returncode == 2, done.stderr
    assert_write_failure(out, done.stderr, os.strerror(errno.EFBIG))
    assert_earlier_output_kept(out, before)
    kept = [out.file.name] if before is not None else []
    kept += [out.partial.name] if out.resumable else []
    assert out.listing() == sorted(kept)  # no temporary file left
    if out.resumable:
        resume(out, FULL_N, capsys)


#: The `dpa` command, told that the disk has room (its check up front passes), so
#: that the disk fills while it writes.
UNCHECKED = """
import shutil, sys
from dpa._cli import main

shutil.disk_usage = lambda path: shutil._ntuple_diskusage(10**12, 0, 10**12)
sys.exit(main(sys.argv[1:]))
"""

UNSHARE_SCRIPT = """
mount -t tmpfs -o size=256k dpa-full "$RUN" || exit 97
"$PY" -m dpa $EARLIER || exit 98
cp -a "$RUN" "$SAVE/before" || exit 99
"$PY" -c "$UNCHECKED" $FULL 2> "$SAVE/stderr"
echo $? > "$SAVE/status"
cp -a "$RUN" "$SAVE/after"
"""


def tree(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
        if p.name != "lock"
    }


@pytest.mark.integration
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_file_system_fails_cleanly(tmp_path: Path, fmt: str) -> None:
    """ENOSPC on a small tmpfs, mounted in a private mount namespace (unshare)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare command to mount a small tmpfs with")
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    out = Output(fmt, tmp_path / "run")
    save = tmp_path / "save"
    save.mkdir()
    env = {
        **child_env(),
        "PY": sys.executable,
        "RUN": str(out.folder),
        "SAVE": str(save),
        "EARLIER": shlex.join(out.argv(50, "-q")),
        "FULL": shlex.join(out.argv(FULL_N, "-q")),
        "UNCHECKED": UNCHECKED,
    }
    done = subprocess.run(
        [unshare, "--mount", *user, "sh", "-c", UNSHARE_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG,
    )
    if done.returncode == 97 or (done.returncode == 1 and not (save / "before").exists()):
        pytest.skip(f"cannot mount a tmpfs here: {' '.join(done.stderr.split())}")
    assert done.returncode == 0, done.stderr
    assert int((save / "status").read_text()) == 2
    assert_write_failure(out, (save / "stderr").read_text(), os.strerror(errno.ENOSPC))
    before, after = tree(save / "before"), tree(save / "after")
    name, partial = (str(p.relative_to(out.folder)) for p in (out.file, out.partial))
    assert after[name] == before[name]  # the earlier output, byte for byte
    kept = {name, partial} if out.resumable else {name}
    if out.sharded:  # the folder, without its manifest
        kept.add(out.target.name)
    # no temporary file left (the partial output's own files aside)
    assert {k for k in after if not k.startswith(f"{partial}/")} == kept


# --------------------------------------------------------------------------- the library


def fail_third_write(original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` (a sink's write) that writes half of the third batch, then finds
    the disk full (an OSError without a file name, as from a write or pyarrow)."""
    calls = {"n": 0}

    def write(self: Any, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            original(self, batch[: len(batch) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(self, batch)

    return write


def enospc(*args: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("earlier", [True, False], ids=["earlier", "fresh"])
@pytest.mark.parametrize("where", ["write", "fsync"])
@pytest.mark.parametrize(
    ("fmt", "resumable"),
    [("json", False), ("jsonl", False), ("jsonl", True), ("parquet", False), ("parquet", True)],
)
def test_the_writer_on_a_full_disk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    resumable: bool,
    where: str,
    earlier: bool,
) -> None:
    """ENOSPC from a write or an fsync: an OSError naming the output, the temporary
    file gone (a resumable writer keeps its partial output), the output untouched."""
    target = tmp_path / f"out.{fmt}"
    before = None
    if earlier:
        write_range(target, 0, 10, format=fmt)
        before = target.read_bytes()
    writer = AugmentationWriter(
        target, format=fmt, resumable=resumable, extra_metadata={"start_id": 0}
    )
    sink = type(writer._sink)
    assert sink is {"json": JsonSink, "jsonl": JsonLinesSink, "parquet": ParquetSink}[fmt] or (
        sink is ParquetPartsSink and resumable
    )
    if where == "write":
        monkeypatch.setattr(sink, "write", fail_third_write(sink.write))
    with pytest.raises(OSError) as raised, writer:
        for start in range(0, 5 * BATCH, BATCH):
            writer.write(generate_batch(range(start, start + BATCH)))
        if where == "fsync":
            monkeypatch.setattr(os, "fsync", enospc)
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target)
    assert str(target) in str(raised.value)
    assert (target.read_bytes() if target.exists() else None) == before
    kept = [target.name] if earlier else []
    kept += [partial_path(target).name] if resumable else []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    if resumable:  # the progress is good for a later run
        again = write_range(target, 0, 5 * BATCH, format=fmt, resume=True, batch_size=BATCH)
        # the whole batches, and the half batch written before the failure
        assert again.resumed_count == (2 * BATCH + BATCH // 2 if where == "write" else 5 * BATCH)
        assert dpa.verify_augmentation_file(target).ok
        assert dpa.load_augmentation_chain(target) == generate_batch(range(5 * BATCH)).to_dicts()
