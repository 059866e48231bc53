"""The pages' python blocks print what they say they print (pytest-markdown-docs runs them; this reads their
`print(…)  # shown` comments), and the README stays a page that starts in a minute."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# numpy-bug.md prints what numpy gets wrong on one kind of CPU: its output is that machine's
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "numpy-bug.md")]
BLOCKS = [(page, block) for page in PAGES for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
          if re.search(r"^print\(.*#", block, re.M)]


@pytest.mark.parametrize("page, block", BLOCKS, ids=[f"{p.name}:{n}" for n, (p, _) in enumerate(BLOCKS)])
def test_a_blocks_print_shows_what_the_page_says(page, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = [line.split("#", 1)[1].strip() for line in block.splitlines() if re.match(r"print\(.*#", line)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(page), "exec"), {})
    assert out.getvalue().split("\n")[:-1] == shown


def test_the_readme_starts_in_a_minute():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    engine = re.search(r"## The engine in five lines\n\n.*?```python\n(.*?)```", text, re.S)[1]
    assert len([line for line in engine.splitlines() if line.strip()]) <= 5 + 1  # five and its import
    assert text.index("## The engine in five lines") < text.index("## See a gate") < text.index("## Check")
    # examples write into the working directory, never over what docs/ holds
    assert not re.search(r"(-o|--plot)\s+docs/", text)


SH = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
README_COMMANDS = [line.split("  #")[0].strip() for block in SH for line in block.splitlines()
                   if line.startswith("lstm-autograd ")]
# what each says it does: the exit status (audit of the seed finds its errata) and the files it writes
WRITES = {"render": ["input-gate.svg"], "explore": ["explorer.html"], "train": ["adding"]}


@pytest.mark.parametrize("command", README_COMMANDS)
def test_the_readmes_commands_run_as_shown(command, tmp_path):
    """Run from a checkout's folder as the README shows them, writing into the working directory."""
    words = [ROOT / word if word.startswith("docs/") else word for word in command.split()[1:]]
    done = subprocess.run([sys.executable, "-m", "lstm_autograd", *map(str, words)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    expected = 1 if words[0] == "audit" else 0
    assert done.returncode == expected and "Traceback" not in done.stderr, done.stderr
    assert done.stdout or words[0] in WRITES
    assert all((tmp_path / name).exists() for name in WRITES.get(words[0], []))
