"""The course in a real browser: Playwright drives Debian's Chromium through JupyterLab.

Run them alone with ``python -m pytest tests/browser`` (or ``-m browser``); ``make test`` runs
them with the rest. They need ``/usr/bin/chromium`` (``apt-get install chromium``; another path
via ``BACKPROP_LAB_CHROMIUM``) and skip without it, except under ``CI=true`` where they fail.
One JupyterLab server (a throwaway copy of the course, its own port and Jupyter dirs) and one
browser serve the whole session. Screenshots land in ``artifacts/screenshots/`` (gitignored):
before/after each lab, the quizzes, the exercise report, nbgrader's panels, and any failure.
"""
