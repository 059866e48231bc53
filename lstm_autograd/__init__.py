"""The command line, on top of every layer: `lstm-autograd` (`python -m lstm_autograd`)."""

import sys

try:  # first, and as one line: is `autograd` our engine (lstm.installed)?
    import lstm.installed  # noqa: F401
except ImportError as error:
    sys.exit(f"lstm-autograd: error: {error}")
