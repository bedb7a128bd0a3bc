"""Hostile inputs to the sharded output, merge, verify, stats and bench (issue 17).

Each test names the defect it holds fixed: a merge that overwrote its own input, a
sharded run that removed files it did not write, a merged file whose ranks do not
own their ids, a merge that copied edited values, a world size that made dpa walk
every rank, saved bench runs and quality inputs that crashed or exhausted memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dpa
from dpa._distributed import misowned_rank_problem
from dpa._keys import RankAwareScheme
from dpa._shards import (
    MANIFEST_NAME,
    ShardError,
    check_shards,
    generate_shards,
    merge_shards,
    read_manifest,
    verify_shards,
    write_manifest,
)
from dpa._shards.plan import MAX_WORLD_SIZE, plan_shards
from test_shards import assert_usage_error, make_folder, run

DPA = [sys.executable, "-m", "dpa"]


def dpa_command(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
    """``dpa ARGV`` in a process of its own (a fresh environment: RANK, WORLD_SIZE)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return subprocess.run(
        [*DPA, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, **(env or {})},
        cwd=cwd,
    )


def rewrite_checksums(folder: Path) -> None:
    """Update the manifest's checksums to the files on disk (as an attacker would)."""
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    for entry in manifest["shards"]:
        entry["sha256"] = hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


# --------------------------------------------------------------------------- 3: merge target


@pytest.mark.parametrize("name", ["part-00000.jsonl", "part-00001.jsonl", MANIFEST_NAME])
def test_merge_refuses_to_write_over_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = tmp_path / "run"
    make_folder(folder, 20, 2)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    code, out, err = run(capsys, "merge", str(folder), "-q", "-o", str(folder / name))
    assert_usage_error(code, out, err, name, "outside")
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert verify_shards(folder).ok


def test_merge_refuses_its_folder_through_dots_links_and_other_names(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    make_folder(folder, 20, 2)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(folder / "part-00000.jsonl")
    (tmp_path / "alias").symlink_to(folder)
    os.link(folder / "part-00001.jsonl", tmp_path / "hard.jsonl")
    targets = [
        tmp_path / "sub" / ".." / "run" / "part-00000.jsonl",  # ..
        tmp_path / "link.jsonl",  # a link to a shard
        tmp_path / "alias" / MANIFEST_NAME,  # through a link to the folder
        tmp_path / "hard.jsonl",  # the same inode
        folder / "part-00007.parquet",  # a shard name the manifest does not list
        folder / ".part-00000.jsonl.dpa-partial",  # a shard's partial file
    ]
    for target in targets:
        with pytest.raises(ValueError, match="merge into a file outside"):
            merge_shards(folder, target, format="jsonl")
    assert verify_shards(folder).ok
    merged = merge_shards(folder, folder / "all.jsonl")  # any other name is fine
    assert merged.count == 20 and verify_shards(folder).ok


# --------------------------------------------------------------------------- 4: old shards


def test_a_sharded_run_never_removes_files_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "part-00003.jsonl").write_text("my own notes\n")
    (folder / "part-00000.parquet").write_bytes(b"PAR1 not dpa")
    (folder / "README").write_text("hello")
    code, out, err = run(
        capsys, "generate", "-n", "10", "--distributed", "--format", "jsonl", "-q",
        "-o", str(folder),
    )  # fmt: skip
    assert_usage_error(code, out, err, "part-00000.parquet", "part-00003.jsonl", "move them")
    assert sorted(p.name for p in folder.iterdir()) == [
        "README", "part-00000.parquet", "part-00003.jsonl",
    ]  # fmt: skip
    assert (folder / "part-00003.jsonl").read_text() == "my own notes\n"


