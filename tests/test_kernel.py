"""The native kernel against the Python reference: bit for bit, on every path.

The kernel has fast paths (SHA extensions, AVX2 lanes) and portable ones; each
is checked. Set DPA_REQUIRE_NATIVE=1 (as `make test` does) to make a missing
kernel a failure instead of a skip.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dpa
from dpa import (
    PARAM_NAMES,
    AugmentationConfig,
    ParamBatch,
    _backends as backends,
    _core as core,
    generate_batch,
)
from dpa._generate import _check_ids, _generate, _RawScheme
from dpa._kernel import KERNEL
from strategies import valid_configs

REQUIRED = os.environ.get("DPA_REQUIRE_NATIVE") == "1"


def test_native_kernel_is_built_where_required() -> None:
    if REQUIRED:
        assert backends.native_available(), dpa._kernel.IMPORT_ERROR
        assert dpa.backend() == "native" or os.environ.get("DPA_BACKEND") == "python"
    elif not backends.native_available():
        pytest.skip(f"native kernel not built: {dpa._kernel.IMPORT_ERROR}")


needs_kernel = pytest.mark.skipif(KERNEL is None and not REQUIRED, reason="native kernel not built")
pytestmark = needs_kernel

PATHS = [(True, True), (True, False), (False, True), (False, False)]


@pytest.fixture(params=PATHS, ids=lambda p: f"sha={'fast' if p[0] else 'portable'}-"
                f"mt={'fast' if p[1] else 'portable'}")  # fmt: skip
def kernel_path(request: pytest.FixtureRequest) -> Iterator[dict]:  # type: ignore[type-arg]
    """Each combination of fast and portable code paths; the fast ones restored after."""
    assert KERNEL is not None
    features = KERNEL.select(*request.param)
    try:
        yield features
    finally:
        KERNEL.select(True, True)


def both(ids: object, config: AugmentationConfig | None = None, prefix: bytes = b"", **kw: int):  # type: ignore[no-untyped-def]
    """The same batch from each backend."""
    values, column = _check_ids(ids)
    config = config or AugmentationConfig()
    scheme = _RawScheme(prefix, 1)  # any prefix, even one no scheme object would make
    native = _generate(values, column, config, scheme, backend="native", **kw)
    python = _generate(values, column, config, scheme, backend="python")
    return native, python


def assert_identical(a: ParamBatch, b: ParamBatch) -> None:
    assert a.equals(b)
    for name in PARAM_NAMES:  # equals() compares bits; say which column differs if not
        assert np.array_equal(getattr(a, name).view(np.uint64), getattr(b, name).view(np.uint64)), (
            name
        )
    assert np.array_equal(a.hash, b.hash)


def test_known_answers_every_path(kernel_path: dict, vectors: dict, configs: dict) -> None:  # type: ignore[type-arg]
    for vector in vectors["core"]:
        config = configs[vector["config"]]
        assert (
            dpa.gen_augmentation_params(vector["seed_id"], config, backend="native")
            == vector["params"]
        )
        batch = generate_batch([vector["seed_id"]] * 3, config, backend="native")
        assert batch.to_dicts()[1] == {**vector["params"], "sample_id": vector["seed_id"]}
    for vector in vectors["distributed"]:
        prefix = f"{vector['base_seed']}:{vector['rank']}:".encode()
        native, _ = both([vector["sample_id"]], configs[vector["config"]], prefix)
        record = native.to_dicts()[0]
        expected = {k: v for k, v in vector["params"].items() if k != "rank"}
        assert {k: record[k] for k in expected} == expected


def test_fast_and_portable_paths_agree(kernel_path: dict) -> None:  # type: ignore[type-arg]
    ids = [*range(0, 3000, 7), 2**64 - 1, 2**64, 2**100, 10**40]
    native, python = both(ids, dpa.get_preset("aggressive"))
    assert_identical(native, python)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=0, max_value=2**130), min_size=1, max_size=70),
    config=valid_configs(300),
    prefix=st.sampled_from([b"", b"0:0:", b"12345:3:", b"%d:1:" % (10**60)]),
)
def test_native_equals_reference_property(
    ids: list[int], config: AugmentationConfig, prefix: bytes
) -> None:
    native, python = both(ids, config, prefix)
    assert_identical(native, python)


@pytest.mark.parametrize("depth", [1, 2, 3, 54, 55, 56, 119, 120, 265, 266, 300, 1000])
def test_depths_where_the_fib_digits_need_more_blocks(depth: int) -> None:
    config = AugmentationConfig(augmentation_depth=depth)
    native, python = both([0, 1, 99, 2**70], config)
    assert_identical(native, python)
    assert dpa.gen_augmentation_params(5, config, backend="native") == core.gen_augmentation_params(
        5, config
    )


def test_long_keys() -> None:
    """Keys longer than the per-sample path's stack buffer, on every entry point."""
    huge = 10**300 + 12345
    config = dpa.get_preset("mild")
    assert dpa.gen_augmentation_params(
        huge, config, backend="native"
    ) == core.gen_augmentation_params(huge, config)
    native, python = both([3, huge], config, prefix=b"%d:7:" % (10**250))
    assert_identical(native, python)
    native, python = both(range(40), config, prefix=b"9" * 500 + b":0:")
    assert_identical(native, python)


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 9000])
def test_workers_split_without_changing_anything(workers: int, n: int) -> None:
    one = generate_batch(range(1000, 1000 + n), backend="native")
    split = generate_batch(range(1000, 1000 + n), backend="native", workers=workers)
    assert_identical(one, split)
    if n:
        big = generate_batch([2**64 + i for i in range(n)], backend="native", workers=workers)
        assert_identical(big, generate_batch([2**64 + i for i in range(n)], backend="python"))


