"""Sharded distributed output: `dpa generate --distributed`, `dpa verify OUT/`, `dpa merge`.

The integration tests run real process groups under torchrun (gloo, CPU); the others
build shard folders in this process (ranks one after another, or as threads).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dpa
from dpa._cli import main
from dpa._keys import MODES, ElasticScheme, PerRecordRankScheme, RankAwareScheme
from dpa._shards import (
    MANIFEST_NAME,
    SHARD_MODES,
    ShardError,
    ShardsReport,
    SingleProcess,
    check_shards,
    generate_shards,
    merge_shards,
    open_group,
    plan_shards,
    read_manifest,
    verify_shards,
    write_manifest,
    write_shard,
)
from dpa._shards.group import check_group
from dpa._shards.merge import merged_scheme
from dpa._shards.plan import MAX_WORLD_SIZE, check_format, shard_scheme

TESTS = Path(__file__).resolve().parent
DPA = [sys.executable, "-m", "dpa"]
TORCHRUN_TIMEOUT = 120


# --------------------------------------------------------------------------- helpers


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dpa: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def torchrun(nproc: int, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (a script, or ``-m module ...``) under torchrun with ``nproc`` CPU
    processes on the gloo backend."""
    pytest.importorskip("torch.distributed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [
        sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *argv,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TORCHRUN_TIMEOUT, env=env, cwd=cwd
    )
    assert done.returncode == 0, f"torchrun failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done


def make_folder(
    folder: Path,
    total: int,
    world_size: int,
    *,
    fmt: str = "jsonl",
    mode: str = "rank_aware",
    start: int = 0,
    base_seed: int = 5,
    epoch: int = 0,
    config: dpa.AugmentationConfig | None = None,
) -> dict[str, Any]:
    """A complete shard folder, its ranks written one after another in this process."""
    folder.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "start": start, "mode": mode, "base_seed": base_seed, "epoch": epoch, "format": fmt,
    }  # fmt: skip
    entries = [
        write_shard(folder, rank, world_size, total, config, **options)
        for rank in range(world_size)
    ]
    return write_manifest(folder, entries, config, num_samples=total, **options)


class ThreadGroup:
    """A process group of threads, for generate_shards without torch."""

    def __init__(self, shared: dict[str, Any], rank: int, world_size: int) -> None:
        self.shared, self.rank, self.world_size = shared, rank, world_size

    def all_gather(self, obj: Any) -> list[Any]:
        self.shared["slots"][self.rank] = obj
        self.shared["barrier"].wait()
        out = list(self.shared["slots"])
        self.shared["barrier"].wait()
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.rank == 0:
            self.shared["box"] = obj
        self.shared["barrier"].wait()
        out = self.shared["box"]
        self.shared["barrier"].wait()
        return out


