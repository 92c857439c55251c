"""``python -m loopkit``: see :mod:`loopkit.cli`."""

import sys

from loopkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
