"""Every error dpa raises on purpose derives from :class:`DPAError`, so one
``except dpa.DPAError`` catches them all. Each also derives from the built-in that
says what went wrong, so code written for those keeps working::

    DPAError
    ├── DPAFileError (ValueError)       a parameter file that cannot be read
    ├── ShardError (ValueError)         a sharded output that cannot be used as it is
    └── BatchProcessingError            the batch strategies
        ├── InvalidBatchConfigError (ValueError)
        └── MemoryLimitExceededError (RuntimeError)

Bad arguments raise plain TypeError/ValueError naming the argument.

Example:
    >>> issubclass(DPAFileError, DPAError) and issubclass(DPAFileError, ValueError)
    True
"""

from __future__ import annotations

import os

__all__ = [
    "BatchProcessingError",
    "DPAError",
    "DPAFileError",
    "InvalidBatchConfigError",
    "MemoryLimitExceededError",
    "ShardError",
]


class DPAError(Exception):
    """The base of dpa's own errors."""


class DPAFileError(DPAError, ValueError):
    """A parameter file that cannot be read: missing, truncated, malformed or of
    the wrong schema. ``path`` and ``problem`` say which and what."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ShardError(DPAError, ValueError):
    """A sharded output that cannot be used as it is (incomplete, inconsistent), or a
    distributed run that failed on some rank."""


class BatchProcessingError(DPAError):
    """Base of the errors of the batch strategies."""


class InvalidBatchConfigError(BatchProcessingError, ValueError):
    """A batch setting is out of range or contradicts another (a ``ValueError``)."""


class MemoryLimitExceededError(BatchProcessingError, RuntimeError):
    """This process grew past its memory limit.

    ``growth_mb`` is how far it grew (MiB), ``limit_mb`` the limit.
    """

    def __init__(self, growth_mb: float, limit_mb: float) -> None:
        super().__init__(
            f"this process grew by {growth_mb:.1f} MB, past its limit of {limit_mb:g} MB"
        )
        self.growth_mb = growth_mb
        self.limit_mb = limit_mb


# Shown in tracebacks as users name them: ``dpa.DPAFileError``, not the private module.
for _error in (
    DPAError,
    DPAFileError,
    ShardError,
    BatchProcessingError,
    InvalidBatchConfigError,
    MemoryLimitExceededError,
):
    _error.__module__ = "dpa"
