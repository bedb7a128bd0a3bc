"""Old import paths that keep working for one release, with a DeprecationWarning.

dpa's implementation modules are private (``dpa._io``, ``dpa._generate``, ...); the
public API is the top-level package. The modules that users imported before 0.4
(``dpa.io``, ``dpa.generate``, ...) are kept as thin aliases: each attribute read
through one warns once per call site and returns the object the private module holds.

Example:
    >>> import warnings
    >>> import dpa.core
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fib = dpa.core.fib
    >>> caught[0].category.__name__, fib(10)
    ('DeprecationWarning', 55)
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["forward"]


def forward(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the deprecated module ``old`` that forwards each
    name to the private module ``new``, with a DeprecationWarning naming where to
    import it from instead."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        package = importlib.import_module("dpa")
        public = name in getattr(package, "__all__", ())
        module = importlib.import_module(new)
        if hasattr(module, name) or not public:
            value = getattr(module, name)
        else:  # a public name that has since moved to another module
            value = getattr(package, name)
        instead = f"import it from 'dpa' (dpa.{name})" if public else "it is private now"
        warnings.warn(
            f"{old}.{name}: the module {old} is deprecated and will be removed in dpa 0.5; "
            f"{instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
