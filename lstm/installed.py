"""Is the `autograd` this process imports this project's engine? The PyPI package `autograd` (HIPS autograd)
installs a top-level package of the same name; installed into the same environment it replaces ours without a
word, and every import of the engine would then fail far from the cause. Importing this module (every package of
the project does, first) raises one ImportError that names both distributions and the fix.
"""

from __future__ import annotations

from importlib import metadata

import autograd

REINSTALL = "pip install --force-reinstall --no-deps lstm-autograd (from a checkout: the same with . for lstm-autograd)"


def foreign_engine() -> str | None:
    """Why the `autograd` imported is not this project's engine, or None when it is."""
    if getattr(autograd, "__distribution__", None) == "lstm-autograd":
        return None
    if getattr(autograd, "__file__", None) is None:  # a folder without __init__.py: a namespace package
        return (f"the package `autograd` at {', '.join(autograd.__path__)} has no __init__.py: lstm-autograd's "
                "engine is incompletely installed (uninstalling HIPS autograd, the PyPI package autograd, removes "
                f"the file both distributions wrote). Fix: {REINSTALL}")
    try:
        other = f"HIPS autograd {metadata.version('autograd')} (the PyPI package autograd)"
    except metadata.PackageNotFoundError:
        other = "another distribution's package of that name (HIPS autograd is one: the PyPI package autograd)"
    return (f"the package `autograd` imported from {autograd.__file__} is not lstm-autograd's engine but {other}; "
            "both install a top-level package named autograd and cannot share an environment. Fix: pip uninstall "
            f"autograd && {REINSTALL}, or keep them in separate virtual environments")


if (problem := foreign_engine()) is not None:
    raise ImportError(problem)
