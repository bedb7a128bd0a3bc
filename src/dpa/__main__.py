"""``python -m dpa``: the same as the ``dpa`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
