"""Hostile inputs found by a battery of issue 23's kind: each is refused in one line naming what was expected."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from lstm_autograd.cli import main


def test_reproduce_refuses_a_runs_folder_that_is_a_file(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.write_text("not a folder\n")
    for action in ("list", "run", "page"):
        assert main(["reproduce", action, "--runs", str(runs), "-o", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"lstm-autograd reproduce: error: --runs {runs} is a file; expected a folder of runs"]


def test_train_chars_refuses_a_folder_as_its_text(tmp_path, capsys):
    assert main(["train", "chars", "--text", str(tmp_path), "--steps", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lstm-autograd train: error: character model: {tmp_path} is a folder; expected a UTF-8 text file"]


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_compare_hand_killed_by_sigterm_takes_the_users_process_with_it(tmp_path):
    hand = tmp_path / "slow.py"
    hand.write_text("def backward(*args, **kwargs):\n    import time\n    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-m", "lstm_autograd", "compare", "--hand", str(hand)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (children := _children(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert children, "the user's code never started in a process of its own"
        time.sleep(2)
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [child for child in children if _alive(child)]
    finally:
        parent.kill()
        for child in _children(parent.pid):
            os.kill(child, signal.SIGKILL)
    for child in left:
        os.kill(child, signal.SIGKILL)
    assert not left, "the user's backward kept running after its command was terminated"


def test_settling_a_long_timeline_is_not_quadratic_in_its_text():
    # `render --length 3000` spent minutes matching each of its thousands of equal labels against every other
    from viz import svg

    count = 20_000
    laid_out = [svg.Run("h", 10.0 * k, -5.0, 6.5) for k in range(count)]
    text = "".join(f'<text x="{10.0 * k}" y="-5" font-size="14">h</text>\n' for k in range(count))
    started = time.monotonic()
    settled = svg.settle(f"<svg>\n{text}</svg>", laid_out)
    assert time.monotonic() - started < 20
    assert settled.count('textLength="6.50"') == count


def test_train_stopped_by_sigterm_says_where_and_leaves_no_lock(tmp_path):
    # `timeout`, a scheduler or the reproduce queue's driver ends a run with SIGTERM, not Ctrl-C
    checkpoint = tmp_path / "run.npz"
    run = subprocess.Popen([sys.executable, "-m", "lstm_autograd", "train", "adding", "--steps", "100000", "--length",
                            "6", "--hidden-size", "3", "--batch", "4", "--every", "5", "--checkpoint", str(checkpoint)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode != 0
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"lstm-autograd train: terminated at step \d+ of 100000; the checkpoint {checkpoint} "
                        r"\(step \d+\) is intact; resuming continues from it", last), last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
