"""Synthetic submissions: correct, wrong, broken and hostile, for any assignment.

The suite and ``benchmarks/bench_autograde.py`` grade these to check that every kind gets its
right grade. Each is built from the assignment's generated solution or exercise notebook, so it
works for every assignment; a grade id of a solution cell is the name of the graded function
(CONTRIBUTING.md), which the looping, warning and tampering kinds wrap or replace.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from . import course

#: What each kind must score: "full", "zero", "partial" (strictly between), or "ungraded".
EXPECTED = {
    "correct": "full",
    "untouched": "zero",
    "partial": "partial",
    "invalid_json": "ungraded",
    "infinite_loop": "partial",
    "sys_exit": "partial",
    "os_exit": "ungraded",
    "deleted_tests": "full",
    "edited_tests": "zero",
    "warnings": "full",
    "huge_output": "full",
    "tamper_numpy": "zero",
    "tamper_helpers": "zero",
    "tamper_sys_modules": "zero",
    "tamper_runtime": "zero",
}
KINDS = tuple(EXPECTED)


def _solution_cells(notebook) -> list:
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]


def _test_cells(notebook) -> list:
    meta = [(c, c.metadata.get("nbgrader", {})) for c in notebook.cells]
    return [c for c, m in meta if m.get("grade") and not m.get("solution")]


def _wrap_first_function(notebook, body: str) -> None:
    """Replace the first graded function by a wrapper whose body is ``body`` (``{f}`` = original)."""
    cell = _solution_cells(notebook)[0]
    name = cell.metadata["nbgrader"]["grade_id"]
    cell.source += (
        f"\n\n\n_original_{name} = {name}\n\n\n"
        f"def {name}(*args, **kwargs):\n" + body.format(f=f"_original_{name}") + "\n"
    )


def _wrong_everywhere(notebook) -> None:
    """Every graded function returns zeros: wrong, but it runs."""
    for cell in _solution_cells(notebook):
        name = cell.metadata["nbgrader"]["grade_id"]
        cell.source = f"def {name}(*args, **kwargs):\n    return 0.0\n"


def _add_cell_after_setup(notebook, source: str) -> None:
    position = next(
        (i + 1 for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"), 0
    )
    notebook.cells.insert(position, nbformat.v4.new_code_cell(source))


def _build(kind: str, assignment_id: str, root: Path):
    solution = nbformat.read(course.solution_notebook(assignment_id, root), as_version=4)
    exercise = nbformat.read(course.exercise_notebook(assignment_id, root), as_version=4)
    if kind == "correct":
        return solution
    if kind == "untouched":
        return exercise
    if kind == "partial":
        answers = _solution_cells(solution)
        for cell, stub in list(zip(answers, _solution_cells(exercise), strict=True))[len(answers) // 2:]:
            cell.source = stub.source
        return solution
    if kind == "infinite_loop":
        _wrap_first_function(solution, "    while True:\n        pass")
        return solution
    if kind == "sys_exit":
        _wrap_first_function(solution, "    import sys\n\n    sys.exit('bye')")
        return solution
    if kind == "os_exit":
        _solution_cells(solution)[0].source += "\n\nimport os\n\nos._exit(1)\n"
        return solution
    if kind == "deleted_tests":
        solution.cells = [c for c in solution.cells if c not in _test_cells(solution)]
        return solution
    if kind == "edited_tests":
        for cell in _test_cells(exercise):
            cell.source = "pass"
        return exercise
    if kind == "warnings":
        _wrap_first_function(
            solution,
            "    import sys\n    import warnings\n\n"
            "    warnings.warn('a harmless warning from a correct answer')\n"
            "    print('a note on stderr', file=sys.stderr)\n"
            "    return {f}(*args, **kwargs)",
        )
        return solution
    if kind == "huge_output":
        _wrap_first_function(  # 2 MB on the first call only: some tests call a function thousands of times
            solution,
            "    if not getattr({f}, 'printed', False):\n        print('x' * 2_000_000)\n"
            "        {f}.printed = True\n    return {f}(*args, **kwargs)",
        )
        return solution
    if kind == "tamper_sys_modules":  # first of all: the set-up cell would import the fake helpers
        _wrong_everywhere(exercise)
        exercise.cells.insert(0, nbformat.v4.new_code_cell(TAMPERING[kind]))
        return exercise
    if kind.startswith("tamper_"):
        _wrong_everywhere(exercise)
        _add_cell_after_setup(exercise, TAMPERING[kind])
        return exercise
    raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")


#: Learner cells that try to pass wrong answers by changing what the tests rely on.
TAMPERING = {
    "tamper_numpy": (
        "import numpy as np\n\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.isfinite = lambda x: True\n"
    ),
    "tamper_helpers": (
        "def check_close(*args, **kwargs):\n    pass\n\n\n"
        "check_true = check_callable = check_shape = check_close\n"
    ),
    "tamper_sys_modules": (
        "import sys\nimport types\n\n"
        "fake = types.ModuleType('autograder.checks')\n"
        "fake.__getattr__ = lambda name: (lambda *a, **k: None)\n"
        "sys.modules['autograder.checks'] = fake\n"
    ),
    # Slips past the static scan (a module reached through `from ... import`), caught at run time.
    "tamper_runtime": (
        "from numpy import random, testing\n\n"
        "testing.assert_allclose = lambda *a, **k: None\n"
        "random.default_rng = lambda *a, **k: None\n"
    ),
}


def submission(kind: str, assignment_id: str, root: Path = course.REPO_ROOT):
    """The notebook of a submission of ``kind`` (``invalid_json`` has none: see :func:`write`)."""
    if kind == "invalid_json":
        raise ValueError("an invalid_json submission has no notebook; use write()")
    return _build(kind, assignment_id, root)


def write(path: Path, kind: str, assignment_id: str, root: Path = course.REPO_ROOT) -> Path:
    """Write a submission of ``kind`` to ``path`` (a notebook file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "invalid_json":
        text = course.exercise_notebook(assignment_id, root).read_text()
        path.write_text(text[: len(text) // 2])  # cut short, as by a crash while saving
    else:
        nbformat.write(copy.deepcopy(submission(kind, assignment_id, root)), path)
    return path


def snooping_cell(course_root: Path, victim: str, assignment_id: str) -> str:
    """A learner cell that tries to read another student's work and to change the gradebook.

    It prints ``SNOOP`` and, for each attempt, ``ALLOWED`` or ``denied <error>``.
    """
    root = str(course_root)
    return f'''import os
import sqlite3

ROOT = {root!r}
attempts = {{
    "list submissions": lambda: os.listdir(ROOT + "/submitted"),
    "read a submission": lambda: open(ROOT + "/submitted/{victim}/{assignment_id}/{assignment_id}.ipynb").read(9),
    "open the gradebook": lambda: open(ROOT + "/gradebook.db", "ab").close(),
    "change grades": lambda: sqlite3.connect(ROOT + "/gradebook.db").execute("update grade set manual_score = 99"),
}}
results = {{}}
for label, attempt in attempts.items():
    try:
        attempt()
        results[label] = "ALLOWED"
    except Exception as error:
        results[label] = "denied " + type(error).__name__
print("SNOOP", results)
'''


def build_class(
    course_root: Path,
    batch: list[tuple[str, str, str]],
    exchange: Path | None = None,
    config_lines: tuple[str, ...] = (),
    db_url: str | None = None,
    root: Path = course.REPO_ROOT,
) -> Path:
    """A course folder with its assignments generated and ``batch`` already collected.

    ``batch`` lists (student, assignment, kind); kind ``snoop`` is a correct submission with
    :func:`snooping_cell` added (its victim: the first other student of that assignment).
    Returns the course folder's ``nbgrader_config.py``.
    """
    config_file = course.init_course(course_root, exchange or Path(course_root).parent / "exchange", db_url, root)
    with config_file.open("a") as handle:
        handle.writelines(line + "\n" for line in config_lines)
    api = course.nbgrader_api(course.load_course_config(course_root))
    for assignment_id in sorted({assignment for _, assignment, _ in batch}):
        result = api.generate_assignment(assignment_id)
        if not result["success"]:
            raise course.CourseError(result.get("error") or result.get("log"))
    for student, assignment_id, kind in batch:
        path = Path(course_root) / "submitted" / student / assignment_id / f"{assignment_id}.ipynb"
        if kind == "snoop":
            victim = next(s for s, a, _ in batch if a == assignment_id and s != student)
            notebook = submission("correct", assignment_id, root)
            notebook.cells.append(nbformat.v4.new_code_cell(snooping_cell(Path(course_root), victim, assignment_id)))
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, path)
        else:
            write(path, kind, assignment_id, root)
    return config_file
