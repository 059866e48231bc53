"""The derivation's names, in one place that imports nothing (the hand BPTT may not import the engine)."""

# The four gates in the derivation's order: key, the section that derives it, and its output's symbol.
GATES = (
    ("i", "input gate", "i_t"),
    ("f", "forget gate", "f_t"),
    ("o", "output gate", "o_t"),
    ("g", "gate gate", "g_t"),
)
NAMES = tuple(name for k, _, _ in GATES for name in (f"W_x{k}", f"W_h{k}", f"b_{k}"))
SECTIONS = tuple(section for _, section, _ in GATES) + ("cell state update", "hidden state update")


def node_name(step: int, section: str, symbol: str) -> str:
    """The name the sequence model gives a tensor of step t, e.g. 't3/input gate/p'."""
    return f"t{step}/{section}/{symbol}"
