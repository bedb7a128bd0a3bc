"""The sample key as randomness: the seed's known answers (a contract), the global
generators seeded and restored by ``dpa.seeded``, per-sample generators, threads."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

import dpa
from dpa._keys import PLAIN, ElasticScheme, RankAwareScheme
from dpa._seeding import current_sample, epoch_seed, key_seed, key_seeded, seeded_with

torch = pytest.importorskip("torch")

#: (sample_id, base_seed, epoch) -> sample_seed: version dpa-sample-seed-v1, never to change.
SEED_VECTORS = {
    (0, 0, 0): 3472542462517874419,
    (7, 0, 0): 4867341245074914584,
    (7, 0, 1): 10079274784938574553,
    (7, 42, 0): 4708634349213293304,
    (123456789, 5, 3): 16546421434082010791,
    (2**70, 0, 0): 7521110092577590818,
}
EPOCH_VECTORS = {(0, 0): 6354438185461898710, (42, 7): 4141387632309953727}


def test_known_answers() -> None:
    for (sample_id, base_seed, epoch), expected in SEED_VECTORS.items():
        assert dpa.sample_seed(sample_id, base_seed=base_seed, epoch=epoch) == expected
    for (base_seed, epoch), expected in EPOCH_VECTORS.items():
        assert epoch_seed(base_seed, epoch) == expected


def test_the_seed_is_its_documented_derivation() -> None:
    for sample_id, base_seed, epoch in SEED_VECTORS:
        digest = dpa.gen_elastic_augmentation_params(sample_id, base_seed=base_seed, epoch=epoch)
        raw = hashlib.sha256(b"dpa-sample-seed-v1:" + digest["hash"].encode()).digest()
        seed = dpa.sample_seed(sample_id, base_seed=base_seed, epoch=epoch)
        assert seed == int.from_bytes(raw[:8], "big")
        assert 0 <= seed < 2**64
    raw = hashlib.sha256(b"dpa-epoch-seed-v1:42:7").digest()
    assert epoch_seed(42, 7) == int.from_bytes(raw[:8], "big")
    # the config plays no part; other schemes key the same way
    assert key_seed(ElasticScheme(0, 0), 7) == dpa.sample_seed(7)
    plain = hashlib.sha256(b"dpa-sample-seed-v1:" + dpa.gen_augmentation_seed(7).encode())
    assert key_seed(PLAIN, 7) == int.from_bytes(plain.digest()[:8], "big")
    assert key_seed(RankAwareScheme(0, 1, 2), 7) != key_seed(RankAwareScheme(0, 0, 2), 7)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: dpa.sample_seed(-1), ValueError),
        (lambda: dpa.sample_seed(True), TypeError),
        (lambda: dpa.sample_seed(1.5), TypeError),
        (lambda: dpa.sample_seed(1, base_seed=-2), ValueError),
        (lambda: dpa.seeded(1, epoch=-1), ValueError),
        (lambda: key_seed("elastic", 1), TypeError),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


def global_states() -> tuple[Any, ...]:
    legacy = np.random.get_state()
    return (
        random.getstate(),
        legacy[0],
        legacy[1].tobytes(),
        *legacy[2:],
        torch.get_rng_state().numpy().tobytes(),
    )


def draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.random()), float(torch.rand(1))


def test_seeded_seeds_every_global_generator_and_restores_it() -> None:
    random.seed(1)
    np.random.seed(2)
    np.random.standard_normal()  # a cached Gaussian is part of the state
    torch.manual_seed(3)
    before = global_states()
    with dpa.seeded(5, base_seed=1, epoch=2) as seed:
        first = draws()
    assert seed == dpa.sample_seed(5, base_seed=1, epoch=2)
    assert global_states() == before
    with dpa.seeded(5, base_seed=1, epoch=2):
        assert draws() == first
    with dpa.seeded(6, base_seed=1, epoch=2):
        assert draws() != first
    assert global_states() == before


def test_seeded_restores_after_an_exception() -> None:
    before = global_states()
    with pytest.raises(RuntimeError, match="inside"), dpa.seeded(3):
        draws()
        raise RuntimeError("inside")
    assert global_states() == before
    assert current_sample() is None


def test_the_per_sample_generators_are_the_blocks_streams() -> None:
    with dpa.seeded(9, epoch=4):
        python, torch_values = random.random(), torch.rand(5)
        legacy = np.random.random(3)
    assert dpa.sample_python_random(9, epoch=4).random() == python
    generator = dpa.sample_torch_generator(9, epoch=4)
    assert isinstance(generator, torch.Generator)
    assert torch.equal(torch.rand(5, generator=generator), torch_values)
    seed = dpa.sample_seed(9, epoch=4)
    state = np.random.RandomState([seed & 0xFFFFFFFF, seed >> 32])
    assert np.array_equal(state.random(3), legacy)
    rng = dpa.sample_numpy_generator(9, epoch=4)
    assert isinstance(rng, np.random.Generator)
    assert rng.random() == np.random.default_rng(seed).random()


def test_nested_blocks_and_the_current_sample() -> None:
    before = global_states()
    with dpa.seeded(1):
        assert current_sample() == (ElasticScheme(0, 0), 1)
        outer = random.random()
        with key_seeded(RankAwareScheme(3, 1, 2), 8):
            assert current_sample() == (RankAwareScheme(3, 1, 2), 8)
            random.random()
        with seeded_with(epoch_seed(0, 0)):
            assert current_sample() is None
        assert current_sample() == (ElasticScheme(0, 0), 1)
        following = random.random()
    with dpa.seeded(1):
        assert (random.random(), random.random()) == (
            outer,
            following,
        )  # inner blocks left no trace
    assert global_states() == before


def test_threads_blocks_never_interleave() -> None:
    """Eight threads, each drawing many values in its own blocks: every block gets its
    sample's stream, as if it ran alone."""
    expected = {}
    for sample_id in range(8):
        with dpa.seeded(sample_id):
            expected[sample_id] = [random.random() for _ in range(200)]
    results: dict[int, list[list[float]]] = {i: [] for i in range(8)}
    start = threading.Barrier(8)

    def work(sample_id: int) -> None:
        start.wait()
        for _ in range(20):
            with dpa.seeded(sample_id):
                values = []
                for draw in range(200):
                    values.append(random.random())
                    if draw % 50 == 0:
                        time.sleep(0)  # let the other threads run, mid-block
                results[sample_id].append(values)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sample_id, runs in results.items():
        assert runs == [expected[sample_id]] * 20


def test_seeded_does_not_import_torch() -> None:
    code = (
        "import sys, random, dpa\n"
        "with dpa.seeded(1):\n"
        "    value = random.random()\n"
        "print('torch' in sys.modules, value == dpa.sample_python_random(1).random())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU available")
def test_cuda_generators_are_seeded_and_restored() -> None:
    torch.cuda.init()
    before = torch.cuda.get_rng_state_all()
    with dpa.seeded(4):
        inside = torch.rand(3, device="cuda")
    assert all(
        torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), before, strict=True)
    )
    generator = dpa.sample_torch_generator(4, device="cuda")
    assert torch.equal(torch.rand(3, device="cuda", generator=generator), inside)
