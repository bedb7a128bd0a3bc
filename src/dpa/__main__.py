"""``python -m dpa``: the same as the ``dpa`` command."""

import sys

from ._cli import main

sys.exit(main())
