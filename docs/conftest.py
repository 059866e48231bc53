"""The pages' python blocks run in a folder of their own, so what they write never lands in the checkout."""

import pytest


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
