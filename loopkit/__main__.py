"""``python -m loopkit``: see :mod:`loopkit.cli`."""

import sys

from loopkit.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
