"""The mutation score's own rules (tools/mutation_score.py): how a row of its equivalents names a mutant, and which
explained mutants it may leave unrun."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "mutation_score.py"


def _tool():
    """The tool, a script of tools/ (not a package), loaded from its file."""
    if "mutation_score" not in sys.modules:
        spec = importlib.util.spec_from_file_location("mutation_score", TOOL)
        sys.modules["mutation_score"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["mutation_score"]


ZIP = "leaves = [Tensor(a, requires_grad=True, name=n) for a, n in zip(here, names, strict=True)]"


def _mutant(line: int, line_code: str, before: str, after: str, code: str):
    return _tool().Mutant("autograd/check.py", line, line, before, after, code, line_code)


def _row(mutant) -> dict:
    return {mutant.described_as: {"why": "..."}}


def test_a_row_that_describes_two_mutants_alike_leaves_both_to_run():
    # flipping the second True of ZIP (strict) is equivalent, flipping the first (requires_grad) is not, and both
    # are `True → False` on that line: a row naming one names both
    strict, grad = (_mutant(262, ZIP, "True", "False", code) for code in ("strict", "grad"))
    alone = _mutant(80, "args = [Tensor(x.data.astype(np.float64)) if isinstance(x, Tensor) else x for x in inputs]",
                    "x.data.astype(np.float64)", "x.data.astype(None)", "astype")
    rows = {**_row(strict), **_row(alone)}
    assert strict.described_as == grad.described_as and len(rows) == 2
    assert _tool().read_as_equivalent([strict, grad, alone], rows) == {alone.described_as}
    # one change on two lines of the same text is two mutants described alike as well
    again = _mutant(400, ZIP, "zip(here, names, strict=True)", "zip(here, names, )", "again")
    twice = _mutant(262, ZIP, "zip(here, names, strict=True)", "zip(here, names, )", "twice")
    assert _tool().read_as_equivalent([again, twice, alone], {**_row(again), **_row(alone)}) == {alone.described_as}


def test_a_row_names_its_mutant_by_its_lines_text_not_its_number():
    written = _mutant(262, ZIP, "zip(here, names, strict=True)", "zip(here, names, )", "at 262")
    moved = _mutant(300, "  " + ZIP.replace(" for ", "  for "), "zip(here, names, strict=True)", "zip(here, names, )",
                    "at 300, reindented")
    edited = _mutant(262, ZIP.replace("here", "point"), "zip(point, names, strict=True)", "zip(point, names, )",
                     "its line edited")
    rows = _row(written)
    assert _tool().read_as_equivalent([moved], rows) == {moved.described_as}  # lines added above it: still named
    assert _tool().read_as_equivalent([edited], rows) == set()  # its own line changed: the row is stale


def test_the_equivalents_file_names_mutants_of_files_that_exist_and_is_refused_when_a_row_lacks_a_field(tmp_path):
    rows = _tool().declared_equivalent()
    assert rows and all((ROOT / file).is_file() for file, *_ in rows)
    broken = tmp_path / "equivalents.toml"
    broken.write_text("[[equivalent]]\nfile = 'autograd/check.py'\ncode = 'x = 1'\nbefore = '1'\nafter = '2'\n")
    try:
        _tool().declared_equivalent(broken)
    except SystemExit as refused:
        assert "row 1 needs exactly file, code, before, after and why" in str(refused)
    else:
        raise AssertionError("a row without its reason was taken")
