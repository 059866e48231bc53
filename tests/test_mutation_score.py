"""The mutation score's own rule (tests/mutation_score.py) for which explained mutants it may leave unrun."""

from mutation_score import Mutant, read_as_equivalent


def test_a_row_that_describes_two_mutants_alike_leaves_both_to_run():
    # check.py's `Tensor(a, requires_grad=True, name=n) for a, n in zip(point, names, strict=True)`: flipping the
    # second True is equivalent, flipping the first is not, and both read `check.py:223  True  →  False`
    strict, grad = (Mutant("autograd/check.py", 223, 223, "True", "False", code) for code in ("strict", "grad"))
    alone = Mutant("autograd/check.py", 59, 59, "x.data.astype(np.float64)", "x.data.astype(None)", "astype")
    rows = {strict.describe(): "check.py:223", alone.describe(): "check.py:59"}
    assert strict.describe() == grad.describe()
    assert read_as_equivalent([strict, grad, alone], rows) == {alone.describe()}
