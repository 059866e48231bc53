"""An LSTM built only from the engine's primitives, its hand-derived BPTT, and the comparison of the two."""

import lstm.installed  # noqa: F401  (first: is `autograd` our engine?)
from lstm import compare  # a callable module: lstm.compare(...) runs lstm.compare.compare(...)
from lstm.cell import LSTMCell
from lstm.names import GATES, NAMES
from lstm.sequence import LSTM

__all__ = ["GATES", "LSTM", "LSTMCell", "NAMES", "compare"]
