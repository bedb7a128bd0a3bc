"""The `dpa` command: in-process through `main(argv)`, and as a real process where
signals or the console script matter."""

from __future__ import annotations

import ast
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given, settings, strategies as st

import dpa
from dpa._cli import main
from dpa._cli.generate_run import key_scheme
from dpa._cli.options import FiniteFloatRange
from dpa._cli.progress import progress_bar
from dpa._io import partial_path
from dpa._keys import PLAIN, ElasticScheme, RankAwareScheme

DPA = [sys.executable, "-m", "dpa"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dpa: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_generate_verify_stats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    code, _, err = run(capsys, "generate", "-n", "300", "--start", "7", "-o", str(target))
    assert code == 0, err
    assert f"wrote 300 samples to {target}" in err
    records = dpa.load_augmentation_chain(target)
    assert [r["sample_id"] for r in records] == list(range(7, 307))
    assert records == dpa.generate_batch(range(7, 307)).to_dicts()

    code, out, _ = run(capsys, "verify", str(target))
    assert code == 0
    assert out.startswith("OK: all 300 records")

    code, out, _ = run(capsys, "stats", str(target), "--json")
    assert code == 0
    printed, expected = json.loads(out), dpa.compute_statistics(records)
    for name in dpa.PARAM_NAMES:
        assert printed[name] == pytest.approx(expected[name], rel=1e-12)
    code, out, _ = run(capsys, "stats", str(target))
    assert code == 0
    assert "rotation" in out and "300 samples" in out


def test_generate_config_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "o.jsonl"
    code, _, err = run(
        capsys,
        "generate", "-n", "20", "--preset", "mild", "--rotation", "-5", "5",
        "--depth", "3", "-o", str(target), "-q",
    )  # fmt: skip
    assert code == 0 and err == ""
    expected = dpa.AugmentationConfig(
        rotation_range=(-5, 5),
        brightness_range=(0.9, 1.1),
        noise_range=(0, 0.05),
        scale_range=(0.9, 1.1),
        contrast_range=(0.85, 1.15),
        augmentation_depth=3,
    )
    file = dpa.read_augmentation_file(target)
    assert file.config == expected
    assert dpa.load_augmentation_chain(target) == dpa.generate_batch(range(20), expected).to_dicts()


def test_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = dpa.AugmentationConfig(noise_range=(0.1, 0.2), augmentation_depth=2)
    config_file = tmp_path / "cfg.json"
    config_file.write_text(json.dumps(config.to_dict()))
    code, out, _ = run(capsys, "show", "12", "--config", str(config_file))
    assert code == 0
    assert json.loads(out) == {"sample_id": 12, **dpa.gen_augmentation_params(12, config)}
    # a dpa JSON output file works as a config file too
    data_file = tmp_path / "data.json"
    dpa.save_augmentation_chain(dpa.generate_batch(range(2), config), data_file, config)
    code, out, _ = run(capsys, "show", "3", "--config", str(data_file))
    assert json.loads(out)["noise"] == dpa.gen_augmentation_params(3, config)["noise"]


def test_show_matches_vectors(capsys: pytest.CaptureFixture[str], vectors: dict) -> None:
    for vector in vectors["core"]:
        if vector["config"] not in ("default", "mild", "aggressive"):
            continue
        preset = [] if vector["config"] == "default" else ["--preset", vector["config"]]
        code, out, _ = run(capsys, "show", str(vector["seed_id"]), *preset)
        assert code == 0
        assert json.loads(out) == {"sample_id": vector["seed_id"], **vector["params"]}


def test_presets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "presets", "--json")
    assert code == 0
    assert json.loads(out) == {name: cfg.to_dict() for name, cfg in dpa.PRESETS.items()}
    code, out, _ = run(capsys, "presets")
    assert all(name in out for name in ("mild", "moderate", "aggressive"))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["generate", "-n", "-1", "-o", "x.json"], ["'-n'", "x>=0"]),
        (["generate", "-n", "1.5", "-o", "x.json"], ["1.5"]),
        (["generate", "-n", "5", "--start", "-3", "-o", "x.json"], ["'--start'", "x>=0"]),
        (["generate", "-n", "5", "-o", "x.txt"], ["x.txt", "--format"]),
        (["generate", "-n", "5", "-o", "x.json", "--rotation", "5", "1"], ["rotation_range"]),
        (["generate", "-n", "5", "-o", "x.json", "--noise", "nan", "1"], ["finite"]),
        (["generate", "-n", "5", "-o", "x.json", "--scale", "1", "inf"], ["finite"]),
        (["generate", "-n", "5", "-o", "x.json", "--depth", "0"], ["augmentation_depth"]),
        (["generate", "-n", "5", "-o", "x.json", "--preset", "wild"], ["wild"]),
        (["generate", "-n", "5", "-o", "x.json", "--resume"], ["--resume"]),
        (["generate", "-n", "5", "-o", "x.json", "--batch-size", "0"], ["'--batch-size'", "x>=1"]),
        (["generate", "-n", "5"], ["--output"]),
        (["show", "-4"], ["-4"]),
        (["show", "--", "-4"], ["'SAMPLE_ID'", "-4", "x>=0"]),
        (["show", "abc"], ["abc"]),
        (["show", "1", "--config", "missing.json"], ["missing.json"]),
        (["verify", "missing.parquet"], ["'FILE'", "missing.parquet", "does not exist"]),
        (["stats", "missing.jsonl"], ["missing.jsonl"]),
        (["frobnicate"], ["frobnicate"]),
        (["generate", "-n", "5", "-o", "x.json", "--workers", "0"], ["'--workers'", "x>=1"]),
        (["generate", "-n", "5", "-o", "x.json", "--max-memory-mb", "nan"], ["finite"]),
        (["generate", "-n", "5", "-o", "x.json", "--epoch", "1"], ["--epoch", "--distributed"]),
        (["verify", ".", "--max-mismatches", "-1"], ["'--max-mismatches'"]),
        (["stats", "."], ["'.'", "directory"]),
        (["merge", "nope", "-o", "x.json"], ["'nope'", "does not exist"]),
        (["preview", "-n", "100000", "-o", "x.png"], ["'--num'", "1<=x<="]),
    ],
)
def test_usage_errors_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_usage_error(*run(capsys, *argv), *words)
    assert not list(tmp_path.iterdir())  # nothing written