def run_threads(world_size: int, work: Callable[[ThreadGroup], Any]) -> list[Any]:
    """``work(group)`` on ``world_size`` threads; each one's result or exception."""
    shared: dict[str, Any] = {
        "slots": [None] * world_size,
        "box": None,
        "barrier": threading.Barrier(world_size, timeout=60),
    }
    results: list[Any] = [None] * world_size

    def target(rank: int) -> None:
        try:
            results[rank] = work(ThreadGroup(shared, rank, world_size))
        except Exception as exc:
            results[rank] = exc

    threads = [threading.Thread(target=target, args=(rank,)) for rank in range(world_size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def records_of(path: Path) -> list[dict[str, Any]]:
    return dpa.load_augmentation_chain(path)


# --------------------------------------------------------------------------- torchrun


@pytest.mark.integration
def test_torchrun_ranks_disjoint_complete_and_exact(tmp_path: Path) -> None:
    report, shards = tmp_path / "report.json", tmp_path / "shards"
    torchrun(2, str(TESTS / "torchrun_check.py"), "203", "12345", str(report), str(shards))
    data = json.loads(report.read_text())
    assert data["world_size"] == 2
    ids = [i for share in data["shares"] for i in share["ids"]]
    assert ids == list(range(203))
    for share in data["shares"]:
        rank = share["rank"]
        assert share["ids"] == list(range(*plan_shards(203, 2)[rank]))
        for record in share["records"]:
            expected = dpa.gen_distributed_augmentation_params(
                record["sample_id"], rank, base_seed=12345, world_size=2
            )
            assert record == {**expected, "sample_id": record["sample_id"]}
        elastic = dpa.generate_elastic_batch(share["ids"], base_seed=12345, epoch=2)
        assert share["elastic"] == [h.decode() for h in elastic.hash.tolist()]
    # the sharded run through the group the script had joined already
    report_of_shards = verify_shards(shards)
    assert report_of_shards.ok and report_of_shards.checked == 203, report_of_shards.problems
    assert read_manifest(shards)["world_size"] == 2


@pytest.mark.integration
def test_cli_distributed_rank_aware_under_torchrun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    done = torchrun(
        2, "-m", "dpa", "--", "generate", "-n", "1001", "--start", "10", "--distributed",
        "--base-seed", "77", "--preset", "mild", "-o", str(out),
    )  # fmt: skip
    assert "rank 0 of 2" in done.stderr and "rank 1 of 2" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST_NAME,
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    manifest = read_manifest(out)
    assert manifest["mode"] == "rank_aware" and manifest["world_size"] == 2
    assert (manifest["start"], manifest["total"], manifest["base_seed"]) == (10, 1001, 77)
    assert "epoch" not in manifest
    assert manifest["config"] == dpa.get_preset("mild").to_dict()
    shards = manifest["shards"]
    assert [(s["rank"], s["start_id"], s["end_id"], s["count"]) for s in shards] == [
        (0, 10, 511, 501),
        (1, 511, 1011, 500),
    ]
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 0, text
    assert text.startswith("OK: all 1001 records") and "2 shards" in text

    # each shard holds its rank's values; the merge keeps each record's rank
    merged = tmp_path / "merged.jsonl"
    assert run(capsys, "merge", str(out), "-o", str(merged))[0] == 0
    records = records_of(merged)
    assert [r["sample_id"] for r in records] == list(range(10, 1011))
    for record in records[::50] + records[-3:]:
        rank = 0 if record["sample_id"] < 511 else 1
        expected = dpa.gen_distributed_augmentation_params(
            record["sample_id"], rank, dpa.get_preset("mild"), base_seed=77, world_size=2
        )
        assert record == {**expected, "sample_id": record["sample_id"]}
    info = dpa.read_augmentation_file(merged).metadata["distributed_info"]
    assert info == {"per_record_rank": True, "world_size": 2, "base_seed": 77}
    assert run(capsys, "verify", str(merged))[0] == 0


@pytest.mark.integration
def test_elastic_values_do_not_depend_on_the_world_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    merged: dict[int, list[dict[str, Any]]] = {}
    for nproc in (1, 2, 3):
        out = tmp_path / f"elastic-{nproc}"
        torchrun(
            nproc, "-m", "dpa", "--", "generate", "-n", "500", "--distributed", "--mode", "elastic",
            "--epoch", "3", "--base-seed", "9", "--format", "jsonl", "-o", str(out), "-q",
        )  # fmt: skip
        manifest = read_manifest(out)
        assert manifest["world_size"] == nproc and manifest["epoch"] == 3
        assert len(list(out.glob("part-*.jsonl"))) == nproc
        assert run(capsys, "verify", "-q", str(out))[0] == 0
        target = tmp_path / f"merged-{nproc}.parquet"
        assert run(capsys, "merge", str(out), "-o", str(target), "-q")[0] == 0
        assert run(capsys, "verify", "-q", str(target))[0] == 0
        merged[nproc] = records_of(target)
        metadata = dpa.read_augmentation_file(target).metadata
        assert metadata["elastic_info"]["epoch"] == 3 and "distributed_info" not in metadata
    assert merged[1] == merged[2] == merged[3]
    expected = dpa.generate_elastic_batch(range(500), base_seed=9, epoch=3).to_dicts()
    assert merged[1] == expected


@pytest.mark.integration
def test_fewer_samples_than_ranks_gives_an_empty_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tiny"
    torchrun(2, "-m", "dpa", "--", "generate", "-n", "1", "--distributed", "-o", str(out), "-q")
    shards = read_manifest(out)["shards"]
    assert [(s["rank"], s["count"]) for s in shards] == [(0, 1), (1, 0)]
    assert dpa.read_augmentation_file(out / "part-00001.parquet").num_samples == 0
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 0, text
    target = tmp_path / "tiny.json"
    assert run(capsys, "merge", str(out), "-o", str(target), "-q")[0] == 0
    expected = dpa.gen_distributed_augmentation_params(0, 0, world_size=2)
    assert records_of(target) == [{**expected, "sample_id": 0}]


# --------------------------------------------------------------------------- one process


def test_distributed_without_torchrun_writes_one_shard_without_torch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch would fail
    out = tmp_path / "single"
    code, _, err = run(capsys, "generate", "-n", "300", "--distributed", "-o", str(out))
    assert code == 0, err
    assert "rank 0 of 1" in err and "1 shard(s)" in err
    manifest = read_manifest(out)
    assert manifest["world_size"] == 1 and len(manifest["shards"]) == 1
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 0 and "all 300 records" in text
    target = tmp_path / "single.parquet"
    assert run(capsys, "merge", str(out), "-o", str(target), "-q")[0] == 0
    metadata = dpa.read_augmentation_file(target).metadata
    assert metadata["distributed_info"] == {"rank": 0, "world_size": 1, "base_seed": 0}
    expected = dpa.generate_distributed_batch(range(300), 0, 1).to_dicts()
    assert records_of(target) == expected


def test_distributed_needs_torch_for_several_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torch.distributed", None)
    out = tmp_path / "out"
    assert_usage_error(
        *run(capsys, "generate", "-n", "10", "--distributed", "-o", str(out)),
        "torch",
        "pip install",
    )


def test_distributed_outside_torchrun_names_the_missing_rendezvous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch.distributed")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    out = tmp_path / "out"
    assert_usage_error(
        *run(capsys, "generate", "-n", "10", "--distributed", "-o", str(out)),
        "cannot join the process group of 2 processes",
        "MASTER_ADDR",
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"RANK": "2", "WORLD_SIZE": "2"}, ["RANK=2", "WORLD_SIZE=2"]),
        ({"RANK": "0", "WORLD_SIZE": "0"}, ["WORLD_SIZE=0"]),
        ({"RANK": "x", "WORLD_SIZE": "2"}, ["RANK"]),
    ],
)
def test_distributed_rejects_an_inconsistent_environment(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    words: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    assert_usage_error(
        *run(capsys, "generate", "-n", "10", "--distributed", "-o", str(out)), *words
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--mode", "elastic"], ["--mode", "--distributed"]),
        (["--base-seed", "3"], ["--base-seed", "--distributed"]),
        (["--distributed", "--epoch", "2"], ["--epoch", "elastic"]),
        (["--distributed", "--base-seed", "-1"], ["--base-seed", "x>=0"]),
        (["--distributed", "--mode", "elastic", "--epoch", "-2"], ["--epoch"]),
        (["--distributed", "--mode", "round_robin"], ["round_robin"]),
        (["--distributed", "--format", "json"], ["json"]),
    ],
)
def test_distributed_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_usage_error(*run(capsys, "generate", "-n", "10", "-o", "out", *extra), *words)
    assert not list(tmp_path.iterdir())


