"""Training: optimizers against hand-computed steps, short runs that learn, checkpoints, progress output."""

import io
import json

import numpy as np
import pytest

from autograd import Tensor
from autograd.optim import SGD, Adam, RMSprop, clip_grad_norm, clip_grad_value
from lstm import hand
from lstm.names import HIDDEN_STATE
from lstm_autograd.cli import main
from lstm_autograd.training.tasks import AddingProblem, CharacterModel, zen_of_python
from lstm_autograd.training.train import Progress, Settings, Trainer, train


def parameter(values, grad):
    w = Tensor(np.array(values, dtype=float), requires_grad=True, name="w")
    w.grad = np.array(grad, dtype=float)
    return w


def test_sgd_with_momentum_matches_a_hand_computed_step():
    w = parameter([1.0, -2.0], [0.5, 0.25])
    opt = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()  # g = grad + 0.01 w = [0.51, 0.23]; v = g; w -= 0.1 v
    np.testing.assert_allclose(w.data, [1 - 0.051, -2 - 0.023])
    w.grad = np.array([1.0, 1.0])
    opt.step()  # g = [1 + 0.00949, 1 − 0.02023]; v = 0.9 v + g
    g = np.array([1 + 0.01 * 0.949, 1 + 0.01 * -2.023])
    v = 0.9 * np.array([0.51, 0.23]) + g
    np.testing.assert_allclose(w.data, np.array([0.949, -2.023]) - 0.1 * v)


def test_sgd_nesterov_and_dampening():
    w = parameter([1.0], [2.0])
    opt = SGD([w], lr=0.5, momentum=0.5, nesterov=True)
    opt.step()  # v = 2; step g + 0.5 v = 3
    np.testing.assert_allclose(w.data, [1 - 1.5])
    with pytest.raises(ValueError, match="nesterov needs momentum > 0 and dampening 0"):
        SGD([w], momentum=0.0, nesterov=True)


def test_adam_matches_a_hand_computed_step():
    w = parameter([1.0, -1.0], [0.1, -0.3])
    opt = Adam([w], lr=0.01)
    opt.step()  # bias-corrected m̂ = g, v̂ = g², so the first step is lr·sign(g) up to ε
    np.testing.assert_allclose(w.data, [1 - 0.01 * 0.1 / (0.1 + 1e-8), -1 + 0.01 * 0.3 / (0.3 + 1e-8)])
    w.grad = np.array([0.2, 0.2])
    opt.step()
    m = 0.9 * (0.1 * np.array([0.1, -0.3])) + 0.1 * np.array([0.2, 0.2])
    v = 0.999 * (0.001 * np.array([0.01, 0.09])) + 0.001 * np.array([0.04, 0.04])
    expected = np.array([1 - 0.01 * 0.1 / (0.1 + 1e-8), -1 + 0.01 * 0.3 / (0.3 + 1e-8)])
    expected -= 0.01 / (1 - 0.9**2) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**2) + 1e-8)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)