@pytest.mark.slow
def test_one_million_consecutive_ids_against_the_reference() -> None:
    batch = generate_batch(range(1_000_000), workers=2, backend="native")
    rng = np.random.default_rng(20261126)  # a private generator: no global seed touched
    picks = np.concatenate([rng.choice(1_000_000, size=3000, replace=False), [0, 999_999]])
    for i in picks.tolist():
        expected = core.gen_augmentation_params(i)
        got = batch[i]
        assert got == {**expected, "sample_id": i}, i


def test_bad_workers_and_backends() -> None:
    with pytest.raises(ValueError, match="workers"):
        generate_batch(range(3), workers=0)
    with pytest.raises(TypeError, match="workers"):
        generate_batch(range(3), workers=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown backend"):
        generate_batch(range(3), backend="gpu")
    with pytest.raises(ValueError, match="unknown backend"):
        dpa.gen_augmentation_params(3, backend="gpu")
    with pytest.raises(ValueError, match="unknown backend"):
        dpa.iter_batches(0, 10, backend="gpu")  # at call time, not mid-stream


def test_forcing_native_where_it_is_missing_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dpa._kernel, "KERNEL", None)
    monkeypatch.setattr(dpa._kernel, "IMPORT_ERROR", "No module named '_dpa_kernel'")
    with pytest.raises(RuntimeError, match="native kernel is not available"):
        generate_batch(range(3), backend="native")
    monkeypatch.setenv("DPA_BACKEND", "native")
    backends.forget_default()
    try:
        with pytest.raises(RuntimeError, match="DPA_BACKEND='native'"):
            dpa.backend()
        monkeypatch.delenv("DPA_BACKEND")
        backends.forget_default()
        assert dpa.backend() == "python"  # falls back by itself when not forced
        assert generate_batch(range(5)).equals(generate_batch(range(5), backend="python"))
    finally:
        monkeypatch.undo()
        backends.forget_default()


@pytest.mark.parametrize(
    ("value", "expected"), [("python", "python"), ("native", "native"), ("", "native")]
)
def test_dpa_backend_environment_variable(value: str, expected: str) -> None:
    env = {**os.environ, "DPA_BACKEND": value}
    code = "import dpa; print(dpa.backend(), dpa.gen_augmentation_params(0)['rotation'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    name, rotation = done.stdout.split()
    assert name == expected and float(rotation) == -0.14542826986576074


def test_unknown_dpa_backend_value_is_named() -> None:
    env = {**os.environ, "DPA_BACKEND": "cuda"}
    code = "import dpa; dpa.generate_batch(range(2))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "DPA_BACKEND='cuda'" in done.stderr and "unknown backend" in done.stderr


def test_the_kernel_leaves_the_inputs_alone() -> None:
    keys_list = [2**64 + i for i in range(50)]
    before = list(keys_list)
    generate_batch(keys_list, workers=2, backend="native")
    assert keys_list == before


def _reference_draws(digest: bytes, seed_words: int) -> tuple[float, ...]:
    number = int.from_bytes(digest, "big")
    generator = random.Random(number if seed_words == 8 else number % 2**32)
    return tuple(generator.random() for _ in range(5))


@pytest.mark.parametrize("seed_words", [1, 8])
def test_seeding_from_digests_with_leading_zero_words(kernel_path: dict, seed_words: int) -> None:  # type: ignore[type-arg]
    """random.Random(int) drops leading zero words from its key; so must the kernel,
    alone or with 32 lanes of one key length, or of several."""
    assert KERNEL is not None
    rng = random.Random(7)
    digests = [rng.randbytes(32) for _ in range(40)]
    for zeros in range(8):  # 0 .. 7 leading zero words, then all zero
        digests.append(bytes(4 * zeros) + rng.randbytes(32 - 4 * zeros))
    digests += [bytes(32), bytes(31) + b"\x01", bytes(4) + b"\xff" * 28]
    uniform = [bytes(8) + rng.randbytes(24) for _ in range(32)]  # 32 lanes of length 6
    for batch in (digests, uniform, digests[:1]):
        got = KERNEL.draws(b"".join(batch), seed_words)
        assert got == [_reference_draws(d, seed_words) for d in batch]


def test_a_missing_kernel_is_named_as_not_built(tmp_path: Path) -> None:
    """Without the compiled extension, forcing the native backend says the kernel was
    not built (not Python's 'partially initialized module ... circular import')."""
    import shutil

    source = Path(dpa.__file__).parent
    shutil.copytree(source, tmp_path / "dpa", ignore=shutil.ignore_patterns("*.so", "*.pyd"))
    code = "import dpa; dpa.generate_batch(range(3))"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DPA_BACKEND": "native"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "native kernel is not available (it was not built" in last
    assert "circular" not in result.stderr
    env["DPA_BACKEND"] = "python"  # the reference still works there
    result = subprocess.run([sys.executable, "-c", code], env=env, timeout=120)
    assert result.returncode == 0
