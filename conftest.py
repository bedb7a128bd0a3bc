"""Doctest collection of ``src/dpa``: skip the framework integrations whose framework
is not installed (they are optional extras; their tests skip the same way)."""

from __future__ import annotations

import importlib.util

collect_ignore = [
    path
    for path, module in (
        ("src/dpa/integrations/torch.py", "torch"),
        ("src/dpa/integrations/tf.py", "tensorflow"),
    )
    if importlib.util.find_spec(module) is None
]
