"""An LSTM built only from the engine's primitives (`lstm.model`), its hand-derived BPTT and the comparison of the
two (`lstm.derivation`), and the check of your own backward (`lstm.own_backward`)."""

import lstm.installed  # noqa: F401  (first: is `autograd` our engine?)
from lstm.derivation import hand
from lstm.derivation.compare import compare
from lstm.model.cell import LSTMCell
from lstm.model.layers import GRU, ElmanRNN
from lstm.model.rnn import RNN
from lstm.model.sequence import LSTM
from lstm.names import GATES, NAMES
from lstm.own_backward.check import check as check_backward

__all__ = ["GATES", "GRU", "LSTM", "LSTMCell", "NAMES", "RNN", "check_backward", "compare", "hand", "ElmanRNN"]