def test_bad_config_file_and_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_usage_error(*run(capsys, "show", "1", "--config", str(bad)), "bad.json", "JSON")
    assert_usage_error(
        *run(capsys, "show", "1", "--preset", "mild", "--config", str(bad)), "--preset", "--config"
    )
    bad.write_text(json.dumps({"rotation_range": [1, 0]}))
    assert_usage_error(*run(capsys, "show", "1", "--config", str(bad)), "rotation_range")
    bad.write_text(json.dumps({"colour_range": [1, 2]}))
    assert_usage_error(*run(capsys, "show", "1", "--config", str(bad)), "colour_range")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert_usage_error(
        *run(capsys, "generate", "-n", "3", "-o", str(blocker / "out.json")), "file.txt"
    )
    assert_usage_error(*run(capsys, "generate", "-n", "3", "-o", str(tmp_path)), "folder")


def test_verify_fails_on_edited_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "p.jsonl"
    assert run(capsys, "generate", "-n", "50", "-o", str(target), "-q")[0] == 0
    lines = target.read_text().splitlines(keepends=True)
    record = json.loads(lines[18])  # sample 17
    record["brightness"] = record["brightness"] + 1e-9
    lines[18] = json.dumps(record) + "\n"
    target.write_text("".join(lines))
    code, out, _ = run(capsys, "verify", str(target))
    assert code == 1
    assert out.startswith("FAILED")
    assert "sample 17" in out and "brightness" in out


def test_verify_fails_on_truncated_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "p.json"
    assert run(capsys, "generate", "-n", "50", "-o", str(target), "-q")[0] == 0
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    code, out, _ = run(capsys, "verify", str(target))
    assert code == 1
    assert "FAILED" in out and "truncated" in out
    assert_usage_error(*run(capsys, "stats", str(target)), "truncated")


