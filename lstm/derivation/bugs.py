"""The bug zoo: the classic mistakes of hand-written LSTM backward passes, each a small named variant.

A bug is the correct `hand.DERIVATION` with one or two of its lines, or one step of its flow, replaced; the
correct derivation is never touched. `lstm.compare(derivation=find(name).derivation)` runs the comparison with
the bug's derivation, and each bug states the rows of the report it must fail, so the symptom it leaves is
documented and tested (docs/bug-zoo.md, written by `lstm_autograd.bug_zoo`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lstm.derivation.compare import THROUGH_TIME
from lstm.derivation.hand import DERIVATION, GRADIENTS, Derivation, Formula, Line, rows
from lstm.names import GATES


@dataclass(frozen=True)
class Bug:
    name: str
    title: str
    wrong: str  # the wrong line, as it is usually written
    right: str  # the right line
    violates: str  # the derivation's formula it breaks
    changes: dict[str, Any] = field(default_factory=dict)  # the fields of `hand.DERIVATION` it replaces
    fails: tuple[str, ...] = ()  # the report rows it fails, exactly (default settings of `compare`)

    @property
    def derivation(self) -> Derivation:
        return DERIVATION.replace(name=self.name, **self.changes)


def find(name: str) -> Bug:
    """The bug of that name, or an error that lists the zoo."""
    if name not in BUGS:
        raise ValueError(f"no bug named {name!r}; the bug zoo has {', '.join(BUGS)}")
    return BUGS[name]


def _written(formula: Formula, text: str, line: Line) -> Formula:
    """The same partial, written wrong."""
    return dataclasses.replace(formula, text=text, line=line)


# the report's "through time" rows, all of which a mistake that spreads back through the steps fails
EVERY_STEP = tuple(f"∇{output.symbol}" for output in THROUGH_TIME)


BUGS = {bug.name: bug for bug in (
    Bug(
        "tanh-forgotten",
        "the tanh on the cell state forgotten in h_t = o_t ⊙ tanh(c_t)",
        wrong="d_o = d_h * c;  d_c += d_h * o",
        right="d_o = d_h * tanh(c);  d_c += d_h * o * (1 - tanh(c)**2)",
        violates="∇_{o_t} h_t = q with q = tanh(c_t), and ∇_{c_t} q = 1−tanh²(c_t)",
        changes=dict(hidden_dh_do=_written(DERIVATION.hidden_dh_do, "c_t", lambda u, s, P, k: u * s.c),
                     hidden_dq_dc=_written(DERIVATION.hidden_dq_dc, "1", lambda u, s, P, k: u)),
        fails=(*GRADIENTS, "hidden state update: ∇_{o_t} h_t = c_t", "hidden state update: ∇_{c_t} q = 1",
               *EVERY_STEP),
    ),
    Bug(
        "forget-no-sigmoid-derivative",
        "the sigmoid derivative left off the forget gate",
        wrong="d_p_f = d_f",
        right="d_p_f = d_f * f * (1 - f)",
        violates="∇_p f_t = (1−σ(p))σ(p)",
        changes=dict(df_dp=_written(DERIVATION.df_dp, "1", lambda u, s, P, k: u)),
        fails=(*GRADIENTS, "forget gate: ∇_p f_t = 1", *EVERY_STEP),
    ),
    Bug(
        "no-carry",
        "∇h_{t−1} and ∇c_{t−1} never carried to the previous step",
        wrong="d_h_next, d_c_next = 0, 0",
        right="d_h_next, d_c_next = d_h_prev, d_c_prev",
        violates="∇h_{t−1} = Σ_k ∇_{h_{t−1}} v_k and ∇c_{t−1} = ∇c_t ⊙ f_t, the BPTT lines the derivation leaves out",
        changes=dict(carry=lambda d_h, d_c: (0 * d_h, 0 * d_c)),
        fails=(*GRADIENTS, *EVERY_STEP),
    ),
    Bug(
        "c-assigned",
        "∇c_t assigned instead of accumulated from both paths",
        wrong="d_c = d_h * o * (1 - tanh(c)**2)",
        right="d_c = d_h * o * (1 - tanh(c)**2) + d_c_next",
        violates="∇c_t = ∇_{c_t}h_t ∇h_t + ∇c_t from step t+1, the BPTT line the derivation leaves out",
        changes=dict(gather_c=lambda through_h, from_next: through_h),
        fails=(*GRADIENTS, *EVERY_STEP),
    ),
    Bug(
        "w-h-uses-h-t",
        "the gradient of W_h computed with h_t instead of h_{t−1}",
        wrong="dW_h += d_p.T @ h",
        right="dW_h += d_p.T @ h_prev",
        violates="∇_{W_h} v = h_{t−1}ᵀ",
        changes=dict(gate_dv_dW_h=_written(DERIVATION.gate_dv_dW_h, "h_tᵀ", lambda u, s, P, k: rows(u).T @ rows(s.h))),
        fails=(*(gate.W_h for gate in GATES), *(f"{gate.section}: ∇_{{{gate.W_h}}} v = h_tᵀ" for gate in GATES)),
    ),
    Bug(
        "g-as-sigmoid",
        "erratum (b) of the derivation taken literally: g_t = σ(p), so σ's derivative on the gate gate",
        wrong="d_p_g = d_g * g * (1 - g)",
        right="d_p_g = d_g * (1 - g**2)",
        violates="g_t = tanh(p), ∇_p g_t = 1−tanh²(p)",
        changes=dict(dg_dp=_written(DERIVATION.dg_dp, "(1−σ(p))σ(p)",
                                    lambda u, s, P, k: u * (1 - s.gate["g"]) * s.gate["g"])),
        fails=(*GRADIENTS, "gate gate: ∇_p g_t = (1−σ(p))σ(p)",
               *EVERY_STEP),
    ),
)}

