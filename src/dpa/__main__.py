"""``python -m dpa``: the same as the ``dpa`` command."""

import sys

from .cli import main

sys.exit(main())