def test_resume_continues_interrupted_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dpa._io

    target = tmp_path / "r.parquet"
    real_iter = dpa._io.iter_batches

    def interrupted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for index, batch in enumerate(real_iter(*args, **kwargs)):  # type: ignore[arg-type]
            if index == 3:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(dpa._io, "iter_batches", interrupted)
    assert main(["generate", "-n", "1000", "-o", str(target), "--batch-size", "100"]) == 130
    assert "--resume" in capsys.readouterr().err
    assert not target.exists() and partial_path(target).exists()
    monkeypatch.setattr(dpa._io, "iter_batches", real_iter)

    code, _, err = run(capsys, "generate", "-n", "1000", "-o", str(target), "--resume")
    assert code == 0, err
    assert "(300 resumed)" in err
    assert not partial_path(target).exists()
    assert dpa.load_augmentation_chain(target) == dpa.generate_batch(range(1000)).to_dicts()
    assert run(capsys, "verify", str(target))[0] == 0


def test_progress_bar_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "p.jsonl"
    run(capsys, "generate", "-n", "200", "-o", str(target))
    assert "samples/s" not in capsys.readouterr().err  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "generate", "-n", "200", "-o", str(target))
    assert code == 0
    assert "200/200" in err
    code, _, err = run(capsys, "generate", "-n", "200", "-o", str(target), "--quiet")
    assert code == 0 and err == ""


def test_progress_bar_takes_increments_as_tqdm_update_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress_bar(10, quiet=False, label="work") as progress:
        assert progress is not None
        progress(3)
        progress(7)
    assert "work: 100%" in capsys.readouterr().err
    with progress_bar(10, quiet=True, label="work") as progress:
        assert progress is None


def test_key_scheme_of_the_options() -> None:
    assert key_scheme(False, None, None, None) == PLAIN
    assert key_scheme(True, None, None, None) == RankAwareScheme(0, 0, 1)
    assert key_scheme(True, None, 5, None) == RankAwareScheme(5, 0, 1)
    assert key_scheme(True, "elastic", 5, 2) == ElasticScheme(5, 2)
    with pytest.raises(click.UsageError, match="--base-seed: only with --distributed"):
        key_scheme(False, None, 5, None)
    with pytest.raises(click.UsageError, match="--epoch needs --mode elastic"):
        key_scheme(True, "rank_aware", None, 1)


def test_finite_float_range_refuses_what_float_range_lets_through() -> None:
    positive = FiniteFloatRange(min=0, min_open=True)
    assert positive.convert("1e308", None, None) == 1e308
    for token in ("nan", "inf", "0", "-1"):
        with pytest.raises(click.BadParameter):
            positive.convert(token, None, None)


def test_the_group_loads_a_command_s_dependencies_when_it_runs() -> None:
    heavy = ["tqdm", "pyarrow", "PIL", "torch", "scipy", "matplotlib", "dpa.benchmark"]
    heavy += ["dpa._io", "dpa._shards", "dpa._quality", "dpa._preview", "dpa._verify"]
    code = (
        "import json, sys\n"
        "from dpa._cli import cli, main\n"
        "main(['--help'])\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_only_the_command_imports_click_and_tqdm() -> None:
    source = Path(dpa.__file__).parent
    found = []
    for path in source.rglob("*.py"):
        if "_cli" in path.relative_to(source).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("click", "tqdm")]
    assert found == []


