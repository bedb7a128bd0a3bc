"""The sample key as randomness for any library: a seed per sample, the process's
global generators seeded for a block, and per-sample generators to hand to a
library that takes one.

**The seed** (version ``dpa-sample-seed-v1``; a contract, it never changes). For a
sample id ``n`` and a key scheme (the elastic one, ``(base_seed, epoch)``, unless
said otherwise)::

    digest = the hash chain's final hex digest of the scheme's key for n, at depth 10
             (for the elastic scheme: gen_elastic_augmentation_params(n, base_seed=b,
             epoch=e)["hash"] with the default config)
    seed   = int.from_bytes(sha256(b"dpa-sample-seed-v1:" + digest).digest()[:8], "big")

a 64-bit int (``0 <= seed < 2**64``). It is one more SHA-256 away from the digest
whose last bits seed the parameter draws, so it is independent of them and of the
config (its depth and ranges play no part). Batch-wide randomness -- what a library
draws once for a whole batch -- comes from ``(base_seed, epoch)`` alone, version
``dpa-epoch-seed-v1``::

    epoch_seed = int.from_bytes(sha256(b"dpa-epoch-seed-v1:%d:%d" % (b, e)).digest()[:8], "big")

**Seeding the globals.** Inside ``with seeded(n, base_seed=b, epoch=e):`` these are
seeded from the sample's seed: torch's CPU generator (``default_generator.manual_seed``)
and each CUDA device's where CUDA is initialized -- when torch has been imported; a
process that never imported torch does not import it here --, numpy's legacy
global generator (``np.random.seed([seed & 0xFFFFFFFF, seed >> 32])``) and Python's
``random`` (``random.seed(seed)``). On the way out, exceptions included, each gets
back the state it had, so the process's own streams go on as if the block had never
run. So ``torch.rand(3)`` inside the block equals ``torch.rand(3,
generator=sample_torch_generator(n))`` and ``random.random()`` equals
``sample_python_random(n).random()``.

**Threads.** The global generators are process-wide. Blocks are serialized by one
lock (re-entrant: a block may open another in the same thread), so two threads'
blocks never interleave; while one runs, other threads that enter a block wait.
Code that draws from a global generator in another thread *without* a block is not
stopped: it would take numbers from the sample's stream (and the block's result
would change). DataLoader workers are processes, each with its own generators and
lock. Where a library takes a generator, prefer the per-sample generators
(:func:`sample_numpy_generator`, :func:`sample_python_random`,
:func:`sample_torch_generator`): they need no lock.

Example:
    >>> sample_seed(7)
    4867341245074914584
    >>> with seeded(7) as seed:
    ...     seed == sample_seed(7)
    True
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from ._core import decimal, hash_chain
from ._keys import ElasticScheme, KeyScheme
from ._validate import check_int

if TYPE_CHECKING:
    import torch

__all__ = [
    "EPOCH_SEED_VERSION",
    "SEED_VERSION",
    "current_sample",
    "epoch_seed",
    "generators_lock",
    "key_seed",
    "key_seeded",
    "legacy_random_state",
    "sample_numpy_generator",
    "sample_python_random",
    "sample_seed",
    "sample_torch_generator",
    "seeded",
    "seeded_with",
    "torch_generators",
]

#: The version of the sample seed's derivation, the first field hashed.
SEED_VERSION = "dpa-sample-seed-v1"
#: The version of the batch-wide (per epoch) seed's derivation.
EPOCH_SEED_VERSION = "dpa-epoch-seed-v1"
#: The chain depth of the digest the seed is taken from (DPA's default depth).
SEED_CHAIN_DEPTH = 10

_SEED_PREFIX = SEED_VERSION.encode("ascii") + b":"
_EPOCH_PREFIX = EPOCH_SEED_VERSION.encode("ascii") + b":"
_sha256 = hashlib.sha256

#: The sample whose key seeds the current block, for transforms that draw dpa's own
#: parameters (``dpa.integrations.torchvision.DPAAugment``); None outside a block.
_CURRENT: ContextVar[tuple[KeyScheme, int] | None] = ContextVar("dpa_current_sample", default=None)


def _new_lock() -> None:
    global _LOCK
    _LOCK = threading.RLock()


_LOCK = threading.RLock()
# A child forked while another thread held the lock would wait for it forever.
os.register_at_fork(after_in_child=_new_lock)


def generators_lock() -> threading.RLock:
    """The lock every :func:`seeded` block holds (re-entrant), for code that sets a
    shared pipeline's own generators and then draws from them."""
    return _LOCK


