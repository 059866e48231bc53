"""Is the `autograd` this process imports this project's engine? The PyPI package `autograd` (HIPS autograd)
installs a top-level package of the same name; installed into the same environment it replaces ours without a
word, and every import of the engine would then fail far from the cause. Importing this module (every package of
the project does, first) raises one ImportError that names both distributions and the fix.
"""

from __future__ import annotations

from importlib import metadata

import autograd

FIX = ("pip uninstall autograd && pip install --force-reinstall --no-deps lstm-autograd (from a checkout: "
       "pip install --force-reinstall --no-deps -e .)")


def foreign_engine() -> str | None:
    """Why the `autograd` imported is not this project's engine, or None when it is."""
    if getattr(autograd, "DISTRIBUTION", None) == "lstm-autograd":
        return None
    try:
        other = f"HIPS autograd {metadata.version('autograd')} (the PyPI package autograd)"
    except metadata.PackageNotFoundError:
        other = "another distribution's package of that name (HIPS autograd is one: the PyPI package autograd)"
    where = getattr(autograd, "__file__", None) or ", ".join(getattr(autograd, "__path__", [])) or "?"
    return (f"the package `autograd` imported from {where} is not lstm-autograd's engine but {other}; both "
            f"install a top-level package named autograd and cannot share an environment. Fix: {FIX}, or keep "
            "them in separate virtual environments")


if (problem := foreign_engine()) is not None:
    raise ImportError(problem)