@pytest.mark.integration
def test_console_script_version_and_help() -> None:
    script = Path(sys.executable).with_name("dpa")
    command = [str(script)] if script.exists() else DPA
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, check=True)
    assert dpa.__version__ in done.stdout
    done = subprocess.run([*command, "generate", "-n", "x"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the child process")
        time.sleep(0.01)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_sigkill_leaves_no_output_file(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"killed.{fmt}"
    argv = [*DPA, "generate", "-n", "400000", "--batch-size", "1000", "-o", str(target)]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if fmt == "json":
            _wait_for(lambda: any(p.stat().st_size > 100_000 for p in tmp_path.glob(".*.tmp")))
        elif fmt == "jsonl":
            partial = partial_path(target)
            _wait_for(lambda: partial.exists() and partial.stat().st_size > 100_000)
        else:
            _wait_for(lambda: len(list(partial_path(target).glob("part-*.parquet"))) >= 2)
        assert child.poll() is None, "the run ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not target.exists()
    if fmt != "json":  # the interrupted run can be continued and gives the full, exact file
        done = subprocess.run(
            [*DPA, "generate", "-n", "60000", "-o", str(target), "--resume", "-q"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert dpa.read_augmentation_file(target).num_samples == 60000
        assert subprocess.run([*DPA, "verify", str(target)], capture_output=True).returncode == 0


@pytest.mark.integration
def test_sigint_keeps_progress_and_says_how_to_resume(tmp_path: Path) -> None:
    target = tmp_path / "stopped.jsonl"
    argv = [*DPA, "generate", "-n", "400000", "--batch-size", "1000", "-o", str(target)]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = partial_path(target)
    try:
        _wait_for(lambda: partial.exists() and partial.stat().st_size > 50_000)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    assert not target.exists() and partial.exists()
    os.remove(partial)


@settings(max_examples=25)
@given(
    fmt=st.sampled_from(["json", "jsonl", "parquet"]),
    n=st.integers(min_value=1, max_value=40),
    start=st.integers(min_value=0, max_value=2**70),
    data=st.data(),
)
def test_verify_property_untouched_passes_one_ulp_edit_fails(
    fmt: str, n: int, start: int, data: st.DataObject
) -> None:
    config = data.draw(st.sampled_from(sorted(dpa.PRESETS)).map(dpa.get_preset))
    records = dpa.generate_batch(range(start, start + n), config).to_dicts()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"p.{fmt}"
        dpa.save_augmentation_chain(records, target, config)
        assert main(["verify", "-q", str(target)]) == 0

        row = data.draw(st.integers(min_value=0, max_value=n - 1))
        field = data.draw(st.sampled_from([*dpa.PARAM_NAMES, "hash"]))
        edited = [dict(r) for r in records]
        if field == "hash":
            digest = edited[row]["hash"]
            edited[row]["hash"] = digest[:-1] + ("0" if digest[-1] != "0" else "1")
        else:
            edited[row][field] = math.nextafter(edited[row][field], math.inf)
        dpa.save_augmentation_chain(edited, target, config)
        assert main(["verify", "-q", str(target)]) == 1


# --------------------------------------------------------------------------- verify's verdicts


def _generated(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, *extra: str) -> Path:
    target = tmp_path / f"p.{fmt}"
    code, _, _ = run(
        capsys, "generate", "-n", "6", "--start", "10", "-q", "-o", str(target), *extra
    )
    assert code == 0
    return target


def _edit_jsonl_records(path: Path, edit: Any) -> None:
    lines = path.read_text().splitlines()
    lines[1:-1] = edit(lines[1:-1])
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("stats", [[], ["--no-stats"]])
@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("swapped", lambda rows: [rows[1], rows[0], *rows[2:]]),
        ("duplicated", lambda rows: [rows[0], rows[0], *rows[2:]]),
    ],
)
def test_verify_checks_the_ids_a_generated_file_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, edit: Any, stats: list[str]
) -> None:
    """Each record recomputes from its own id; the ids themselves must be the run's:
    start .. start+n-1, in order, once."""
    path = _generated(tmp_path, capsys, "jsonl", *stats)
    _edit_jsonl_records(path, edit)
    code, out, _ = run(capsys, "verify", "-q", str(path))
    assert code == 1, name
    assert "FAILED" in out and ", expected sample " in out


def test_verify_checks_the_ids_of_a_parquet_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = _generated(tmp_path, capsys, "parquet")
    table = pq.read_table(path)
    order = [1, 0, 2, 3, 4, 5]
    pq.write_table(table.take(order).replace_schema_metadata(table.schema.metadata), path)
    code, out, _ = run(capsys, "verify", "-q", str(path))
    assert code == 1 and "FAILED" in out


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_verify_exits_1_for_a_damaged_file_of_any_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, damage: str
) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    path = _generated(tmp_path, capsys, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    code, out, err = run(capsys, "verify", "-q", str(path))
    assert (code, err) == (1, "")
    assert out.startswith("FAILED: ") and str(path) in out


def test_verify_exit_2_when_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "verify", str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not dpa")
    code, out, err = run(capsys, "verify", str(plain))
    assert (code, out) == (2, "")
    assert "not a dpa shard folder" in err and err.count("\n") == 1
    if os.geteuid() != 0:  # root reads anything
        locked = _generated(tmp_path, capsys, "json")
        locked.chmod(0)
        code, _, err = run(capsys, "verify", str(locked))
        assert code == 2 and "cannot be read" in err


def test_verify_of_shards_without_a_manifest_is_a_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shard files but no manifest: an unfinished run, so damaged output (exit 1)."""
    folder = tmp_path / "run"
    code, _, _ = run(capsys, "generate", "-n", "8", "--distributed", "--format", "jsonl", "-q",
                     "-o", str(folder))  # fmt: skip
    assert code == 0
    (folder / "_manifest.json").unlink()
    code, out, _ = run(capsys, "verify", "-q", str(folder))
    assert code == 1 and "no manifest" in out


def test_help_lists_each_command_on_one_whole_line(capsys: pytest.CaptureFixture[str]) -> None:
    """`dpa --help` shows each command's summary whole (click cuts long docstrings
    mid-sentence with '...')."""
    code, out, _ = run(capsys, "--help")
    assert code == 0
    commands = out.split("Commands:", 1)[1].strip().splitlines()
    assert len(commands) == 8
    for line in commands:
        assert not line.rstrip().endswith("..."), line
        assert line.rstrip().endswith((".", ")")), line


@pytest.mark.parametrize(
    "command", [["show", "1"], ["presets"], ["generate", "-n", "2", "-o", "x.json"]]
)
def test_a_bad_dpa_backend_fails_every_command_alike(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dpa import _backends

    monkeypatch.setenv("DPA_BACKEND", "bogus")
    monkeypatch.setattr(_backends, "_default", None)
    code, out, err = run(capsys, *command)
    assert (code, out) == (2, "")
    assert err == "dpa: error: DPA_BACKEND='bogus': unknown backend; choose native or python\n"


# --- stats reads stored figures


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_stats_uses_the_statistics_a_file_stores(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    """JSON Lines keeps its statistics in its last line, Parquet in its summary:
    `dpa stats` reads them there, not every record (verify is what recomputes)."""
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    target = tmp_path / f"p.{fmt}"
    assert run(capsys, "generate", "-n", "500", "-q", "-o", str(target))[0] == 0
    _, computed, _ = run(capsys, "stats", "--json", str(target))  # baseline, below

    def no_records(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the records")

    monkeypatch.setattr(dpa.AugmentationFile, "iter_batches", no_records)
    code, out, _ = run(capsys, "stats", str(target))
    assert code == 0 and "500 samples" in out and "statistics stored in the file" in out
    code, stored, _ = run(capsys, "stats", "--json", str(target))
    assert json.loads(stored).keys() == json.loads(computed).keys()


def test_stats_reads_the_records_where_no_statistics_are_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "p.jsonl"
    assert run(capsys, "generate", "-n", "50", "-q", "--no-stats", "-o", str(target))[0] == 0
    code, out, _ = run(capsys, "stats", str(target))
    assert code == 0 and "50 samples" in out and "computed from the records" in out
    lines = target.read_text().splitlines()
    end = json.loads(lines[-1])
    end["end"]["statistics"] = {"rotation": {"mean": 1e9}}  # damaged: not trusted
    target.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n")
    code, out, _ = run(capsys, "stats", str(target))
    assert code == 0 and "computed from the records" in out
