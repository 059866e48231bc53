"""The benchmark suite: this engine against numpy, PyTorch and JAX on the same LSTM workload.

Run it with `lstm-autograd bench` (which unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for its own process).
"""

import lstm.installed  # noqa: F401  (first: is `autograd` our engine?)
