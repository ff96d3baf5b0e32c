"""The parity corpus: submissions of every kind (correct, wrong, edited, broken, hostile) for any
assignment, a test fixture of the suite.

The suite grades these through every path (the self-check, ``python -m autograder grade``,
serial ``nbgrader autograde``) and checks that each kind gets its right grade and that every
path gives the same per-test grades; ``benchmarks/bench_autograde.py`` times them. Each is built
from the assignment's generated solution or exercise notebook, so it works for every
assignment; a grade id of a solution cell is the name of the graded function (CONTRIBUTING.md),
which the looping, warning and tampering kinds wrap or replace.

The "edits" are what learners really do to a notebook: move, delete, copy and re-add cells,
lose the cells' metadata (answers pasted into a new notebook), or hand-craft a cell that claims
points. The one restore rule (autograder/cells.py) must give each the same grade everywhere.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from autograder import authoring, course, pipelines

#: What each kind must score: "full", "zero", "partial" (strictly between), or "ungraded".
EXPECTED = {
    "correct": "full",
    "untouched": "zero",
    "partial": "partial",
    "invalid_json": "ungraded",
    "infinite_loop": "partial",
    "sys_exit": "partial",
    "os_exit": "zero",  # the kernel dies in the first answer cell: every test after it scores 0
    "deleted_tests": "full",
    "edited_tests": "zero",
    "warnings": "full",
    "huge_output": "full",
    "tamper_numpy": "zero",
    "tamper_helpers": "zero",
    "tamper_sys_modules": "zero",
    "tamper_runtime": "zero",
    # What learners do to a notebook (the restore rule, autograder/cells.py).
    "moved_tests": "full",
    "duplicated_answer": "full",
    "readded_tests": "full",
    "redefined_at_end": "full",
    "lost_metadata": "full",
    "fake_points": "zero",
    # Known mistakes, for the class's misconception counts (autograder/misconceptions.py).
    "named_mistakes": "partial",
}
#: Kinds a trusted in-process run grades exactly as a kernel does (no loops, exits or tampering).
BENIGN = ("correct", "untouched", "partial", "deleted_tests", "edited_tests", "warnings", "moved_tests",
          "duplicated_answer", "readded_tests", "redefined_at_end", "lost_metadata", "fake_points", "named_mistakes")

#: The kind "named_mistakes": answers with known mistakes (grade id -> code), and what each test names
#: (test grade id -> mistake key); an assignment not listed gets the "partial" submission.
NAMED_MISTAKES = {
    "01_chain_rule": {
        "dh_dx": "def dh_dx(x):\n    return 3 * (x**2 + 1) ** 2\n",
        # no listed mistake: twice the right derivative, which the general diagnosis names
        "dz_dt": "import numpy as np\ndef dz_dt(t):\n"
                 "    return 2 * (2 * np.sin(t) * np.cos(t) * t**2 + np.sin(t)**2 * 2 * t)\n",
    },
}
NAMED_MISTAKE_KEYS = {
    "01_chain_rule": {
        "test_dh_dx": "you forgot the inner derivative du/dx = 2x",
        "test_dh_dx_hidden": "you forgot the inner derivative du/dx = 2x",
        "test_dz_dt": "diagnosis:factor",
        "test_dz_dt_hidden": "diagnosis:factor",
    },
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
    if kind == "named_mistakes" and assignment_id in NAMED_MISTAKES:
        for cell in _solution_cells(solution):
            cell.source = NAMED_MISTAKES[assignment_id].get(cell.metadata["nbgrader"]["grade_id"], cell.source)
        return solution
    if kind in ("partial", "named_mistakes"):
        answers = _solution_cells(solution)
        for cell, stub in list(zip(answers, _solution_cells(exercise), strict=True))[len(answers) // 2:]:
            cell.source = stub.source
        return solution
    if kind == "infinite_loop":
        # It sleeps as it loops: the time limit stops it all the same, and the three graders of the
        # class tests (parallel, serial, self-check) leave the CPU to the rest of the suite. A loop
        # that keeps the CPU, and ignores the interrupt: tests/test_autograder_sandbox.py.
        _wrap_first_function(solution, "    import time\n\n    while True:\n        time.sleep(0.01)")
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
    if kind == "moved_tests":  # every test cell dragged to the top, above the answers
        tests = _test_cells(solution)
        solution.cells = tests + [c for c in solution.cells if c not in tests]
        return solution
    if kind == "duplicated_answer":  # each answer cell copied and pasted right below itself
        for cell in _solution_cells(solution):
            pasted = copy.deepcopy(cell)
            pasted.id = f"{cell.id}-copy"
            solution.cells.insert(solution.cells.index(cell) + 1, pasted)
        return solution
    if kind == "readded_tests":  # test cells deleted, then pasted back as new cells (no metadata)
        for cell in _test_cells(solution):
            cell.metadata = {}
        return solution
    if kind == "redefined_at_end":  # the first answer cell and its tests deleted, the answer retyped last
        first = _solution_cells(solution)[0]
        name = first.metadata["nbgrader"]["grade_id"]
        its_tests = [c for c in _test_cells(solution) if c.metadata["nbgrader"]["grade_id"].startswith(f"test_{name}")]
        gone = [first, *its_tests]
        solution.cells = [c for c in solution.cells if c not in gone] + [nbformat.v4.new_code_cell(first.source)]
        return solution
    if kind == "lost_metadata":  # every cell pasted into a new notebook: no grading metadata at all
        for cell in solution.cells:
            cell.metadata = {}
        return solution
    if kind == "fake_points":  # the untouched exercise plus a hand-made cell claiming 100 points
        cell = nbformat.v4.new_code_cell("print('free points')")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_bonus", "points": 100, "locked": False,
                                     "solution": False, "schema_version": 3}
        exercise.cells.append(cell)
        return exercise
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
    # A module reached through `from ... import`.
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
    :func:`snooping_cell` added (its victim: the first other student of that assignment), and
    kind ``renamed`` a correct one saved under another file name.
    Returns the course folder's ``nbgrader_config.py``.
    """
    config_file = authoring.init_course(course_root, exchange or Path(course_root).parent / "exchange", db_url, root)
    with config_file.open("a") as handle:
        handle.writelines(line + "\n" for line in config_lines)
    api = pipelines.nbgrader_api(pipelines.load_course_config(course_root))
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
        elif kind == "renamed":
            write(path.with_name(f"{assignment_id} (copy).ipynb"), "correct", assignment_id, root)
        else:
            write(path, kind, assignment_id, root)
    return config_file
