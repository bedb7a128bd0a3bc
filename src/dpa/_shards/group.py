"""The processes of a sharded run, and how they exchange small objects.

A :class:`Group` says which rank this process is, in a world of how many, and gives
every rank the others' objects (:meth:`Group.all_gather`) or rank 0's
(:meth:`Group.broadcast`). :func:`open_group` picks one: a :class:`SingleProcess`
for a world of one (torch is never imported then), else a :class:`TorchGroup` on
torch.distributed's gloo backend, joined from torchrun's environment.

Example:
    >>> group = SingleProcess()
    >>> group.rank, group.world_size, group.all_gather("mine"), group.broadcast(7)
    (0, 1, ['mine'], 7)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from .._distributed import DistributedContext, detect_distributed_context
from .messages import one_line

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Group",
    "SingleProcess",
    "TorchGroup",
    "check_group",
    "open_group",
]

#: How long a rank waits for the others (joining, and at the end of the run).
DEFAULT_TIMEOUT_S = 1800.0


@runtime_checkable
class Group(Protocol):
    """The processes of a run: who this one is, and how they exchange small objects."""

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        ...

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        ...


class SingleProcess:
    """The group of one process (world size 1): nothing to wait for.

    Example:
        >>> SingleProcess().all_gather({"rank": 0})
        [{'rank': 0}]
    """

    rank = 0
    world_size = 1

    def all_gather(self, obj: Any) -> list[Any]:
        """``[obj]``: this process is every rank there is."""
        return [obj]

    def broadcast(self, obj: Any) -> Any:
        """``obj``: this process is rank 0."""
        return obj


class TorchGroup:
    """torch.distributed's process group on the gloo backend (CPU): joined from
    torchrun's environment (``MASTER_ADDR``, ``MASTER_PORT``; rank and world size
    from ``context``), or the one the program already initialized. :meth:`close`
    leaves a group that this object joined.

    RuntimeError when torch is missing, the group cannot be joined, or it disagrees
    with ``context`` on the rank or world size.
    """

    def __init__(self, context: DistributedContext, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        dist = _torch_distributed(context.world_size)
        self._dist = dist
        self._owned = not dist.is_initialized()
        if self._owned:
            try:
                dist.init_process_group(
                    "gloo",
                    init_method="env://",
                    rank=context.rank,
                    world_size=context.world_size,
                    timeout=_dt.timedelta(seconds=timeout_s),
                )
            except Exception as exc:
                raise RuntimeError(
                    f"cannot join the process group of {context.world_size} processes "
                    "(gloo, env://: MASTER_ADDR and MASTER_PORT, as torchrun sets them): "
                    f"{one_line(exc)}"
                ) from None
        self._rank = int(dist.get_rank())
        self._world_size = int(dist.get_world_size())
        if (self._rank, self._world_size) != (context.rank, context.world_size):
            raise RuntimeError(
                f"the process group says rank {self._rank} of {self._world_size}, "
                f"the environment rank {context.rank} of {context.world_size}"
            )

    @property
    def rank(self) -> int:
        """This process's rank in the group."""
        return self._rank

    @property
    def world_size(self) -> int:
        """How many processes the group has."""
        return self._world_size

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (picklable), in rank order, on every rank."""
        out: list[Any] = [None] * self._world_size
        self._dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (picklable) on every rank."""
        box = [obj]
        self._dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        """Leave the process group, if this object joined it (once)."""
        if self._owned and self._dist.is_initialized():
            self._dist.destroy_process_group()
            self._owned = False


def check_group(group: Any) -> Group:
    """``group`` itself, or a :class:`SingleProcess` for None; TypeError for anything
    that is not a :class:`Group` (``rank``, ``world_size``, ``all_gather``,
    ``broadcast``).

    Example:
        >>> check_group(None).world_size
        1
    """
    if group is None:
        return SingleProcess()
    if not isinstance(group, Group):
        raise TypeError(
            "group must have rank, world_size, all_gather and broadcast (a dpa Group), "
            f"got {type(group).__name__}"
        )
    return group


def _torch_distributed(world_size: int) -> Any:
    """``torch.distributed``, imported now; RuntimeError saying what to install."""
    try:
        import torch.distributed as dist
    except ImportError:
        raise RuntimeError(
            f"a distributed run of {world_size} processes needs torch "
            "(torch.distributed): pip install 'dpa-augment[torch]'"
        ) from None
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed")
    return dist


@contextlib.contextmanager
def open_group(
    context: DistributedContext | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[Group]:
    """The processes of this run: a :class:`SingleProcess` when the world size is 1,
    else a :class:`TorchGroup` (gloo), left again at the end of the ``with`` block.

    ``context`` defaults to :func:`dpa.detect_distributed_context`.

    Example:
        >>> from dpa import DistributedContext
        >>> with open_group(DistributedContext(0, 1, 0, "single")) as group:
        ...     group.world_size
        1
    """
    if context is None:
        context = detect_distributed_context()
    if context.world_size == 1:
        yield SingleProcess()
        return
    group = TorchGroup(context, timeout_s)
    try:
        yield group
    finally:
        group.close()
