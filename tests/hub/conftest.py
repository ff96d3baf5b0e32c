"""A real class for the hub tests: JupyterHub, the proxy and throwaway Unix users, once per module.

The class is set up by hub/classroom.py, the code path of `make class`, with users named
``bpt<random>...`` in a folder of their own under /srv, and taken down afterwards (users,
homes and folders removed, every process they left killed). Chromium and Playwright are the
browser tests' (tests/browser). Where something the hub needs is missing the tests skip and
say so, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    pytest_runtest_makereport,  # noqa: F401 (the hook: a failed test's screenshots)
)

REPO = Path(__file__).resolve().parents[2]
#: Checks a learner may ask the grading service for per hour, in the test class (the flood test uses them up).
CHECKS_PER_HOUR = 8
SCREENSHOTS = REPO / "artifacts" / "screenshots" / "hub"


def load_classroom():
    """hub/classroom.py, a script beside the hub's configuration (not an installed package)."""
    spec = importlib.util.spec_from_file_location("backprop_classroom", REPO / "hub" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


classroom = load_classroom()


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the hub tests, but {reason}", pytrace=False)
    pytest.skip(f"hub tests skipped: {reason}")


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        unavailable("they must run as root (they create Unix users and start JupyterHub)")
    for tool in ("useradd", "userdel", "chpasswd", "setpriv", "npm"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    if not classroom.SYSTEM_PYTHON.exists():
        unavailable(f"{classroom.SYSTEM_PYTHON} is missing (apt-get install python3-venv)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the Python package playwright is not installed (pip install -r requirements-dev.txt)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"Chromium is not at {CHROMIUM} (apt-get install chromium-headless-shell)")


@contextlib.contextmanager
def running_class() -> Iterator:
    """A running class: (settings, hub). Everything it created is removed afterwards."""
    check_prerequisites()
    tag = secrets.token_hex(3)
    port = classroom.free_port
    settings = classroom.ClassSettings(
        root=Path(f"/srv/backprop-class-test-{tag}"), instructors=[f"bpt{tag}-teach"],
        students=[f"bpt{tag}-ann", f"bpt{tag}-bob"], grader=f"bpt{tag}-grader",
        port=port(), hub_port=port(), proxy_api_port=port(), service_port=port(), grading_port=port(),
        checks_per_hour=CHECKS_PER_HOUR)
    hub = classroom.Hub(settings)
    try:
        classroom.set_up(settings, log=lambda message: print(f"[class] {message}"))
        hub.start()
        yield settings, hub
    finally:
        hub.stop()
        classroom.remove_users([*settings.users(), settings.grader])
        shutil.rmtree(settings.root, ignore_errors=True)


@pytest.fixture(scope="module")
def hub_class() -> Iterator:
    """The browser tests' class (tests/hub/test_grading_service.py starts its own, on another worker)."""
    with running_class() as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path))
    return path
