"""The bug zoo: the classic mistakes of hand-written LSTM backward passes, each a small named variant.

A bug replaces one or two lines of `hand.LINES` or one step of `hand.FLOW`; the correct path is never
touched. `lstm-autograd compare --bug NAME` runs the comparison with it switched in, and each bug states the
rows of the report it must fail, so the symptom it leaves is documented and tested.
Regenerate docs/bug-zoo.md with `python -m lstm.bugs > docs/bug-zoo.md`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from lstm import hand
from lstm.hand import Formula
from lstm.names import GATES

ALL_GRADIENTS = (*hand.NAMES, "xs", "h0", "c0")


@dataclass(frozen=True)
class Bug:
    name: str
    title: str
    wrong: str  # the wrong line, as it is usually written
    right: str  # the right line
    violates: str  # the derivation's formula it breaks
    lines: dict[str, Formula] = field(default_factory=dict)  # replaced lines of hand.LINES
    flow: dict[str, object] = field(default_factory=dict)  # replaced steps of hand.FLOW
    fails: tuple[str, ...] = ()  # the report rows it fails, exactly (default settings of `compare`)

    def hand_lines(self) -> dict[str, Formula]:
        return {**hand.LINES, **self.lines}

    def hand_flow(self) -> hand.Flow:
        return dataclasses.replace(hand.FLOW, **self.flow)


def _replace(key: str, text: str, line) -> dict[str, Formula]:
    return {key: dataclasses.replace(hand.LINES[key], text=text, line=line)}


# the report's "through time" rows, all of which a mistake that spreads back through the steps fails
EVERY_STEP = tuple(f"∇{symbol}" for symbol in ("h_t", "c_t", "i_t", "f_t", "o_t", "g_t"))


BUGS = {bug.name: bug for bug in (
    Bug(
        "tanh-forgotten",
        "the tanh on the cell state forgotten in h_t = o_t ⊙ tanh(c_t)",
        wrong="d_o = d_h * c;  d_c += d_h * o",
        right="d_o = d_h * tanh(c);  d_c += d_h * o * (1 - tanh(c)**2)",
        violates="∇_{o_t} h_t = q with q = tanh(c_t), and ∇_{c_t} q = 1−tanh²(c_t)",
        lines={**_replace("∇_{o_t} h_t", "c_t", lambda u, s, P, k: u * s.c),
               **_replace("∇_{c_t} q", "1", lambda u, s, P, k: u)},
        fails=(*ALL_GRADIENTS, "hidden state update: ∇_{o_t} h_t = c_t", "hidden state update: ∇_{c_t} q = 1",
               *EVERY_STEP),
    ),
    Bug(
        "forget-no-sigmoid-derivative",
        "the sigmoid derivative left off the forget gate",
        wrong="d_p_f = d_f",
        right="d_p_f = d_f * f * (1 - f)",
        violates="∇_p f_t = (1−σ(p))σ(p)",
        lines=_replace("∇_p f_t", "1", lambda u, s, P, k: u),
        fails=(*ALL_GRADIENTS, "forget gate: ∇_p f_t = 1", *EVERY_STEP),
    ),
    Bug(
        "no-carry",
        "∇h_{t−1} and ∇c_{t−1} never carried to the previous step",
        wrong="d_h_next, d_c_next = 0, 0",
        right="d_h_next, d_c_next = d_h_prev, d_c_prev",
        violates="∇h_{t−1} = Σ_k ∇_{h_{t−1}} v_k and ∇c_{t−1} = ∇c_t ⊙ f_t, the BPTT lines the derivation leaves out",
        flow={"carry": lambda dh, dc: (0 * dh, 0 * dc)},
        fails=(*ALL_GRADIENTS, *EVERY_STEP),
    ),
    Bug(
        "c-assigned",
        "∇c_t assigned instead of accumulated from both paths",
        wrong="d_c = d_h * o * (1 - tanh(c)**2)",
        right="d_c = d_h * o * (1 - tanh(c)**2) + d_c_next",
        violates="∇c_t = ∇_{c_t}h_t ∇h_t + ∇c_t from step t+1, the BPTT line the derivation leaves out",
        flow={"gather_c": lambda through_h, from_next: through_h},
        fails=(*ALL_GRADIENTS, *EVERY_STEP),
    ),
    Bug(
        "w-h-uses-h-t",
        "the gradient of W_h computed with h_t instead of h_{t−1}",
        wrong="dW_h += d_p.T @ h",
        right="dW_h += d_p.T @ h_prev",
        violates="∇_{W_h} v = h_{t−1}ᵀ",
        lines=_replace("∇_{W_h} v", "h_tᵀ", lambda u, s, P, k: hand.rows(u).T @ hand.rows(s.h)),
        fails=("W_hi", "W_hf", "W_ho", "W_hg", *(f"{gate.section}: ∇_{{{gate.W_h}}} v = h_tᵀ" for gate in GATES)),
    ),
    Bug(
        "g-as-sigmoid",
        "erratum (b) of the derivation taken literally: g_t = σ(p), so σ's derivative on the gate gate",
        wrong="d_p_g = d_g * g * (1 - g)",
        right="d_p_g = d_g * (1 - g**2)",
        violates="g_t = tanh(p), ∇_p g_t = 1−tanh²(p)",
        lines=_replace("∇_p g_t", "(1−σ(p))σ(p)", lambda u, s, P, k: u * (1 - s.gate["g"]) * s.gate["g"]),
        fails=(*ALL_GRADIENTS, "gate gate: ∇_p g_t = (1−σ(p))σ(p)",
               *EVERY_STEP),
    ),
)}


def bug_zoo_markdown() -> str:
    """docs/bug-zoo.md, from the real reports the comparison prints with each bug switched in."""
    from lstm.compare import compare

    parts = [
        "# The bug zoo",
        "",
        "The classic mistakes of hand-written LSTM backward passes, each switched into the hand BPTT by",
        "`lstm-autograd compare --bug NAME` (and drawn by `lstm-autograd render --gate all --bug NAME -o DIR`, the",
        "nodes whose hand gradient disagrees with the engine outlined in red). Everything below the headings is",
        "generated by `python -m lstm.bugs > docs/bug-zoo.md` from the command's real output; a test keeps it so.",
        "",
    ]
    for bug in BUGS.values():
        report = compare(bug=bug.name)
        failing = report.failing()
        parts += [
            f"## `{bug.name}`: {bug.title}",
            "",
            f"- wrong: `{bug.wrong}`",
            f"- right: `{bug.right}`",
            f"- the derivation's formula it violates: {bug.violates}",
            f"- rows that fail ({len(failing)}): " + ", ".join(f"`{row.name}`" for row in failing),
            "",
            "```console",
            f"$ lstm-autograd compare --bug {bug.name}",
            report.format(),
            "```",
            "",
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    print(bug_zoo_markdown(), end="")