def test_distributed_output_must_not_be_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "out.parquet"
    blocker.write_text("x")
    assert_usage_error(
        *run(capsys, "generate", "-n", "5", "--distributed", "-o", str(blocker)), "is a file"
    )


def test_format_follows_the_folder_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "params.jsonl"
    assert run(capsys, "generate", "-n", "5", "--distributed", "-o", str(out), "-q")[0] == 0
    assert (out / "part-00000.jsonl").is_file()


# --------------------------------------------------------------------------- generate_shards


@pytest.mark.parametrize("mode", ["rank_aware", "elastic"])
def test_generate_shards_on_thread_ranks(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out"
    config = dpa.get_preset("aggressive")
    results = run_threads(
        3,
        lambda group: generate_shards(
            out, 100, config, group=group, start=7, mode=mode, base_seed=2, epoch=1
        ),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert results[0].manifest is not None and results[1].manifest is None
    assert [r.shard["count"] for r in results] == [34, 33, 33]
    report = verify_shards(out)
    assert report.ok, report.problems
    assert report.checked == 100
    merged = tmp_path / "merged.parquet"
    merge_shards(out, merged)
    records = records_of(merged)
    assert [r["sample_id"] for r in records] == list(range(7, 107))
    if mode == "elastic":
        expected = dpa.generate_elastic_batch(range(7, 107), config, base_seed=2, epoch=1)
        assert records == expected.to_dicts()
    else:
        ranks = [0] * 34 + [1] * 33 + [2] * 33
        assert [r["rank"] for r in records] == ranks
        for record, rank in zip(records, ranks, strict=True):
            expected = dpa.gen_distributed_augmentation_params(
                record["sample_id"], rank, config, base_seed=2, world_size=3
            )
            assert record == {**expected, "sample_id": record["sample_id"]}
    assert dpa.verify_augmentation_file(merged).ok


def test_a_failing_rank_fails_every_rank_and_writes_no_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dpa._shards.generate

    out = tmp_path / "out"
    real = dpa._shards.generate.write_range

    def failing(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "part-00001.jsonl":
            raise OSError(28, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(dpa._shards.generate, "write_range", failing)
    results = run_threads(2, lambda group: generate_shards(out, 50, group=group, format="jsonl"))
    assert isinstance(results[1], OSError)
    assert isinstance(results[0], ShardError)
    assert "rank 1" in str(results[0]) and "No space left" in str(results[0])
    assert not (out / MANIFEST_NAME).exists()


def test_a_new_run_replaces_an_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_threads(3, lambda group: generate_shards(out, 30, group=group, format="jsonl"))
    assert len(list(out.glob("part-*"))) == 3
    results = run_threads(2, lambda group: generate_shards(out, 20, group=group, format="parquet"))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST_NAME,
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert verify_shards(out).ok


def test_plan_shards_covers_the_range_once() -> None:
    for total in (0, 1, 2, 5, 17, 100):
        for world_size in (1, 2, 3, 7):
            plan = plan_shards(total, world_size, start=40)
            assert len(plan) == world_size
            ids = [i for lo, hi in plan for i in range(lo, hi)]
            assert ids == list(range(40, 40 + total))
            sizes = [hi - lo for lo, hi in plan]
            assert max(sizes) - min(sizes) <= 1


def test_write_shard_rejects_a_rank_outside_the_world(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rank"):
        write_shard(tmp_path, 2, 2, 10)
    with pytest.raises(ValueError, match="json"):
        write_shard(tmp_path, 0, 2, 10, format="json")


# --------------------------------------------------------------------------- verify


def test_verify_folder_fails_on_a_missing_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make_folder(out, 90, 3)
    (out / "part-00001.jsonl").unlink()
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert text.startswith(f"FAILED: {out}")
    assert "missing shard part-00001.jsonl (rank 1, ids 30..59)" in text


def test_verify_folder_fails_on_a_duplicated_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make_folder(out, 90, 3)
    shutil.copy(out / "part-00000.jsonl", out / "part-00003.jsonl")
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "extra shard part-00003.jsonl: a copy of part-00000.jsonl" in text

    # the manifest listing one rank twice (two shards with the same ids)
    (out / "part-00003.jsonl").unlink()
    manifest = read_manifest(out)
    manifest["shards"][1] = dict(manifest["shards"][0])
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "duplicated shard" in text and "overlap: ids 0..29" in text
    assert "gap: ids 30..59" in text


def test_verify_folder_fails_on_an_edited_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make_folder(out, 60, 2)
    shard = out / "part-00001.jsonl"
    lines = shard.read_text().splitlines(keepends=True)
    record = json.loads(lines[5])  # sample 34
    record["noise"] = math.nextafter(record["noise"], math.inf)
    lines[5] = json.dumps(record) + "\n"
    shard.write_text("".join(lines))
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "checksum mismatch: part-00001.jsonl" in text
    assert "part-00001.jsonl: 1 of 30 records differ" in text
    assert "(sample 34): noise" in text


def test_verify_folder_fails_on_a_swapped_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a whole other shard in a shard's place: ids and values belong elsewhere
    out = tmp_path / "out"
    make_folder(out, 40, 2)
    shutil.copy(out / "part-00000.jsonl", out / "part-00001.jsonl")
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "checksum mismatch: part-00001.jsonl" in text
    assert "record 0 is sample 0, expected sample 20" in text


def test_verify_folder_without_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make_folder(out, 10, 2)
    (out / MANIFEST_NAME).unlink()
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "no manifest" in text
    (out / MANIFEST_NAME).write_text("{}")
    code, text, _ = run(capsys, "verify", str(out))
    assert code == 1 and "malformed manifest" in text


def test_check_shards_names_gaps_and_counts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = make_folder(out, 30, 3, fmt="parquet", mode="elastic", start=100)
    assert check_shards(out) == []
    manifest["total"] = 35
    problems = check_shards(out, manifest)
    assert problems == ["gap: ids 130..134 are in no shard"]
    manifest["total"] = 30
    manifest["world_size"] = 4
    assert "the manifest lists no shard for rank(s) 3" in check_shards(out, manifest)
    manifest["world_size"] = 3
    manifest["epoch"] = 1
    problems = check_shards(out, manifest)
    assert len(problems) == 3 and all("elastic_info" in p for p in problems)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_merged_rank_aware_file_verifies_by_rank(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    make_folder(out, 50, 2, fmt="parquet")
    merged = tmp_path / f"merged.{fmt}"
    writer = merge_shards(out, merged)
    assert writer.count == 50 and writer.per_record_rank
    file = dpa.read_augmentation_file(merged)
    assert file.per_record_rank
    batches = list(file.iter_batches(16))
    ranks = np.concatenate([b.rank for b in batches])
    assert ranks.tolist() == [0] * 25 + [1] * 25
    assert dpa.verify_augmentation_file(merged).ok

    # a record moved to another rank no longer verifies
    records = records_of(merged)
    records[3]["rank"] = 1
    info = {"per_record_rank": True, "world_size": 2, "base_seed": 5}
    edited = tmp_path / f"edited.{fmt}"
    dpa.save_augmentation_chain(records, edited, distributed_info=info)
    report = dpa.verify_augmentation_file(edited)
    assert not report.ok and report.mismatched_samples == 1
    assert report.mismatches[0].sample_id == 3
    # the writer keeps ranks inside the world
    records[3]["rank"] = 2
    with pytest.raises(ValueError, match=r"rank is not in 0 \.\. 1"):
        dpa.save_augmentation_chain(records, edited, distributed_info=info)


def test_verify_names_a_rank_outside_the_world(tmp_path: Path) -> None:
    out = tmp_path / "out"
    make_folder(out, 10, 2)
    merged = tmp_path / "merged.jsonl"
    merge_shards(out, merged)
    text = merged.read_text().replace('"sample_id": 7, "rank": 1', '"sample_id": 7, "rank": 2')
    merged.write_text(text)
    report = dpa.verify_augmentation_file(merged)
    assert "record 7: rank 2 is not below the world size 2" in report.problems
    assert report.mismatched_samples == 1


def test_merge_refuses_an_incomplete_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make_folder(out, 20, 2)
    (out / "part-00000.jsonl").unlink()
    target = tmp_path / "m.parquet"
    assert_usage_error(*run(capsys, "merge", str(out), "-o", str(target)), "missing shard")
    assert not target.exists()
    assert not list(tmp_path.glob(".m.parquet*"))  # nothing left behind
    assert_usage_error(*run(capsys, "merge", str(tmp_path / "nope"), "-o", str(target)), "nope")
    assert_usage_error(*run(capsys, "merge", str(out), "-o", str(tmp_path / "m.txt")), "m.txt")
    (out / MANIFEST_NAME).unlink()
    assert_usage_error(*run(capsys, "merge", str(out), "-o", str(target)), "no manifest")


def test_rank_column_only_where_the_metadata_says(tmp_path: Path) -> None:
    # streams of one rank carry "rank"; a single-rank file keeps its v0.2 layout
    records = list(dpa.stream_distributed_augmentation_chain(10, 1, 2, base_seed=3))
    info = {"rank": 1, "world_size": 2, "base_seed": 3}
    for fmt in ("jsonl", "parquet"):
        path = tmp_path / f"one.{fmt}"
        dpa.save_augmentation_chain(records, path, distributed_info=info)
        loaded = records_of(path)
        assert "rank" not in loaded[0]
        assert loaded == [{k: v for k, v in r.items() if k != "rank"} for r in records]
        assert dpa.verify_augmentation_file(path).ok
    # a per-record-rank file needs a rank in every record
    info = {"per_record_rank": True, "world_size": 2, "base_seed": 3}
    with pytest.raises(ValueError, match="rank"):
        dpa.save_augmentation_chain(dpa.generate_batch(range(3)), tmp_path / "x.jsonl",
                                    distributed_info=info)  # fmt: skip
    with pytest.raises(ValueError, match="rank"):
        dpa.save_augmentation_chain(dpa.generate_batch(range(3)).with_rank(2),
                                    tmp_path / "x.jsonl", distributed_info=info)  # fmt: skip
    with pytest.raises(ValueError, match="per_record_rank"):
        dpa.save_augmentation_chain(records, tmp_path / "x.jsonl",
                                    distributed_info={"per_record_rank": False, "world_size": 2,
                                                      "base_seed": 0})  # fmt: skip


def test_param_batch_rank_column() -> None:
    batch = dpa.generate_batch(range(4))
    assert batch.rank is None and "rank" not in batch.columns()
    ranked = batch.with_rank(np.array([0, 0, 1, 1]))
    assert ranked[2]["rank"] == 1 and ranked[1:3].rank.tolist() == [0, 1]
    assert not ranked.equals(batch) and ranked.equals(batch.with_rank([0, 0, 1, 1]))
    assert ranked.with_rank(None).equals(batch)
    again = dpa.ParamBatch.from_dicts(ranked.to_dicts(), rank=True)
    assert again.equals(ranked)
    assert dpa.ParamBatch.from_dicts(ranked.to_dicts()).equals(batch)
    assert ranked.to_arrow().column("rank").to_pylist() == [0, 0, 1, 1]
    assert dpa.ParamBatch.concat([ranked, ranked]).rank.tolist() == [0, 0, 1, 1] * 2
    with pytest.raises(ValueError, match="rank column"):
        dpa.ParamBatch.concat([ranked, batch])
    with pytest.raises(ValueError, match="4 values"):
        batch.with_rank([1, 2])


def test_resume_continues_an_interrupted_shard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dpa._io

    out = tmp_path / "out"
    real_iter = dpa._io.iter_batches

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        for index, batch in enumerate(real_iter(*args, **kwargs)):
            if index == 2:
                raise KeyboardInterrupt
            yield batch

    argv = ["generate", "-n", "1000", "--distributed", "--mode", "elastic", "--epoch", "4",
            "--batch-size", "100", "-o", str(out)]  # fmt: skip
    monkeypatch.setattr(dpa._io, "iter_batches", interrupted)
    assert main(argv) == 130
    assert "--resume" in capsys.readouterr().err
    assert not (out / MANIFEST_NAME).exists() and not (out / "part-00000.parquet").exists()
    monkeypatch.setattr(dpa._io, "iter_batches", real_iter)

    code, _, err = run(capsys, *argv, "--resume")
    assert code == 0, err
    assert "(200 resumed)" in err
    assert verify_shards(out).ok
    expected = dpa.generate_elastic_batch(range(1000), epoch=4).to_dicts()
    assert records_of(out / "part-00000.parquet") == expected


# --------------------------------------------------------------------------- plan


def test_a_sharded_run_is_rank_aware_or_elastic() -> None:
    assert set(SHARD_MODES) == set(MODES) - {"plain"}
    assert shard_scheme("rank_aware", rank=1, world_size=2, base_seed=3) == RankAwareScheme(3, 1, 2)
    assert shard_scheme("elastic", rank=1, world_size=2, base_seed=3, epoch=4) == ElasticScheme(
        3, 4
    )
    with pytest.raises(ValueError, match="unknown mode 'plain'; choose one of rank_aware, elastic"):
        shard_scheme("plain", rank=0, world_size=1)
    # an elastic scheme holds no rank: the rank is checked all the same
    with pytest.raises(ValueError, match="rank must be < world_size"):
        shard_scheme("elastic", rank=2, world_size=2)
    with pytest.raises(ValueError, match="start"):
        plan_shards(10, 2, start=-1)
    with pytest.raises(ValueError, match="jsonl or parquet"):
        check_format("json")


# --------------------------------------------------------------------------- group


def test_check_group_takes_anything_with_a_groups_methods() -> None:
    assert isinstance(check_group(None), SingleProcess)
    threads = ThreadGroup({}, 0, 1)
    assert check_group(threads) is threads
    with pytest.raises(TypeError, match="group must have rank, world_size"):
        check_group(object())
    with open_group(dpa.DistributedContext(0, 1, 0, "single")) as group:
        assert isinstance(group, SingleProcess)


# --------------------------------------------------------------------------- manifest

#: A manifest's fields, in the order dpa has always written them.
RUN_FIELDS = ["dpa_manifest", "version", "generation_time", "mode", "world_size", "base_seed"]
DATA_FIELDS = ["format", "config", "start", "total", "shards"]


@pytest.mark.parametrize(
    ("mode", "key_fields"), [("rank_aware", []), ("elastic", ["epoch", "key_version"])]
)
def test_the_manifest_on_disk_keeps_its_format(
    tmp_path: Path, mode: str, key_fields: list[str]
) -> None:
    make_folder(tmp_path, 10, 2, mode=mode, epoch=3)
    text = (tmp_path / MANIFEST_NAME).read_text()
    assert text.startswith('{\n  "dpa_manifest": 1,\n') and text.endswith("\n}\n")
    manifest = json.loads(text)
    assert list(manifest) == RUN_FIELDS + key_fields + DATA_FIELDS
    assert manifest["mode"] == mode and manifest["world_size"] == 2 and manifest["base_seed"] == 5
    if key_fields:
        assert (manifest["epoch"], manifest["key_version"]) == (3, "dpa-elastic-v1")
    assert list(manifest["shards"][0]) == ["file", "rank", "start_id", "end_id", "count", "sha256"]


#: Folders written by dpa 0.3.0's ``dpa._shards`` (as ``make_folder`` writes them: 10
#: ids from 5 over 3 rank-aware ranks; 7 ids from 5 over 2 elastic ranks, epoch 2;
#: base seed 9, augmentation depth 2, JSONL without statistics).
OLD_FOLDERS = TESTS / "data" / "shards-0.3"


@pytest.mark.parametrize("mode", ["rank_aware", "elastic"])
def test_folders_written_by_dpa_0_3_verify_and_merge(tmp_path: Path, mode: str) -> None:
    old = tmp_path / "old"
    shutil.copytree(OLD_FOLDERS / mode, old)
    report = verify_shards(old)
    assert report.ok, report.problems
    manifest = read_manifest(old)
    merged = tmp_path / "merged.jsonl"
    merge_shards(old, merged)
    config = dpa.AugmentationConfig(augmentation_depth=2)
    ids = range(5, 5 + manifest["total"])
    if mode == "elastic":
        expected = dpa.generate_elastic_batch(ids, config, base_seed=9, epoch=2).to_dicts()
    else:
        plan = plan_shards(manifest["total"], 3, start=5)
        expected = [
            {**dpa.generate_distributed_batch(range(lo, hi), rank, 3, config, 9)[i], "rank": rank}
            for rank, (lo, hi) in enumerate(plan)
            for i in range(hi - lo)
        ]
    assert records_of(merged) == expected

    # this version writes the same manifest (but for the time, version and checksums)
    new = make_folder(
        tmp_path / "new", manifest["total"], manifest["world_size"], mode=mode, start=5,
        base_seed=9, epoch=manifest.get("epoch", 0), config=config,
    )  # fmt: skip
    for written in (manifest, new):
        for key in ("generation_time", "version"):
            written.pop(key)
        for entry in written["shards"]:
            entry.pop("sha256")
    assert list(new) == list(manifest) and new == manifest


def _edited_manifest(folder: Path, **changes: Any) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del manifest[key]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_the_manifest_keys_are_checked(tmp_path: Path) -> None:
    make_folder(tmp_path, 6, 2, mode="elastic", epoch=1)
    _edited_manifest(tmp_path, key_version=None)  # read as the first version, like files
    assert verify_shards(tmp_path).ok
    _edited_manifest(tmp_path, key_version="dpa-elastic-v9")
    with pytest.raises(dpa.DPAFileError, match="'key_version' is 'dpa-elastic-v9'"):
        read_manifest(tmp_path)
    _edited_manifest(tmp_path, key_version="dpa-elastic-v1", epoch=None)
    with pytest.raises(dpa.DPAFileError, match="malformed manifest: epoch must be"):
        read_manifest(tmp_path)
    _edited_manifest(tmp_path, epoch=1, mode="plain")
    with pytest.raises(dpa.DPAFileError, match="unknown mode 'plain'"):
        read_manifest(tmp_path)
    with pytest.raises(ValueError, match="malformed manifest: 'shards' must be a list"):
        check_shards(tmp_path, {**empty_manifest(), "shards": None})


def empty_manifest() -> dict[str, Any]:
    """A well-formed manifest of a run of no ids, as a dict."""
    return {
        "dpa_manifest": 1, "mode": "rank_aware", "world_size": 1, "base_seed": 0,
        "format": "jsonl", "config": dpa.AugmentationConfig().to_dict(), "start": 0, "total": 0,
        "shards": [],
    }  # fmt: skip


# --------------------------------------------------------------------------- check


def test_a_huge_world_is_named_without_walking_it(tmp_path: Path) -> None:
    manifest = make_folder(tmp_path, 6, 3)
    manifest["world_size"] = MAX_WORLD_SIZE
    problems = check_shards(tmp_path, manifest)
    missing = "the manifest lists no shard for rank(s) 3, 4, 5, 6, 7, 8, 9, 10"
    assert f"{missing} and {MAX_WORLD_SIZE - 11} more" in problems
    manifest["world_size"] = 10**12  # more ranks than a manifest can list: malformed
    with pytest.raises(ValueError, match=r"world_size must be at most 1048576"):
        check_shards(tmp_path, manifest)


def test_shards_report_holds_verify_reports() -> None:
    with pytest.raises(TypeError, match="VerifyReport"):
        ShardsReport("out", shards=[1])  # type: ignore[list-item]
    assert ShardsReport("out").ok


# --------------------------------------------------------------------------- merge


def test_merged_scheme_keeps_a_rank_only_where_ranks_draw_apart() -> None:
    run = {"mode": "rank_aware", "base_seed": 4}
    assert merged_scheme({**run, "world_size": 1}) == RankAwareScheme(4, 0, 1)
    assert merged_scheme({**run, "world_size": 3}) == PerRecordRankScheme(4, 3)
    elastic = {"mode": "elastic", "base_seed": 4, "epoch": 1, "world_size": 3}
    assert merged_scheme(elastic) == ElasticScheme(4, 1)


# --------------------------------------------------------------------------- generate


def test_rank_zero_failing_the_manifest_fails_every_rank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dpa._shards.generate

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dpa._shards.generate, "write_manifest", failing)
    results = run_threads(2, lambda group: generate_shards(tmp_path, 8, group=group))
    assert isinstance(results[0], OSError)
    assert isinstance(results[1], ShardError)
    assert str(results[1]).startswith("rank 0 could not write the manifest: [Errno 28]")


@pytest.mark.parametrize(
    "options", [{"mode": "plain"}, {"base_seed": -1}, {"format": "json"}, {"start": -2}], ids=str
)
def test_bad_arguments_fail_every_rank_before_any_waits(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    results = run_threads(3, lambda group: generate_shards(tmp_path, 9, group=group, **options))
    assert all(isinstance(r, ValueError) for r in results), results
    assert not list(tmp_path.iterdir())


def test_generate_shards_needs_a_group_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="group"):
        generate_shards(tmp_path, 9, group=object())  # type: ignore[arg-type]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    results = run_threads(2, lambda group: generate_shards(blocker, 9, group=group))
    assert all(isinstance(r, ShardError) and "is a file" in str(r) for r in results), results
