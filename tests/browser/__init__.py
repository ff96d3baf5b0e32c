"""The course in a real browser: Playwright drives Debian's Chromium through JupyterLab.

Run them alone with ``python -m pytest tests/browser`` (or ``-m browser``); ``make test`` runs
them with the rest. They need Debian's headless Chromium, ``/usr/bin/chromium-headless-shell``
(``apt-get install chromium-headless-shell``; another Chromium via ``BACKPROP_LAB_CHROMIUM``), and skip
without it, except under ``CI=true`` where they fail. It is the same Blink as the ``chromium``
package, built without a window, as Playwright's own headless runs use; it costs less CPU
(``make bench browser``, and ``BACKPROP_LAB_CHROMIUM=/usr/bin/chromium`` to compare: loading
JupyterLab 3.4 s of CPU against 4.9 s, opening a notebook in it 1.2 s against 1.4 s).
One JupyterLab server (a throwaway copy of the course, its own port and Jupyter dirs) and one
browser serve the whole session (on one worker under pytest-xdist: they are one ``xdist_group``).
Screenshots land in ``artifacts/screenshots/`` (gitignored): before/after each lab, the quizzes,
the exercise report, nbgrader's panels, and any failure.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("BACKPROP_LAB_CHROMIUM", "/usr/bin/chromium-headless-shell"))


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -r requirements-dev.txt)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium is not at {CHROMIUM} (apt-get install chromium-headless-shell, or set BACKPROP_LAB_CHROMIUM)"
    return None
