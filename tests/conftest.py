"""Shared fixtures: a headless Chromium page with the network off, for the tests that look at pictures and pages
the way people see them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


# pytest-markdown-docs reads every module's docstrings by importing it: the fixtures' generator needs torch
collect_ignore_glob = ["fixtures/*.py"]


def _chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
                None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright; skipped where there is none, except in CI, where it must exist."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("LSTM_AUTOGRAD_REQUIRE_BROWSER"):
            pytest.fail("headless Chromium and playwright are required here (LSTM_AUTOGRAD_REQUIRE_BROWSER is set)")
        pytest.skip("no Chromium or no playwright: `apt-get install chromium` and `pip install playwright`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page that may load files and inline data but nothing from a network; console errors and
    uncaught exceptions are collected in `page.errors`, so a test can assert there were none."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:", "blob:",
                                                                                           "about:"))
                  else route.abort())
    opened = context.new_page()
    opened.errors = []
    opened.on("console", lambda message: message.type == "error" and opened.errors.append(message.text))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> set[str]:
    """The names in a wheel built from the sources pyproject.toml lists (a non-editable install), without git: the
    suite runs from a clone, an unpacked source archive or an installed wheel alike."""
    root = Path(__file__).parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    folder = tmp_path_factory.mktemp("wheel")
    for top in {package.split(".")[0] for package in config["tool"]["setuptools"]["packages"]}:
        shutil.copytree(root / top, folder / "src" / top, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", config["project"]["readme"]):
        shutil.copy(root / name, folder / "src" / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder / "dist"),
                    str(folder / "src")], check=True, capture_output=True)
    return set(zipfile.ZipFile(next((folder / "dist").glob("*.whl"))).namelist())
