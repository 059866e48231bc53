"""The explorer's pages: how long each takes to build, how large it is, how long Chromium takes to show it.

    python -m benchmarks.explorer [--repeats N]

Builds the pages `lstm-autograd explore` writes (a gate, the cell, T = 3, T = 50 shut to one card a step, a
bug) and, where Playwright and a Chromium are installed (the test extras, Debian's chromium), loads each from
disk with the network off `repeats` times: the time from navigation to the page's first drawing (its own clock,
`explorer.drawn`) and to the `load` event, medians. docs/performance.md records a run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import viz
from lstm.derivation.bugs import BUGS

PAGES = {
    "input gate, T = 1": dict(name="input"),
    "cell, T = 1": dict(name="all"),
    "cell, T = 3": dict(name="all", length=3),
    "cell, T = 3, B = 4, H = 8": dict(name="all", length=3, batch=4, hidden_size=8),
    "cell, T = 50 (one card a step)": dict(name="all", length=50),
    "forget gate, T = 3, a bug": dict(name="forget", length=3,
                                      derivation=BUGS["forget-no-sigmoid-derivative"].derivation),
}


def load_times(paths: list[Path], repeats: int) -> dict[Path, tuple[float, float]] | None:
    """(first drawing, load event) in ms for each page, medians; None without Playwright or Chromium."""
    chromium = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                     if shutil.which(name)), None)
    try:
        from playwright.sync_api import sync_playwright  # optional: the test extras
    except ImportError:
        return None
    if chromium is None:
        return None
    times: dict[Path, list[tuple[float, float]]] = {path: [] for path in paths}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeats):
            for path in paths:  # round by round, so the machine's drifts fall on every page
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                page.goto(path.as_uri())
                page.wait_for_function("window.explorer && window.explorer.drawn")
                drawn = page.evaluate("explorer.drawn")
                loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                times[path].append((drawn, loaded))
                page.close()
        browser.close()
    return {path: (statistics.median(d for d, _ in runs), statistics.median(v for _, v in runs))
            for path, runs in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        built = {}
        for label, options in PAGES.items():
            start = time.perf_counter()
            page = viz.explore_gate(**options)
            path = page.save(Path(folder) / f"{len(built)}.html")
            built[label] = (path, time.perf_counter() - start)
        shown = load_times([path for path, _ in built.values()], args.repeats)
        print(f"{'page':34} {'build, s':>9} {'size, KB':>9} {'drawn, ms':>10} {'load, ms':>9}")
        for label, (path, seconds) in built.items():
            drawn, loaded = shown[path] if shown else (float("nan"), float("nan"))
            print(f"{label:34} {seconds:9.2f} {path.stat().st_size / 1000:9.0f} {drawn:10.0f} {loaded:9.0f}")
        if shown is None:
            print("(no Playwright or Chromium: load times not measured)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
