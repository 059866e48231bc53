"""Training an LSTM of `lstm` on real tasks: a linear readout, the adding problem and a character model, the
training loop with exact-resume checkpoints, and the figures of a run (matplotlib, optional)."""

import lstm.installed  # noqa: F401  (first: is `autograd` our engine?)
