"""Makes ``subprocess_support`` (a recording SubprocessProtocol) importable by these tests.

The suite runs in pytest's importlib mode, which puts no test folder on
``sys.path``; this folder's helper module is added explicitly.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
