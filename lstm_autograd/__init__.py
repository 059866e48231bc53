"""The command line, on top of every layer: `lstm-autograd` (`python -m lstm_autograd`)."""
