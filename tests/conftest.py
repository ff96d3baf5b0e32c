"""Suite-wide set-up: run nbgrader and Jupyter from this venv, quietly; and three rules for the run.

- **Steps.** Every test about step NN carries the marker ``stepNN`` (``pytest -m step03``):
  ``test_step_03_*.py`` and ``test_lesson_03_*.py`` whole, and any test whose parameter is a
  step's notebook or assignment (``lessons/03_...``, ``solutions/03_...``, ``"03_manual_backprop"``).
- **Workers.** ``make test`` runs on every core (pytest-xdist, ``--dist loadgroup``). Tests that
  share one of the suite's fixtures wider than a test (a module or session fixture: a JupyterLab
  server, a graded class, a PostgreSQL server) are put in one ``xdist_group``, so the fixture is
  built once, on one worker. Nothing is grouped by hand: share a fixture and the grouping follows.
- **CI.** Under ``CI=true`` (``.ci/run`` sets it) a skipped test fails: CI installs everything the
  suite needs, so a skip there would hide a test that never ran.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import browser  # tests/browser: the browser tests' package
import pytest
from _pytest.nodeid import NodeId

import autograder  # noqa: F401  (puts this venv's bin/ on PATH: nbgrader shells out to alembic)

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

#: The course's steps; each has a marker ``stepNN`` registered in pyproject.toml.
STEPS = tuple(f"{n:02d}" for n in range(1, 9))
_STEP_FILE = re.compile(r"^test_(?:step|lesson)_(\d\d)_")
#: A step's notebook or assignment id in a parameter: ``lessons/03_manual_backprop.ipynb``, ``03_manual_backprop``.
_STEP_PARAM = re.compile(r"(?:^|[/\\])(\d\d)_[a-z]")
_WIDE_SCOPES = ("session", "package", "module", "class")
#: Groups that must share a worker although they share no fixture, each with the reason.
SAME_WORKER = {
    # Its class is graded with 8 s cell limits (2 s after a first time-out). Beside the browser
    # tests (JupyterLab, Chromium and a lesson's kernel busy on the other core) cells timed out
    # and correct work scored 0; beside the step tests it has room.
    "test_autograder_classroom": "browser",
}


def steps_of(item: pytest.Item) -> set[str]:
    """The steps a test is about, from its file name and its parameters."""
    found = set(_STEP_FILE.findall(item.path.name))
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        if isinstance(value, str | os.PathLike):
            found.update(_STEP_PARAM.findall(os.fspath(value)))
    return found & set(STEPS)


def shared_fixtures(item: pytest.Item) -> dict[str, int]:
    """The suite's own fixtures wider than one test that ``item`` uses (its own, and theirs).

    Keyed ``"<where it is defined>::<name>"``, with the rank of its scope (session first).
    """
    info = getattr(item, "_fixtureinfo", None)
    shared = {}
    for name in info.names_closure if info else ():
        for fixturedef in info.name2fixturedefs.get(name, ()):
            # baseid is where the fixture is defined ("tests/browser", "tests/test_x.py");
            # pytest's and plugins' own fixtures (tmp_path_factory...) have an empty one.
            if fixturedef.scope in _WIDE_SCOPES and fixturedef.baseid.startswith("tests"):
                shared[f"{fixturedef.baseid}::{name}"] = _WIDE_SCOPES.index(fixturedef.scope)
    return shared


def worker_groups(items: list[pytest.Item]) -> dict[pytest.Item, str]:
    """item -> group name, so that tests sharing a fixture (directly or through others) share a worker.

    A group is named after where its widest fixture is defined: ``browser`` for the tests that
    share the JupyterLab server, ``test_autograder_postgres`` for the PostgreSQL ones.
    """
    rank: dict[str, tuple[int, str]] = {}
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    uses = {}
    for item in items:
        shared = shared_fixtures(item)
        for key, scope in shared.items():
            rank[key] = (scope, key)
            parent.setdefault(key, key)
        uses[item] = sorted(shared)
    for fixtures in uses.values():
        for other in fixtures[1:]:
            a, b = sorted((root(fixtures[0]), root(other)), key=rank.__getitem__)
            parent[b] = a
    groups = {item: Path(root(fixtures[0]).split("::")[0]).stem for item, fixtures in uses.items() if fixtures}
    return {item: SAME_WORKER.get(group, group) for item, group in groups.items()}


def group_names(item: pytest.Item) -> str | None:
    """The item's xdist group, as pytest-xdist names it (several groups: their names joined)."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) or None


