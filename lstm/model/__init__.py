"""The LSTM from the primitives: its parameters and PyTorch layout, one step, the sequence (and its fused fast
path), and the plain tanh RNN beside it."""
