"""Closing files and generators safely, as DPA v0.2's streaming helpers did.

A failure to close is raised as :class:`~dpa.v02.ResourceCleanupError`;
:class:`StreamingContext` closes what was registered with it when its ``with``
block ends, even on an exception.

Example:
    >>> def numbers():
    ...     yield 1
    >>> with StreamingContext() as context:
    ...     generator = numbers()
    ...     context.register_generator(generator)
    >>> generator.gi_frame is None
    True
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ._errors import ResourceCleanupError

__all__ = [
    "StreamingContext",
    "safe_cleanup_generator",
    "safe_close_file",
    "with_streaming_context",
]


def safe_close_file(file_handle: Any, filepath: str = "") -> None:
    """Close ``file_handle`` (nothing for None).

    Example:
        >>> safe_close_file(None)
    """
    if file_handle is None or not hasattr(file_handle, "close"):
        return
    try:
        file_handle.close()
    except Exception as exc:
        where = f" for {filepath}" if filepath else ""
        raise ResourceCleanupError(f"Failed to close file handle{where}: {exc}") from exc


def safe_cleanup_generator(generator: Any) -> None:
    """Close ``generator`` (nothing for None).

    Example:
        >>> safe_cleanup_generator(iter([]))
    """
    if generator is None or not hasattr(generator, "close"):
        return
    try:
        generator.close()
    except Exception as exc:
        raise ResourceCleanupError(f"Failed to cleanup generator: {exc}") from exc


class StreamingContext:
    """Closes the generators, then the files, registered with it when the ``with``
    block ends. Failures are collected in ``cleanup_errors`` and raised together as
    one :class:`~dpa.v02.ResourceCleanupError`, unless the block itself raised."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.generators: list[Any] = []
        self.file_handles: list[tuple[Any, str]] = []
        self.cleanup_errors: list[Exception] = []

    def register_generator(self, generator: Any) -> None:
        """Close ``generator`` on exit."""
        if generator is not None:
            self.generators.append(generator)

    def register_file_handle(self, file_handle: Any, filepath: str = "") -> None:
        """Close ``file_handle`` on exit (``filepath`` names it in messages)."""
        if file_handle is not None:
            self.file_handles.append((file_handle, filepath))

    def __enter__(self) -> StreamingContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        for generator in self.generators:
            self._close(safe_cleanup_generator, generator, "", "Cleaned up generator")
        for handle, path in self.file_handles:
            self._close(
                safe_close_file, handle, path, f"Closed file handle for {path}" if path else ""
            )
        if self.cleanup_errors and exc_type is None:
            raise ResourceCleanupError(
                f"Resource cleanup failed with {len(self.cleanup_errors)} errors: "
                f"{'; '.join(str(e) for e in self.cleanup_errors)}"
            )

    def _close(self, close: Callable[..., None], thing: Any, path: str, done: str) -> None:
        try:
            close(thing, path) if path else close(thing)
        except ResourceCleanupError as exc:
            self.cleanup_errors.append(exc)
            self._say(f"Warning: {exc}")
        else:
            self._say(done)

    def _say(self, line: str) -> None:
        if self.verbose and line:
            sys.stdout.write(line + "\n")


def with_streaming_context(
    operation: Callable[..., Any], *args: Any, verbose: bool = False, **kwargs: Any
) -> Any:
    """``operation(*args, **kwargs)`` inside a :class:`StreamingContext`, passed to
    it as ``streaming_context=`` when it takes that argument.

    Example:
        >>> with_streaming_context(lambda x: x + 1, 5)
        6
    """
    with StreamingContext(verbose=verbose) as context:
        if "streaming_context" in inspect.signature(operation).parameters:
            kwargs["streaming_context"] = context
        return operation(*args, **kwargs)