def tell_xdist_the_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make sure a worker reports each grouped item as ``<node id>@<group>``.

    That suffix is how pytest-xdist 3.8's loadgroup scheduler learns an item's group. xdist
    writes it to ``item._nodeid``, which pytest 9.2's structured node ids no longer read, so
    every group was silently ignored and, for one, each worker started its own JupyterLab and
    Chromium (pytest-xdist issue 1386). Here the suffix goes into the node id itself, on its
    last name, so the id reads ``path::test[params]@group`` however pytest prints it. Nothing
    to do once xdist's own suffix shows.
    """
    if not config.getoption("loadgroup", False):  # set in xdist workers under --dist loadgroup
        return
    for item in items:
        group = group_names(item)
        if group and not item.nodeid.endswith(f"@{group}"):
            node_id = item._id
            params = f"[{node_id.params}]" if node_id.params is not None else ""
            last = f"{node_id.names[-1]}{params}@{group}"
            item._id = NodeId(path=node_id.path, names=(*node_id.names[:-1], last))
            assert item.nodeid.endswith(f"@{group}"), "pytest's node ids changed again: see tell_xdist_the_groups"


def lessons_run_in_the_browser(items: list[pytest.Item]) -> set[str]:
    """Lesson notebooks (names) that a selected browser test runs top to bottom in this session."""
    if browser.unavailable_reason() and os.environ.get("CI") != "true":
        return set()  # the browser tests will skip: nbclient must run the lessons
    return {
        item.callspec.params["lesson"].name
        for item in items
        if item.path.name == "test_lessons.py" and item.originalname == "test_lesson_in_jupyterlab"
    }


def run_once(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect nbclient's run of a lesson when the browser test runs it in the same session.

    Both check that every cell runs without an error; the browser test (Run All, then no red
    output and no unrun cell) must run the lesson anyway to use its labs, so nbclient's run adds
    nothing. Alone (``pytest tests/test_notebooks.py``) or without Chromium, nbclient runs them all.
    Under CI a missing Chromium fails the browser tests, so the lessons are never left unchecked.
    """
    in_browser = lessons_run_in_the_browser(items)
    duplicate = [
        item
        for item in items
        if item.path.name == "test_notebooks.py"
        and item.originalname == "test_lesson_runs_top_to_bottom"
        and item.callspec.params["path"].name in in_browser
    ]
    if duplicate:
        config.hook.pytest_deselected(items=duplicate)
        items[:] = [item for item in items if item not in duplicate]


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    # Before -m/-k select (so that -m step03 sees the markers) and before pytest-xdist reads the groups.
    for item in items:
        for step in sorted(steps_of(item)):
            item.add_marker(getattr(pytest.mark, f"step{step}"))
    for item, group in worker_groups(items).items():
        if not any(item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(group))
    yield
    # After -m/-k/--deselect (only what really runs counts) and after pytest-xdist's own hook.
    tell_xdist_the_groups(config, items)
    run_once(config, items)


def pytest_report_header(config: pytest.Config) -> str:
    reason = browser.unavailable_reason()
    if reason is None:
        return "lessons: run top to bottom by the browser tests (nbclient runs those the browser tests do not)"
    return f"lessons: run top to bottom by nbclient (browser tests cannot run: {reason})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"CI runs the whole suite (CI=true), but this test skipped: {reason}"
    return report
