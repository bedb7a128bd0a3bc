"""benchmarks/bench_apply.py runs, checks dpa against the reference first, and reports
every contender, dtype and thread count (figures only: no timing is asserted)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dpa import _kernel

for module in ("torch", "torchvision", "kornia", "cv2"):
    pytest.importorskip(module)

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_bench_apply_runs_and_reports_every_contender(tmp_path: Path) -> None:
    if _kernel.KERNEL is None:
        reason = f"the native kernel is not available ({_kernel.IMPORT_ERROR})"
        pytest.fail(reason) if os.environ.get("DPA_REQUIRE_NATIVE") == "1" else pytest.skip(reason)
    report = tmp_path / "apply.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_apply.py"), "--samples", "8", "--batch", "4",
         "--repeats", "1", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "agreement: dpa" in done.stdout and "bit for bit" in done.stdout
    for text in ("dpa", "torchvision", "kornia", "opencv", "uint8", "2 threads / 1 thread"):
        assert text in done.stdout
    assert "FAIL" not in done.stdout  # figures, not a check, without --check
    figures = json.loads(report.read_text())
    names = {
        f"{contender} {dtype} {threads}t"
        for contender in ("dpa", "torchvision", "kornia", "opencv")
        for dtype in ("float32", "uint8")
        for threads in (1, 2)
    }
    assert names | {"sha256 1t", "sha256 2t"} == set(figures["rates"])
    assert all(rate["best"] > 0 for rate in figures["rates"].values())
    assert set(figures["groups"]) == {"float32 1t", "float32 2t", "uint8 1t", "uint8 2t"}
    assert figures["machine_2_threads_vs_1"]["best"] > 0
    assert len(figures["acceptance"]) == 3


def test_the_gpu_figures_code_runs_on_any_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU section, run on the CPU: a machine without a GPU still runs its code."""
    import torch

    import dpa

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench_apply = importlib.import_module("bench_apply")
    images = torch.rand(6, 3, 16, 16)
    params = dpa.generate_batch(range(6), dpa.get_preset("moderate"))
    figures = bench_apply.gpu_figures(images, params, batch=4, repeats=1, device="cpu")
    assert set(figures["rates"]) == {"dpa", "kornia"}
    assert figures["max_abs_cpu_gpu_difference"] == 0.0 and figures["device"] == "cpu"
    assert figures["dpa_vs_kornia"]["best"] > 0
