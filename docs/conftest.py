"""The pages' python blocks run in a folder of their own, so what they write never lands in the checkout."""

import pytest

# pages, not modules: pytest-markdown-docs would import them to read their docstrings
collect_ignore_glob = ["examples/*.py", "hooks/*.py", "screenshot.py"]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
