"""The optimizers refuse impossible settings at construction, in the words the command line uses."""

import re

import numpy as np
import pytest

from autograd import Tensor
from autograd.optim import SGD, Adam, RMSprop
from lstm_autograd.cli import main


def params():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True, name="w")
    w.grad = np.array([0.5, 0.25])
    return [w]


@pytest.mark.parametrize("optimizer, options, message", [
    (Adam, {"betas": (1.0, 0.999)}, "Adam: betas[0] must be a number in [0, 1), got 1.0"),  # it divided by zero
    (Adam, {"betas": (0.9, -0.1)}, "Adam: betas[1] must be a number in [0, 1), got -0.1"),
    (Adam, {"betas": (0.9,)}, "Adam: betas must be a pair (beta1, beta2), got (0.9,)"),
    (Adam, {"eps": -1e-8}, "Adam: eps must be a finite number ≥ 0, got -1e-08"),
    (Adam, {"weight_decay": float("nan")}, "Adam: weight_decay must be a finite number ≥ 0, got nan"),
    (SGD, {"lr": float("inf")}, "SGD: lr must be a positive finite number, got inf"),
    (SGD, {"lr": 0}, "SGD: lr must be a positive finite number, got 0"),
    (SGD, {"lr": "0.1"}, "SGD: lr must be a positive finite number, got '0.1'"),
    (SGD, {"momentum": -5}, "SGD: momentum must be a number in [0, 1), got -5"),
    (SGD, {"momentum": 0.9, "dampening": 2.0}, "SGD: dampening must be a number in [0, 1], got 2.0"),
    (SGD, {"weight_decay": -1.0}, "SGD: weight_decay must be a finite number ≥ 0, got -1.0"),
    (RMSprop, {"alpha": 1.0}, "RMSprop: alpha must be a number in [0, 1), got 1.0"),
    (RMSprop, {"eps": float("inf")}, "RMSprop: eps must be a finite number ≥ 0, got inf"),
    (RMSprop, {"momentum": 1.5}, "RMSprop: momentum must be a number in [0, 1), got 1.5"),
])
def test_impossible_settings_are_refused_in_one_line(optimizer, options, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        optimizer(params(), **options)


def test_adam_with_beta1_at_one_never_reaches_its_step():
    with pytest.raises(ValueError, match="betas"):
        Adam(params(), betas=(1.0, 0.999)).step()  # was ZeroDivisionError from the bias correction


def test_the_command_line_and_the_api_give_the_same_message(capsys):
    assert main(["train", "adding", "--optimizer", "sgd", "--momentum", "1.5", "--steps", "1"]) == 2
    said = capsys.readouterr().err.removeprefix("lstm-autograd train: error: ")
    with pytest.raises(ValueError) as error:
        SGD(params(), momentum=1.5)
    assert str(error.value) == f"SGD: {said.strip()}"


def test_a_state_holding_nan_is_refused_whole():
    state = Adam(params()).state_dict() | {"exp_avg/0": np.array([0.0, np.nan]), "exp_avg_sq/0": np.ones(2)}
    fresh = Adam(params())
    with pytest.raises(ValueError, match=r"^Adam: state exp_avg/0 is not finite \(1 of its 2 values\)$"):
        fresh.load_state_dict(state)
    assert fresh.buffers == {}
