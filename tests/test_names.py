"""The derivation's names: one way to write a tensor's name, one to parse it, and the step semantics of the states."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import viz
from autograd import Tensor
from lstm.names import (
    CELL_STATE,
    CS231N_ORDER,
    DERIVATION_ORDER,
    GATES,
    HIDDEN_STATE,
    NAMES,
    SECTIONS,
    TORCH_ORDER,
    NodeName,
    locate,
)
from lstm_autograd.cli import main

symbols = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1)


@given(step=st.none() | st.integers(0, 10_000), section=st.none() | st.sampled_from(SECTIONS), symbol=symbols)
def test_a_written_name_parses_back(step, section, symbol):
    name = NodeName(step, section, symbol)
    assert NodeName.parse(str(name)) == name


def test_the_written_form():
    assert str(NodeName(3, "input gate", "p")) == "t3/input gate/p"
    assert str(NodeName(None, "cell state update", "c_t")) == "cell state update/c_t"
    assert str(NodeName(0, None, "x_t")) == "t0/x_t"
    assert str(NodeName(None, None, "W_xi")) == "W_xi"
    assert NodeName.parse("t²/p") == NodeName(None, "t²", "p")  # not a step: only decimal digits count


def test_the_gate_table_is_the_one_spelling_of_order_and_activation():
    assert [gate.key for gate in GATES] == list(DERIVATION_ORDER) == list("ifog")
    assert sorted(TORCH_ORDER) == sorted(DERIVATION_ORDER) and CS231N_ORDER == "ifog"
    assert [gate.activation for gate in GATES] == ["sigmoid", "sigmoid", "sigmoid", "tanh"]
    assert NAMES[:3] == ("W_xi", "W_hi", "b_i") and len(NAMES) == 12


def test_what_a_step_reads_as_h_t_minus_1():
    assert HIDDEN_STATE.before(0) == NodeName(0, None, "h_{t-1}")
    assert HIDDEN_STATE.before(None) == NodeName(None, None, "h_{t-1}")
    assert CELL_STATE.before(4) == NodeName(3, "cell state update", "c_t")


def test_locate_a_symbol_of_the_derivation():
    forget = GATES[1]
    assert locate("W_h", forget.section, 2, forget) == NodeName(None, None, "W_hf")
    assert locate("p", forget.section, 2, forget) == NodeName(2, "forget gate", "p")
    assert locate("f_t", "cell state update", 2) == NodeName(2, "forget gate", "f_t")
    assert locate("c_t", "hidden state update", 2) == NodeName(2, "cell state update", "c_t")
    assert locate("h_{t-1}", forget.section, 2, forget) == NodeName(1, "hidden state update", "h_t")
    assert locate("x_t", forget.section, 2, forget) == NodeName(2, None, "x_t")


def test_a_symbol_with_its_steps_index_written_in():
    assert NodeName(3, "forget gate", "f_t").indexed == "f_{3}"
    assert NodeName(3, None, "x_t").indexed == "x_{3}"
    assert str(HIDDEN_STATE.before(3)) == "t2/hidden state update/h_t"
    assert NodeName.parse(str(HIDDEN_STATE.before(3))).indexed == "h_{2}"  # what step 3 reads as h_{t−1}
    assert NodeName.parse(str(CELL_STATE.before(0))).indexed == "c_{-1}"  # the initial state, before step 0
    assert NodeName(3, "forget gate", "p").indexed == "p"
    assert NodeName(None, None, "W_xi").indexed == "W_xi" and NodeName(None, None, "h_t").indexed == "h_t"


@pytest.mark.parametrize("name", ["a/", "/", "t1/", "gate//", "forget gate/f_t/"])
def test_a_name_ending_in_a_slash_is_all_symbol_and_draws(name):
    assert NodeName.parse(name) == NodeName(None, None, name)
    a = Tensor([1.0, 2.0], requires_grad=True, name=name)
    assert name in viz.to_svg(viz.draw((a * a).sum()))


@pytest.mark.parametrize("make", [lambda: Tensor([1.0], name=3), lambda: Tensor([1.0]).named(b"a"),
                                  lambda: Tensor([1.0]).named(["a"])])
def test_a_name_that_is_not_a_string_is_refused_where_it_is_given(make):
    with pytest.raises(TypeError, match=r"^Tensor: a name is a string, got (int 3|bytes b'a'|list \['a'\])$"):
        make()


def test_sampled_text_is_printed_with_its_control_characters_escaped(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("hello \x1b]0;pwned\x07\x1b[2J\x1b[H world\u202e and more of it, long enough to learn\n" * 3)
    assert main(["train", "chars", "--text", str(text), "--length", "8", "--hidden-size", "3", "--batch", "2",
                 "--steps", "2", "--every", "1"]) == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "sampled:" in printed
    assert not any(c in printed for c in "\x1b\x07\u202e")
    assert "hello" in printed