def steps_match_pytorch(optimizer, **options):
    """Six steps of ours and of torch.optim's namesake from the same start and gradients end at the same point."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal(5), rng.standard_normal((6, 5))
    mine = parameter(start, grads[0])
    theirs = torch.tensor(start, requires_grad=True)
    ours, reference = optimizer([mine], **options), getattr(torch.optim, optimizer.__name__)([theirs], **options)
    for g in grads:
        mine.grad = g.copy()
        theirs.grad = torch.tensor(g)
        ours.step()
        reference.step()
    np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-12)


def test_adam_matches_pytorch_when_installed():
    steps_match_pytorch(Adam, lr=0.05, weight_decay=0.1)


def test_rmsprop_matches_a_hand_computed_step():
    w = parameter([1.0, -1.0], [0.1, -0.3])
    opt = RMSprop([w], lr=0.01, alpha=0.9)
    opt.step()  # v = 0.1 g², so the first step is lr·g / (√0.1 |g| + ε)
    v = 0.1 * np.array([0.01, 0.09])
    expected = np.array([1.0, -1.0]) - 0.01 * np.array([0.1, -0.3]) / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)
    w.grad = np.array([0.2, 0.2])
    opt.step()
    v = 0.9 * v + 0.1 * np.array([0.04, 0.04])
    np.testing.assert_allclose(w.data, expected - 0.01 * 0.2 / (np.sqrt(v) + 1e-8), rtol=1e-12)


def test_rmsprop_momentum_centered_and_weight_decay_by_hand():
    w = parameter([2.0], [1.0])
    opt = RMSprop([w], lr=0.1, alpha=0.5, eps=0.0, weight_decay=0.5, momentum=0.5, centered=True)
    opt.step()  # g = 1 + 0.5·2 = 2; v = 0.5·4 = 2; ḡ = 0.5·2 = 1; b = g / √(v − ḡ²) = 2
    np.testing.assert_allclose(w.data, [2 - 0.1 * 2])
    w.grad = np.array([0.0])
    opt.step()  # g = 0.9; v = 1 + 0.405; ḡ = 0.5 + 0.45; b = 0.5·2 + 0.9 / √(v − ḡ²)
    b = 1 + 0.9 / np.sqrt(1.405 - 0.95**2)
    np.testing.assert_allclose(w.data, [1.8 - 0.1 * b], rtol=1e-12)


@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"centered": True}, {"weight_decay": 0.1},
                                     {"momentum": 0.5, "centered": True, "weight_decay": 0.01, "eps": 1e-4}])
def test_rmsprop_matches_pytorch_when_installed(options):
    steps_match_pytorch(RMSprop, lr=0.05, alpha=0.9, **options)


def test_rmsprop_state_saves_and_restores_like_adams():
    grads = np.random.default_rng(0).standard_normal((4, 3))
    straight, resumed = parameter(np.zeros(3), grads[0]), parameter(np.zeros(3), grads[0])
    first = RMSprop([straight], lr=0.1, momentum=0.5, centered=True)
    for g in grads:
        straight.grad = g.copy()
        first.step()
    second = RMSprop([resumed], lr=0.1, momentum=0.5, centered=True)
    for g in grads[:2]:
        resumed.grad = g.copy()
        second.step()
    state = second.state_dict()
    assert set(state) == {"steps", "lr", "square_avg/0", "grad_avg/0", "momentum_buffer/0"}
    third = RMSprop([resumed], lr=0.1, momentum=0.5, centered=True)
    third.load_state_dict(state)
    for g in grads[2:]:
        resumed.grad = g.copy()
        third.step()
    np.testing.assert_array_equal(resumed.data, straight.data)


@pytest.mark.parametrize("option, value, message", [
    ("alpha", 1.0, "alpha must be a number in \\[0, 1\\), got 1.0"), ("eps", -1.0, "eps must be a finite number ≥ 0"),
    ("momentum", -0.5, "momentum must be a number in \\[0, 1\\)"),
    ("weight_decay", -1.0, "weight_decay must be a finite number ≥ 0")])
def test_rmsprop_refuses_bad_options(option, value, message):
    with pytest.raises(ValueError, match=f"RMSprop: {message}"):
        RMSprop([parameter([1.0], [1.0])], **{option: value})


def test_clipping_by_value():
    a = parameter([0.0, 0.0, 0.0], [3.0, -0.5, -4.0])
    clip_grad_value([a], 1.0)
    np.testing.assert_array_equal(a.grad, [1.0, -0.5, -1.0])
    with pytest.raises(ValueError, match="clip_value must be positive, got 0"):
        clip_grad_value([a], 0)


def test_clipping_by_global_norm():
    a, b = parameter([0.0], [3.0]), parameter([0.0, 0.0], [0.0, 4.0])
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), np.array([3.0, 0.0, 4.0]) / (5 + 1e-6))
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0, rel=1e-5)  # under the bound: untouched
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), np.array([3.0, 0.0, 4.0]) / (5 + 1e-6))
    c = parameter([0.0], [0.6])
    assert clip_grad_norm([c], 1.0) == pytest.approx(0.6) and c.grad[0] == 0.6  # never scaled up


def test_optimizers_refuse_bad_parameters():
    with pytest.raises(ValueError, match="parameter '0' must be a Tensor that requires grad"):
        Adam([Tensor([1.0])])
    with pytest.raises(ValueError, match="^SGD: lr must be a positive finite number, got 0$"):
        SGD([parameter([1.0], [1.0])], lr=0)
    with pytest.raises(ValueError, match="^optimizer: got no parameters$"):
        RMSprop([])


def test_the_adding_problem_data():
    xs, targets = AddingProblem(10).batch(64, np.random.default_rng(0))
    assert xs.shape == (10, 64, 2) and targets.shape == (64, 1)
    assert np.all(xs[:, :, 1].sum(axis=0) == 2)
    assert np.all(xs[:5, :, 1].sum(axis=0) == 1)  # one marker in each half
    np.testing.assert_allclose((xs[:, :, 0] * xs[:, :, 1]).sum(axis=0), targets[:, 0])
    xs, targets = AddingProblem(50).batch(20000, np.random.default_rng(1))
    assert np.mean((targets - 1) ** 2) == pytest.approx(1 / 6, abs=0.01)  # the baseline the README quotes


def test_gradient_through_time_is_the_hand_bptts_and_leaves_the_trainer_as_it_was():
    trainer = Trainer(Settings(length=6, hidden_size=3, batch=4))
    xs, targets = trainer.task.batch(5, np.random.default_rng(0))
    norms = trainer.gradient_through_time(xs, targets)
    # the adding problem's loss reads h_T alone: ∂L/∂h_T = (2/B)(ŷ − y) W_y, carried back by the hand BPTT
    model, readout = trainer.model, trainer.readout
    _, (h_T, _) = model(xs)
    dh_T = 2 / len(targets) * (readout(h_T).data - targets) @ readout.W.data
    zeros = np.zeros((5, 3))
    _, trace = hand.bptt(model.arrays(), xs, zeros, zeros, np.zeros((6, 5, 3)), dh_T)
    expected = [np.linalg.norm(trace[str(HIDDEN_STATE.at(t))]) for t in range(6)]
    np.testing.assert_allclose(norms, expected, rtol=1e-10)
    assert model.fused and all(p.grad is None for p in trainer.parameters().values())


def test_the_default_text_is_the_zen_of_python():
    assert zen_of_python().startswith("The Zen of Python, by Tim Peters\n\nBeautiful is better than ugly.")


def test_short_runs_learn():
    adding = train(Settings(length=10, steps=300, hidden_size=16, batch=32), quiet=True)
    first = np.mean(adding["trainer"].losses[:10])
    assert adding["test_loss"] < first / 20 and adding["test_loss"] < 0.05  # baseline 0.167
    chars = train(Settings(task="chars", length=16, steps=150, hidden_size=32, batch=16), quiet=True)
    assert chars["test_loss"] < np.mean(chars["trainer"].losses[:5]) / 1.5


def test_checkpoint_resume_continues_identically(tmp_path):
    settings = Settings(length=8, steps=6, hidden_size=4, batch=4)
    straight = train(settings, quiet=True)["trainer"]
    path = tmp_path / "run.npz"
    train(Settings(**{**settings.__dict__, "steps": 3}), checkpoint=str(path), every=3, quiet=True)
    resumed = train(settings, checkpoint=str(path), resume=True, quiet=True)["trainer"]
    assert resumed.losses == straight.losses
    for name, p in straight.parameters().items():
        np.testing.assert_array_equal(resumed.parameters()[name].data, p.data)


def test_checkpoint_errors_name_the_problem(tmp_path):
    settings = Settings(length=8, steps=2, hidden_size=4, batch=4)
    path = tmp_path / "run.npz"
    train(settings, checkpoint=str(path), every=1, quiet=True)
    with pytest.raises(ValueError, match="does not match this run: hidden_size 4 there, 5 here"):
        Trainer(Settings(length=8, hidden_size=5)).load(path)
    path.with_name("cut.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.npz: corrupt or truncated"):
        Trainer(settings).load(path.with_name("cut.npz"))
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a training checkpoint"):
        Trainer(settings).load(tmp_path / "other.npz")


def test_a_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(Settings(length=8, hidden_size=4, batch=4))
    path = trainer.save(tmp_path / "run.npz")
    good = path.read_bytes()
    trainer.train_step()

    def crash(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_progress_plain_lines_off_a_terminal_and_nothing_when_quiet():
    stream = io.StringIO()
    progress = Progress(4, 0, quiet=False, every=2, stream=stream)
    for step in range(1, 5):
        progress.update(step, 0.5)
    assert [line.split("  ")[0] for line in stream.getvalue().splitlines()] == ["step 2/4", "step 4/4"]
    silent = io.StringIO()
    quiet = Progress(4, 0, quiet=True, every=1, stream=silent)
    quiet.update(1, 0.5)
    quiet.write("text")
    assert silent.getvalue() == ""


def test_train_command_quiet_prints_nothing(tmp_path, capsys):
    assert main(["train", "adding", "--length", "6", "--steps", "3", "--hidden-size", "3", "--quiet",
                 "--checkpoint", str(tmp_path / "c.npz")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert json.loads(str(np.load(tmp_path / "c.npz")["meta/settings"]))["length"] == 6


def test_train_command_chars_on_a_file_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    text = tmp_path / "t.txt"
    text.write_text("abcabcabcabcabcabcabcabcabcabcabcabc\n" * 3)
    assert main(["train", "chars", "--text", str(text), "--steps", "4", "--every", "2", "--length", "8",
                 "--hidden-size", "4", "--plot", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr()
    assert "sampled:" in out.err and "held-out loss" in out.out
    assert (tmp_path / "plots" / "loss.svg").exists() and (tmp_path / "plots" / "gradient-through-time.svg").exists()


def test_train_command_errors(tmp_path, capsys):
    assert main(["train", "chars", "--text", str(tmp_path / "none.txt"), "--steps", "1"]) == 2
    assert "no such text file" in capsys.readouterr().err
    assert main(["train", "adding", "--resume", "--steps", "1"]) == 2
    assert "--resume needs --checkpoint" in capsys.readouterr().err
    assert main(["train", "adding", "--every", "0", "--steps", "1"]) == 2
    assert "argument --every: expected a positive integer, got '0'" in capsys.readouterr().err
    assert CharacterModel("x" * 40, 8).input_size == 1


@pytest.mark.parametrize("key, value, message", [
    ("steps", np.array(1.5), "state steps must be a non-negative integer, got float64 of shape ()"),
    ("steps", np.array(-1), "state steps must be a non-negative integer, got int64 of shape ()"),
    ("steps", np.array([1, 2]), "state steps must be a non-negative integer, got int64 of shape (2,)"),
    ("lr", np.array(0.0), "state lr must be a positive finite number, got float64 of shape ()"),
    ("lr", np.array(np.inf), "state lr must be a positive finite number, got float64 of shape ()"),
    ("lr", np.array("0.1"), "state lr must be a positive finite number, got <U3 of shape ()"),
    ("exp_avg/w", np.ones(3), "state exp_avg/w has float64 data of shape (3,), expected real numbers of shape (2,)"),
    ("exp_avg/w", np.array(["a", "b"]), "state exp_avg/w has <U1 data of shape (2,), expected real numbers of shape "
                                        "(2,)"),
    ("exp_avg/v", np.ones(2), "state for unknown parameter 'v'"),
])
def test_optimizer_state_is_checked_whole_before_any_is_taken(key, value, message):
    w = parameter([1.0, 2.0], [0.5, 0.5])
    opt = Adam({"w": w}, lr=0.1)
    state = {"steps": np.array(3), "lr": np.array(0.5), "exp_avg/w": np.zeros(2)} | {key: value}
    with pytest.raises(ValueError) as caught:
        opt.load_state_dict(state)
    assert str(caught.value) == f"Adam: {message}" and opt.steps == 0 and opt.buffers == {} and opt.lr == 0.1


def test_optimizer_state_loads_at_step_zero_with_integer_buffers_in_the_parameters_dtype():
    w = Tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = SGD({"w": w}, lr=0.1, momentum=0.9)
    opt.load_state_dict({"steps": np.array(0, np.uint8), "lr": np.array(2), "momentum/w": np.array([1, 2])})
    assert (opt.steps, opt.lr) == (0, 2.0) and isinstance(opt.steps, int) and isinstance(opt.lr, float)
    assert opt.buffers["momentum"]["w"].dtype == np.float32
    np.testing.assert_array_equal(opt.buffers["momentum"]["w"], [1, 2])


@pytest.mark.parametrize("optimizer, options", [(SGD, {"lr": 0.1, "momentum": 0.9}), (Adam, {"lr": 0.1}),
                                                (RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True})])
def test_weight_decay_is_the_gradient_plus_decay_times_the_parameter(optimizer, options):
    grads = np.random.default_rng(1).standard_normal((3, 2))
    decayed, by_hand = parameter([1.0, -2.0], grads[0]), parameter([1.0, -2.0], grads[0])
    first, second = optimizer([decayed], weight_decay=0.3, **options), optimizer([by_hand], **options)
    for g in grads:
        decayed.grad, by_hand.grad = g.copy(), g + 0.3 * by_hand.data
        first.step()
        second.step()
    np.testing.assert_allclose(decayed.data, by_hand.data, rtol=1e-12)


def test_sgd_dampens_every_step_but_the_first_by_hand():
    w = parameter([1.0], [2.0])
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    opt.step()  # v = g = 2, undamped on the first step, as in torch
    w.grad = np.array([4.0])
    opt.step()  # v = 0.9·2 + 0.5·4 = 3.8
    np.testing.assert_allclose(w.data, [1 - 0.2 - 0.38])


def test_centered_rmsprop_adds_eps_to_the_centered_root_by_hand():
    w = parameter([1.0], [2.0])
    RMSprop([w], lr=0.3, alpha=0.5, eps=0.5, centered=True).step()
    # v = 0.5·4 = 2, ḡ = 0.5·2 = 1: √(v − ḡ²) + ε = 1.5
    np.testing.assert_allclose(w.data, [1 - 0.3 * 2 / 1.5])


def test_the_optimizers_defaults():
    p = [parameter([1.0], [1.0])]
    sgd, adam, rmsprop = SGD(p), Adam(p), RMSprop(p)
    assert (sgd.lr, sgd.momentum, sgd.dampening, sgd.weight_decay, sgd.nesterov) == (1e-2, 0.0, 0.0, 0.0, False)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert (rmsprop.lr, rmsprop.alpha, rmsprop.eps) == (1e-2, 0.99, 1e-8)
    assert RMSprop(p, alpha=0.0).alpha == 0.0  # allowed: no memory of past steps
