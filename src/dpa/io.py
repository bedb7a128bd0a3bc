"""Deprecated alias of :mod:`dpa._io`: import from :mod:`dpa` instead."""

from ._deprecated import forward

__getattr__ = forward(__name__, "dpa._io")
