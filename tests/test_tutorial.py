"""docs/tutorial.ipynb runs from top to bottom, so it can never go stale."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent


def test_the_tutorial_runs_and_shows_its_pictures_and_explorers(tmp_path):
    notebook = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output["output_type"] == "error"]
    shown = [output.get("data", {}) for output in outputs]
    assert any("image/svg+xml" in data for data in shown)  # the drawing
    assert sum("<iframe srcdoc=" in data.get("text/html", "") for data in shown) == 2  # two explorers
    assert (tmp_path / "explorer-forget-bug.html").stat().st_size > 0
