"""One item through a user's pipeline under a sample's key: which library the
pipeline comes from, how its own generators are set, how the item is passed.

:class:`dpa.integrations.torch.DPADataset` (``transform=``) calls
:func:`call_under_key` for each item, ``seed`` being the sample's
:func:`dpa._seeding.key_seed`:

- **albumentations** (a ``Compose`` or any other ``BaseCompose``, or a single
  transform): the item must be a dict, passed as keyword arguments
  (``pipeline(**item)``, so ``{"image": ..., "mask": ..., "bboxes": ...}``), and
  the pipeline's generators are set with ``set_random_state(np.random.default_rng(seed),
  random.Random(seed))`` before the call. ``set_random_state`` rather than
  ``set_random_seed``: one stream shared by the whole pipeline (``set_random_seed``
  gives every transform the same seed, so their draws would coincide), and
  generators installed this way are kept as they are by AlbumentationsX, whose
  DataLoader-worker reseeding only replaces generators it made itself.
  albumentations draws from nothing else (global seeds have no effect on it, its
  documentation says), so the global generators are left alone.
- **MONAI** (``Randomizable``, ``Compose`` included): ``set_random_state(state=
  np.random.RandomState([seed & 0xFFFFFFFF, seed >> 32]))`` (a ``Compose`` draws
  each child's seed from that state, as MONAI does; this replaces what
  ``monai.data.DataLoader``'s ``worker_init_fn`` set), then ``pipeline(item)``
  inside :func:`dpa._seeding.key_seeded` (a few MONAI transforms draw from torch's
  global generator).
- **anything else** -- torchvision v2 transforms and ``Compose`` (any pytree: tuples,
  dicts, tv_tensors), plain functions: ``pipeline(item)`` inside
  :func:`dpa._seeding.key_seeded`: torch's, numpy's legacy and Python's global
  generators seeded from the sample's seed, and restored after.

Each call holds the lock of :mod:`dpa._seeding`, so threads sharing one pipeline
object never interleave its generators.

The libraries are recognized by class, without importing them: a pipeline of one
can only exist once it has been imported.

Example:
    >>> import random
    >>> from dpa._keys import ElasticScheme
    >>> draw = lambda item: item + random.random()
    >>> first = call_under_key(draw, caller_for(draw), 1.0, ElasticScheme(0, 0), 5)
    >>> first == call_under_key(draw, caller_for(draw), 1.0, ElasticScheme(0, 0), 5)
    True
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._keys import KeyScheme
from .._seeding import generators_lock, key_seed, key_seeded, legacy_random_state

__all__ = ["Caller", "call_under_key", "caller_for"]

#: How a pipeline is called on an item: ``caller(pipeline, item, scheme, sample_id,
#: seed)``.
Caller = Callable[[Any, Any, KeyScheme, int, int], Any]


def _call(pipeline: Any, item: Any, scheme: KeyScheme, sample_id: int, seed: int) -> Any:
    with key_seeded(scheme, sample_id, seed):
        return pipeline(item)


def _call_albumentations(
    pipeline: Any, item: Any, scheme: KeyScheme, sample_id: int, seed: int
) -> Any:
    if not isinstance(item, Mapping):
        raise TypeError(
            "an albumentations pipeline takes dict items, passed as keyword arguments "
            f"(image=..., mask=..., bboxes=...); the base dataset gave {type(item).__name__}"
        )
    with generators_lock():
        pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
        return pipeline(**item)


def _call_monai(pipeline: Any, item: Any, scheme: KeyScheme, sample_id: int, seed: int) -> Any:
    with key_seeded(scheme, sample_id, seed):
        pipeline.set_random_state(state=legacy_random_state(seed))
        return pipeline(item)


def _is_albumentations(pipeline: Any) -> bool:
    composition = sys.modules.get("albumentations.core.composition")
    interface = sys.modules.get("albumentations.core.transforms_interface")
    kinds = tuple(
        kind
        for kind in (
            getattr(composition, "BaseCompose", None),
            getattr(interface, "BasicTransform", None),
        )
        if isinstance(kind, type)
    )
    return bool(kinds) and isinstance(pipeline, kinds)


def _is_monai(pipeline: Any) -> bool:
    randomizable = getattr(sys.modules.get("monai.transforms.transform"), "Randomizable", None)
    return isinstance(randomizable, type) and isinstance(pipeline, randomizable)


def caller_for(pipeline: Any) -> Caller:
    """How to call ``pipeline`` on one item (see the module docstring); TypeError
    unless it is callable."""
    if not callable(pipeline):
        raise TypeError(f"transform must be callable, got {type(pipeline).__name__}")
    if _is_albumentations(pipeline):
        return _call_albumentations
    if _is_monai(pipeline):
        return _call_monai
    return _call


def call_under_key(
    pipeline: Any, caller: Caller, item: Any, scheme: KeyScheme, sample_id: int
) -> Any:
    """What ``pipeline`` returns for ``item`` under ``sample_id``'s key in ``scheme``
    (``caller``: :func:`caller_for` of the pipeline)."""
    return caller(pipeline, item, scheme, sample_id, key_seed(scheme, sample_id))
