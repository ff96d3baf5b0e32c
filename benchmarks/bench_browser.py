"""What opening a notebook costs the browser: loading JupyterLab for it, against opening it in a
JupyterLab already loaded (what a learner does after the first notebook, and what the browser
tests do, tests/browser/conftest.py). Printed side by side: the median wall time and the CPU time
of Chromium's processes, over REPEATS opens of lesson 01, each until its kernel is idle.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import psutil

from autograder import course

LESSON = f"{course.LESSONS_DIR}/01_chain_rule.ipynb"
REPEATS = 3


def chromium_cpu() -> float:
    total = 0.0
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        if "chromium" in " ".join(process.info["cmdline"] or []) and process.info["cpu_times"]:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def measured(action) -> tuple[float, float]:
    cpu, wall = chromium_cpu(), time.perf_counter()
    action()
    return time.perf_counter() - wall, chromium_cpu() - cpu


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, unavailable_reason
    from tests.browser import jupyterlab as lab
    from tests.browser.conftest import CHROMIUM_FLAGS, VIEWPORT
    from tests.browser.server import LabServer

    if unavailable_reason():
        print(f"skipped: {unavailable_reason()}")
        return
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as home:
        server = LabServer(Path(home)).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                fresh, loaded = [], []
                for _ in range(REPEATS):
                    context = browser.new_context(viewport=VIEWPORT)
                    page = context.new_page()

                    def load_and_open(page=page) -> None:
                        lab.load_app(page, server.lab_url())
                        lab.open_notebook(page, LESSON)

                    fresh.append(measured(load_and_open))
                    lab.close_documents(page)
                    server.shut_down_kernels()
                    loaded.append(measured(lambda page=page: lab.open_notebook(page, LESSON)))
                    lab.close_documents(page)
                    server.shut_down_kernels()
                    context.close()
                browser.close()
        finally:
            server.stop()
    print(f"opening {LESSON} until its kernel is idle, median of {REPEATS}:")
    for name, runs in (("loading JupyterLab for it", fresh), ("in a loaded JupyterLab", loaded)):
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"  {name:<27} {wall:5.2f} s wall  {cpu:5.2f} s Chromium CPU")
    ratio = statistics.median(c for _, c in fresh) / statistics.median(c for _, c in loaded)
    print(f"  a load costs Chromium {ratio:.1f}x the CPU of an open in the loaded app")


if __name__ == "__main__":
    main()