def test_a_manifest_that_is_not_dpa_s_is_not_removed(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text('{"mine": true}')
    with pytest.raises(ShardError, match=MANIFEST_NAME):
        generate_shards(tmp_path, 10, format="jsonl")
    assert (tmp_path / MANIFEST_NAME).read_text() == '{"mine": true}'


def test_an_earlier_run_s_shards_are_replaced_or_removed(tmp_path: Path) -> None:
    make_folder(tmp_path, 30, 3, fmt="jsonl")  # listed by the manifest
    result = generate_shards(tmp_path, 30, format="jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME, "part-00000.jsonl"]
    assert result.manifest is not None and verify_shards(tmp_path).ok
    # an unfinished run (shards, no manifest) wrote part-00002.jsonl: a dpa shard
    make_folder(tmp_path, 30, 3, fmt="jsonl")
    (tmp_path / MANIFEST_NAME).unlink()
    generate_shards(tmp_path, 30, format="jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME, "part-00000.jsonl"]


def test_a_shard_file_that_appears_during_the_run_stops_the_manifest(tmp_path: Path) -> None:
    class Intruding:
        """One process; another writes a shard file into the folder meanwhile."""

        rank, world_size = 0, 1
        calls = 0

        def all_gather(self, obj: Any) -> list[Any]:
            self.calls += 1
            if self.calls == 2:  # after the shards, before the manifest
                (tmp_path / "part-00009.jsonl").write_text("someone else's")
            return [obj]

        def broadcast(self, obj: Any) -> Any:
            return obj

    with pytest.raises(ShardError, match=r"part-00009\.jsonl appeared during the run"):
        generate_shards(tmp_path, 10, format="jsonl", group=Intruding())
    assert not (tmp_path / MANIFEST_NAME).exists()
    assert (tmp_path / "part-00009.jsonl").read_text() == "someone else's"


# --------------------------------------------------------------------------- 6: ranks own ids


def swapped_folder(folder: Path) -> dict[str, Any]:
    """A rank-aware run of 20 ids on 2 ranks whose ranks hold each other's ids, each
    drawn with its own rank's keys: coverage, counts, metadata and values all agree."""
    folder.mkdir()
    entries = []
    for rank, (lo, hi) in ((0, (10, 20)), (1, (0, 10))):
        path = folder / f"part-{rank:05d}.jsonl"
        shard = {"rank": rank, "world_size": 2, "start": 0, "total": 20}
        dpa.write_range(
            path, lo, hi, format="jsonl", scheme=RankAwareScheme(5, rank, 2),
            extra_metadata={"shard": shard},
        )  # fmt: skip
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entries.append(
            {"file": path.name, "rank": rank, "start_id": lo, "end_id": hi, "count": 10,
             "sha256": digest}
        )  # fmt: skip
    return write_manifest(folder, entries, None, num_samples=20, base_seed=5, format="jsonl")


def test_a_shard_holding_another_rank_s_ids_is_incomplete(tmp_path: Path) -> None:
    folder = tmp_path / "swapped"
    swapped_folder(folder)
    problems = check_shards(folder)
    assert problems == [
        "shard part-00000.jsonl: rank 0 holds ids 10..19, but the run's split gives it ids 0..9",
        "shard part-00001.jsonl: rank 1 holds ids 0..9, but the run's split gives it ids 10..19",
    ]
    assert not verify_shards(folder).ok
    with pytest.raises(ShardError, match="split"):
        merge_shards(folder, tmp_path / "all.jsonl")


def test_misowned_ranks_of_a_merged_file_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    make_folder(folder, 10, 3, start=100)  # ranks 0: 100..103, 1: 104..106, 2: 107..109
    merged = merge_shards(folder, tmp_path / "all.parquet")
    batch = dpa.read_augmentation_file(merged.path).iter_batches(100).__next__()
    assert batch.rank is not None
    check = {"start": 100, "total": 10, "world_size": 3}
    assert misowned_rank_problem(batch.sample_id, batch.rank, **check) is None
    ranks = batch.rank.copy()
    ranks[5] = 2
    assert misowned_rank_problem(batch.sample_id, ranks, **check, position=40) == (
        "record 45: sample 105 belongs to rank 1 (ids 104..106 of the run), not rank 2"
    )
    # a file that names no start or count is not checked; ids outside the run neither
    assert misowned_rank_problem(batch.sample_id, ranks, start=None, total=10, world_size=3) is None
    assert misowned_rank_problem(np.array([5]), np.array([2]), **check) is None
    # more ranks than samples: the first ranks own one each; huge ids as Python ints
    ids = np.array([10**30, 10**30 + 1], dtype=object)
    assert misowned_rank_problem(ids, np.array([0, 1]), start=10**30, total=2, world_size=5) is None
    assert "belongs to rank 1" in str(
        misowned_rank_problem(ids, np.array([0, 0]), start=10**30, total=2, world_size=5)
    )


def test_verify_names_a_merged_record_whose_rank_does_not_own_its_id(tmp_path: Path) -> None:
    # a merged file whose record 0 (sample 0) was redrawn with rank 1's keys: its
    # values verify, but rank 1 does not own sample 0
    folder = tmp_path / "run"
    make_folder(folder, 4, 2)
    merged = tmp_path / "all.jsonl"
    merge_shards(folder, merged, include_stats=False)
    lines = merged.read_text().splitlines()
    record = dpa.generate_distributed_batch([0], 1, 2, base_seed=5).with_rank(1).to_dicts()[0]
    lines[1] = json.dumps(record)
    merged.write_text("\n".join(lines) + "\n")
    report = dpa.verify_augmentation_file(merged)
    assert report.mismatched_samples == 0
    assert "sample 0 belongs to rank 0" in " ".join(report.problems)


# --------------------------------------------------------------------------- 7: merge recomputes


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_merge_refuses_a_shard_edited_after_the_run(tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    folder = tmp_path / "run"
    make_folder(folder, 20, 2, fmt=fmt)
    shard = folder / f"part-00001.{fmt}"
    opened = dpa.read_augmentation_file(shard)
    batch = next(opened.iter_batches(100))
    batch.rotation[3] = 0.5  # sample 13
    keep = {key: opened.metadata[key] for key in ("shard", "start_id")}
    shard.unlink()
    with dpa.AugmentationWriter(
        shard, opened.config, format=fmt, extra_metadata=keep, scheme=opened.scheme
    ) as writer:
        writer.write(batch)
    rewrite_checksums(folder)
    assert check_shards(folder) == []  # complete: only the values say otherwise
    target = tmp_path / "all.jsonl"
    with pytest.raises(ShardError, match=r"sample 13 is not what its keys give"):
        merge_shards(folder, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [folder]


# --------------------------------------------------------------------------- 10, 13: world size


def test_a_huge_world_size_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "shards"
    done = dpa_command(
        "generate", "-n", "10", "--distributed", "--format", "jsonl", "-q", "-o", str(out),
        env={"WORLD_SIZE": str(10**21), "RANK": "5"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"dpa: error: world_size must be at most 1048576 (2**20) for sharded output, got {10**21}"
    )
    assert not out.exists()


def test_a_rank_s_range_is_computed_alone() -> None:
    total = 10**30 + 3  # the first 3 ranks hold one id more
    plan = plan_shards(total, MAX_WORLD_SIZE, start=7)
    base = total // MAX_WORLD_SIZE
    assert len(plan) == MAX_WORLD_SIZE
    assert plan[-1] == (7 + total - base, 7 + total)
    assert plan[2] == (7 + 2 * (base + 1), 7 + 3 * (base + 1))
    assert plan[5] == (7 + 5 * base + 3, 7 + 6 * base + 3)
    assert plan[0:2] == [plan[0], plan[1]]
    assert plan_shards(5, 3) == [(0, 2), (2, 4), (4, 5)]
    with pytest.raises(IndexError):
        plan[MAX_WORLD_SIZE]
    with pytest.raises(ValueError, match="at most 1048576"):
        plan_shards(10, MAX_WORLD_SIZE + 1)


@pytest.mark.parametrize("command", ["verify", "merge"])
def test_a_manifest_with_a_huge_world_fails_in_bounded_memory(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "run"
    manifest = make_folder(folder, 6, 2)
    manifest["world_size"] = 10**12
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    limit = 1 << 31  # 2 GiB of address space: a list of 10**12 ranks needs far more
    code = (
        "import resource, sys; from dpa._cli import main; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = [command, str(folder)] + (
        ["-o", str(tmp_path / "all.jsonl")] if command == "merge" else []
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == (1 if command == "verify" else 2), done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "world_size must be at most 1048576" in done.stdout + done.stderr
    with pytest.raises(dpa.DPAFileError, match="malformed manifest"):
        read_manifest(folder)


# --------------------------------------------------------------------------- 15: linear checks


class CountedName(str):
    """A shard name that counts its comparisons (a list.count per entry: n**2)."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountedName.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_manifest_checks_are_linear_in_its_entries(tmp_path: Path) -> None:
    n = 3000
    manifest = make_folder(tmp_path / "run", 10, 1)
    manifest.update(world_size=n, total=n)
    manifest["shards"] = [
        {"file": CountedName(f"part-{r:05d}.jsonl"), "rank": r, "start_id": r,
         "end_id": r + 1, "count": 1, "sha256": "0" * 64}
        for r in range(n)
    ]  # fmt: skip
    CountedName.compared = 0
    problems = check_shards(tmp_path / "run", manifest)
    assert sum(problem.startswith("missing shard") for problem in problems) == n - 1
    assert CountedName.compared < 10 * n


def test_a_file_listed_many_times_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = make_folder(tmp_path, 10, 1)
    manifest["shards"] = manifest["shards"] * 500
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    import dpa._shards.check as check_module

    calls = []
    real = check_module.verify_augmentation_file
    monkeypatch.setattr(
        check_module, "verify_augmentation_file", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    report = verify_shards(tmp_path)
    assert len(calls) == 1 and not report.ok
    assert report.problems[:2] == [
        "duplicated shard: rank 0 has 500 (part-00000.jsonl, part-00000.jsonl, part-00000.jsonl, "
        "part-00000.jsonl, part-00000.jsonl, part-00000.jsonl, part-00000.jsonl, "
        "part-00000.jsonl and 492 more)",
        "duplicated shard: part-00000.jsonl is listed 500 times",
    ]


# --------------------------------------------------------------------------- what is read


def hostile_manifests(folder: Path) -> dict[str, Path]:
    """Copies of a complete run whose manifest is a FIFO, a link to an endless
    device, JSON nested 100,000 deep, or a number of 5000 digits."""
    make_folder(folder / "good", 10, 2)
    cases = {}
    for name in ("fifo", "endless", "deep", "digits"):
        case = folder / name
        case.mkdir()
        for shard in (folder / "good").glob("part-*"):
            (case / shard.name).write_bytes(shard.read_bytes())
        cases[name] = case / MANIFEST_NAME
    os.mkfifo(cases["fifo"])
    cases["endless"].symlink_to("/dev/zero")
    cases["deep"].write_text("[" * 100_000 + "]" * 100_000)
    cases["digits"].write_text('{"dpa_manifest": 1' + "0" * 5000 + "}")
    return cases


REASONS = {
    "fifo": "not a regular file",
    "endless": "not a regular file",
    "deep": "JSON nested too deeply",
    "digits": "a number of more than 4300 digits",
}


def test_a_manifest_that_cannot_be_read_is_named_never_waited_for(tmp_path: Path) -> None:
    for name, manifest in hostile_manifests(tmp_path).items():
        folder = manifest.parent
        reason = f"{manifest}: unreadable manifest: {REASONS[name]}"
        done = dpa_command("verify", str(folder))
        assert (done.returncode, done.stdout) == (1, f"FAILED: {reason}\n"), done.stderr
        done = dpa_command("merge", str(folder), "-o", str(tmp_path / "all.jsonl"))
        assert (done.returncode, done.stderr) == (2, f"dpa: error: {reason}\n")
        with pytest.raises(ShardError, match=f"{MANIFEST_NAME}, which no dpa run"):
            generate_shards(folder, 10, format="jsonl")  # not removed: not dpa's
        assert manifest.is_symlink() or manifest.exists()


def test_files_that_would_block_or_never_end_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "params.jsonl"
    os.mkfifo(fifo)
    for argv in (["verify", fifo], ["stats", fifo], ["stats", "--quality", fifo]):
        done = dpa_command(*map(str, argv))
        assert (done.returncode, done.stdout) == (2, ""), argv
        assert done.stderr == f"dpa: error: {fifo}: not a regular file (a FIFO)\n"
    done = dpa_command("verify", "/dev/zero")
    assert done.stderr == "dpa: error: /dev/zero: not a regular file (a character device)\n"
    for saved in (fifo, Path("/dev/zero")):
        done = dpa_command("bench", "--load", str(saved))
        assert done.returncode == 2
        assert done.stderr == f"dpa: error: {saved}: not a regular file, not a saved run\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_merge_that_cannot_be_written_names_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_folder(tmp_path / "run", 10, 2)
    code, out, err = run(capsys, "merge", str(tmp_path / "run"), "-o", "/proc/all.jsonl")
    assert_usage_error(code, out, err, "/proc/all.jsonl not written")
    assert ".tmp" not in err
