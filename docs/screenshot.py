"""docs/explorer.png, the README's picture of the explorer, made from the page `lstm-autograd explore --length 2`
writes: `python docs/screenshot.py` (Playwright from the test extras, and a Chromium: Debian's `chromium`)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import viz

OUT = Path(__file__).parent / "explorer.png"
# the moment shown: step 0's h_t complete, its five contributions (the loss, and v of step 1's four gates) lit
TENSOR = "t0/hidden state update/h_t"


def main() -> int:
    names = ("chromium", "chromium-browser", "google-chrome")
    chromium = next((path for name in names if (path := shutil.which(name))), None)
    if chromium is None:
        print("screenshot: no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_file = viz.explore_gate("all", length=2).save(Path(folder) / "explorer.html")
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 860}, device_scale_factor=1)
        page.goto(page_file.as_uri())
        page.wait_for_function("window.explorer && window.explorer.drawn")
        page.evaluate(f"explorer.jump({TENSOR!r})")
        page.evaluate(f"explorer.zoom(0.8, {TENSOR!r})")
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