# --------------------------------------------------------------------------- seeds


def key_seed(scheme: KeyScheme, sample_id: int) -> int:
    """The seed of ``sample_id`` under any key scheme (see the module docstring);
    :func:`sample_seed` is this for the elastic scheme.

    Example:
        >>> key_seed(ElasticScheme(0, 0), 7) == sample_seed(7)
        True
    """
    if not isinstance(scheme, KeyScheme):
        raise TypeError(f"scheme must be a dpa KeyScheme, got {type(scheme).__name__}")
    digest = hash_chain(scheme.key(sample_id).encode("ascii"), SEED_CHAIN_DEPTH)
    return int.from_bytes(_sha256(_SEED_PREFIX + digest.encode("ascii")).digest()[:8], "big")


def sample_seed(sample_id: int, *, base_seed: int = 0, epoch: int = 0) -> int:
    """The 64-bit seed of a sample: a pure function of ``(base_seed, epoch,
    sample_id)`` (version ``dpa-sample-seed-v1``; see :mod:`dpa._seeding`).

    Example:
        >>> sample_seed(0), sample_seed(0, epoch=1) != sample_seed(0)
        (3472542462517874419, True)
    """
    return key_seed(ElasticScheme(base_seed, epoch), sample_id)


def epoch_seed(base_seed: int = 0, epoch: int = 0) -> int:
    """The 64-bit seed of what a library draws once for a whole batch: a function
    of ``(base_seed, epoch)`` alone (version ``dpa-epoch-seed-v1``).

    Example:
        >>> epoch_seed(0, 0)
        6354438185461898710
    """
    base_seed = check_int(base_seed, "base_seed", 0)
    epoch = check_int(epoch, "epoch", 0)
    key = _EPOCH_PREFIX + decimal(base_seed) + b":" + decimal(epoch)
    return int.from_bytes(_sha256(key).digest()[:8], "big")


def _words(seed: int) -> list[int]:
    """A 64-bit seed as the two 32-bit words numpy's legacy generator is seeded with."""
    return [seed & 0xFFFFFFFF, seed >> 32]


# --------------------------------------------------------------------------- generators


def legacy_random_state(seed: int) -> np.random.RandomState:
    """numpy's legacy generator as :func:`seeded` seeds the global one (MONAI's
    ``set_random_state(state=...)`` takes it)."""
    return np.random.RandomState(_words(seed))


def sample_numpy_generator(
    sample_id: int, *, base_seed: int = 0, epoch: int = 0
) -> np.random.Generator:
    """A numpy ``Generator`` of the sample's own: ``np.random.default_rng(seed)``
    with the sample's :func:`sample_seed`.

    Example:
        >>> rng = sample_numpy_generator(3)
        >>> float(rng.random()) == float(sample_numpy_generator(3).random())
        True
    """
    return np.random.default_rng(sample_seed(sample_id, base_seed=base_seed, epoch=epoch))


def sample_python_random(sample_id: int, *, base_seed: int = 0, epoch: int = 0) -> random.Random:
    """A ``random.Random`` of the sample's own, seeded with its :func:`sample_seed`:
    the stream Python's ``random`` gives inside :func:`seeded`.

    Example:
        >>> with seeded(3):
        ...     inside = random.random()
        >>> sample_python_random(3).random() == inside
        True
    """
    return random.Random(sample_seed(sample_id, base_seed=base_seed, epoch=epoch))


