"""Fixtures for the browser tests: one JupyterLab server and one Chromium for the whole session.

Chromium is Debian's (``apt-get install chromium-headless-shell``), driven by Playwright; the tests never
download a browser. Where it is missing the tests skip and say so, except in CI (``CI=true``),
where a skipped browser test would hide a broken course, so they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from autograder import course

from . import CHROMIUM, unavailable_reason
from . import jupyterlab as lab
from .server import LabServer

# Flags measured to work as root and offline (../shared/FIELD-NOTES.md).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 900}
SCREENSHOTS = course.REPO_ROOT / "artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    reason = unavailable_reason()
    if reason:
        _unavailable(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_server(chromium_executable, tmp_path_factory) -> Iterator[LabServer]:
    """JupyterLab serving a throwaway copy of the course; stopped, with all its kernels, at the end."""
    server = LabServer(tmp_path_factory.mktemp("jupyterlab")).start()
    yield server
    survivors = server.stop()
    if survivors:
        pytest.fail(f"processes outlived the JupyterLab server and were killed: {survivors}", pytrace=False)


def _is_browser(process: psutil.Process, chromium_executable) -> bool:
    """Chromium's processes and Playwright's driver; not the other children of this worker (the
    grading forkserver, kernels), which live on after the browser by design."""
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return str(chromium_executable) in command or "/usr/lib/chromium/" in command or "playwright" in command


@pytest.fixture(scope="session")
def browser(chromium_executable) -> Iterator:
    from playwright.sync_api import sync_playwright

    already_running = {p.pid for p in psutil.Process().children(recursive=True)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_executable), args=CHROMIUM_FLAGS)
        yield browser
        ours = [p for p in psutil.Process().children(recursive=True)
                if p.pid not in already_running and _is_browser(p, chromium_executable)]
        browser.close()
    _, alive = psutil.wait_procs(ours, timeout=10)
    for process in alive:
        process.kill()
    if alive:
        pytest.fail(f"{len(alive)} browser processes outlived Playwright and were killed", pytrace=False)


@dataclass
class Console:
    """Messages the page logged, and uncaught page errors."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def errors(self, ignore: tuple[re.Pattern, ...] = ()) -> list[str]:
        return [
            text
            for kind, text in self.messages
            if kind in ("error", "pageerror") and not any(pattern.search(text) for pattern in ignore)
        ]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture(scope="session")
def _jupyterlab_page(browser, lab_server) -> Iterator[tuple]:
    """One browser page with JupyterLab loaded, for the whole session, and where its console goes.

    Loading JupyterLab costs the browser about 4 s of CPU; a learner loads it once and opens
    notebook after notebook in it, and so do the tests (:func:`jupyterlab.open_notebook`)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sink: dict[str, Console | None] = {"console": None}

    def record(kind: str, text: str) -> None:
        if sink["console"] is not None:
            sink["console"].messages.append((kind, text))

    page.on("console", lambda message: record(message.type, message.text))
    page.on("pageerror", lambda error: record("pageerror", str(error)))
    lab.load_app(page, lab_server.lab_url())
    yield page, sink
    context.close()


@pytest.fixture
def page(_jupyterlab_page, lab_server, console, request) -> Iterator:
    """The loaded JupyterLab, its console recorded for this test, and a screenshot kept on failure.

    Afterwards every tab the test opened is closed and the server's kernels are shut down, so
    that the next test starts from an empty JupyterLab. After a failure JupyterLab is loaded
    afresh: whatever the failure left on the page (a dialog, a log entry) must not fail the next test.
    """
    page, sink = _jupyterlab_page
    sink["console"] = console
    yield page
    sink["console"] = None
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed
    if report is not None and report.failed:
        save_screenshot(page, f"{request.node.name}-FAILED")
    if not failed:
        lab.close_documents(page)
    lab_server.shut_down_kernels()
    if failed:
        lab.load_app(page, lab_server.lab_url())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


def save_screenshot(page, name: str) -> Path:
    path = screenshot_path(name)
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    """Screenshots of this run only: old ones would pass for what the course looks like now."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
