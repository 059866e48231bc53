"""python -m lstm_autograd: the `lstm-autograd` command."""

import sys

from lstm_autograd.cli import main

sys.exit(main())