def sample_torch_generator(
    sample_id: int, *, base_seed: int = 0, epoch: int = 0, device: Any = "cpu"
) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` of the sample's own, seeded with its
    :func:`sample_seed`: the stream torch's global generator gives inside
    :func:`seeded` (on the CPU; a CUDA generator's numbers differ from the CPU's).
    Imports torch.

    Example:
        >>> import torch
        >>> with seeded(3):
        ...     inside = torch.rand(2)
        >>> torch.equal(torch.rand(2, generator=sample_torch_generator(3)), inside)
        True
    """
    import torch

    seed = sample_seed(sample_id, base_seed=base_seed, epoch=epoch)
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        generator = torch.Generator(device=device)
    except RuntimeError as error:  # an unknown device, or one this machine lacks
        raise ValueError(f"no torch generator on device {device!r}: {error}") from None
    return generator.manual_seed(seed)


# --------------------------------------------------------------------------- globals


def torch_generators() -> list[Any]:
    """torch's default generators in use: the CPU's, and each CUDA device's where
    CUDA is initialized; none when torch was never imported."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "default_generator"):  # absent, or importing
        return []
    generators = [torch.default_generator]
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and cuda.is_initialized():
        generators.extend(cuda.default_generators)
    return generators


class _Seeded:
    """The context manager of :func:`seeded` (single use)."""

    __slots__ = ("_lock", "_saved", "_token", "sample", "seed")

    def __init__(self, seed: int, sample: tuple[KeyScheme, int] | None) -> None:
        self.seed = seed
        self.sample = sample
        self._saved: tuple[Any, Any, list[tuple[Any, Any]]] | None = None
        self._token: Token[tuple[KeyScheme, int] | None] | None = None
        self._lock = _LOCK

    def __enter__(self) -> int:
        self._lock = _LOCK
        self._lock.acquire()
        try:
            generators = torch_generators()
            self._saved = (
                random.getstate(),
                np.random.get_state(),
                [(generator, generator.get_state()) for generator in generators],
            )
            random.seed(self.seed)
            np.random.seed(_words(self.seed))
            for generator in generators:
                generator.manual_seed(self.seed)
            self._token = _CURRENT.set(self.sample)
        except BaseException:
            self._restore()
            raise
        return self.seed

    def _restore(self) -> None:
        try:
            if self._token is not None:
                _CURRENT.reset(self._token)
                self._token = None
            if self._saved is not None:
                python, legacy, generators = self._saved
                self._saved = None
                random.setstate(python)
                np.random.set_state(legacy)
                for generator, state in generators:
                    generator.set_state(state)
        finally:
            self._lock.release()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._restore()


def seeded(sample_id: int, base_seed: int = 0, epoch: int = 0) -> AbstractContextManager[int]:
    """A ``with`` block in which torch's, numpy's legacy and Python's global
    generators are seeded from the sample's :func:`sample_seed`, and restored on exit
    (exceptions included); the block's value is the seed. See the module docstring
    for what is seeded and what holds for threads.

    Example:
        >>> import random
        >>> before = random.getstate()
        >>> with seeded(12, base_seed=1, epoch=2) as seed:
        ...     first = random.random()
        >>> with seeded(12, base_seed=1, epoch=2):
        ...     again = random.random()
        >>> first == again, random.getstate() == before
        (True, True)
    """
    scheme = ElasticScheme(base_seed, epoch)
    return key_seeded(scheme, sample_id)


def key_seeded(scheme: KeyScheme, sample_id: int, seed: int | None = None) -> _Seeded:
    """:func:`seeded` for a sample under any key scheme (``seed``: its
    :func:`key_seed`, when already known)."""
    if seed is None:
        seed = key_seed(scheme, sample_id)
    return _Seeded(seed, (scheme, int(sample_id)))


def seeded_with(seed: int) -> _Seeded:
    """:func:`seeded` for a seed already derived (batch-wide draws: no sample)."""
    return _Seeded(check_int(seed, "seed", 0), None)


def current_sample() -> tuple[KeyScheme, int] | None:
    """The ``(scheme, sample_id)`` of the innermost :func:`seeded` block of this
    thread, or None outside one.

    Example:
        >>> with seeded(4, epoch=1):
        ...     current_sample()
        (ElasticScheme(base_seed=0, epoch=1), 4)
        >>> current_sample() is None
        True
    """
    return _CURRENT.get()
