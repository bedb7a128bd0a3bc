"""Doctest collection of ``src/dpa``: skip the framework integrations whose framework
is not installed (they are optional extras; their tests skip the same way)."""

from __future__ import annotations

import importlib.util

collect_ignore = [
    path
    for path, module in (
        ("src/dpa/integrations/torch.py", "torch"),
        ("src/dpa/integrations/_torch_ops.py", "torch"),
        ("src/dpa/integrations/torchvision.py", "torchvision"),
        ("src/dpa/integrations/kornia.py", "kornia"),
        ("src/dpa/integrations/tf.py", "tensorflow"),
        ("src/dpa/_seeding.py", "torch"),
    )
    if importlib.util.find_spec(module) is None
]
