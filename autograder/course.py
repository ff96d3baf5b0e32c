"""The course as nbgrader sees it: where things live, its configuration, and generation.

``source/NN_name/NN_name.ipynb`` is the instructor master of each assignment (nbgrader's
format: solution regions and hidden tests). ``exercises/`` (what learners get) and
``solutions/`` are generated from it by :func:`generate`; nobody edits them by hand.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from traitlets.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "backprop-lab"
SOURCE_DIR = "source"
EXERCISES_DIR = "exercises"
SOLUTIONS_DIR = "solutions"
LESSONS_DIR = "lessons"

#: Set in the kernels that grade a notebook, so that the self-check cell inside does nothing.
GRADING_ENV = "BACKPROP_LAB_GRADING"
#: The stub a learner sees in place of each solution region.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
#: Seconds one cell may run while grading before it counts as an infinite loop.
CELL_TIMEOUT = 60
#: Seconds a whole notebook may run while grading: an infinite loop costs this once at most.
SUBMISSION_TIMEOUT = 180

#: nbgrader's autograde pipeline, with its ``Execute`` replaced by the hardened one.
AUTOGRADE_PREPROCESSORS = [
    "autograder.execute.HardenedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.execute.RecordGradingProblems",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
#: nbgrader's sanitizing pipeline, with deleted test cells put back robustly.
SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.execute.RestoringOverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
#: Feedback: hidden tests' tracebacks replaced by their message, then their code removed.
FEEDBACK_PREPROCESSORS = [
    "autograder.execute.RedactHiddenTests",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


class CourseError(RuntimeError):
    """Something about the course files is wrong; the message says what and where."""


def assignment_ids(root: Path = REPO_ROOT) -> list[str]:
    """Every assignment authored in ``source/``, in course order."""
    source = root / SOURCE_DIR
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / SOURCE_DIR / assignment_id / f"{assignment_id}.ipynb")


def exercise_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / EXERCISES_DIR / assignment_id / f"{assignment_id}.ipynb")


def solution_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / SOLUTIONS_DIR / assignment_id / f"{assignment_id}.ipynb")


def lesson_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    return sorted((root / LESSONS_DIR).glob("*.ipynb"))


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise CourseError(f"{path} does not exist (known assignments: {', '.join(assignment_ids())})")
    return path


def nbgrader_config(root: Path = REPO_ROOT, db_url: str | None = None) -> Config:
    """The course's nbgrader configuration, rooted at ``root``.

    ``autograder/nbgrader_config.py`` (what an instructor's ``nbgrader`` command reads) and the
    course's own tools both build their configuration here, so they cannot drift apart.
    """
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = SOURCE_DIR
    config.CourseDirectory.release_directory = EXERCISES_DIR
    config.CourseDirectory.solution_directory = SOLUTIONS_DIR
    config.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT
    config.Execute.timeout = CELL_TIMEOUT
    config.HardenedExecute.timeout = CELL_TIMEOUT
    config.HardenedExecute.submission_timeout = SUBMISSION_TIMEOUT
    config.HardenedExecute.course_root = str(root)
    config.Autograde.sanitize_preprocessors = SANITIZE_PREPROCESSORS
    config.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
    config.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
    # The export says which submissions could not be graded, and why (autograder/export.py).
    config.ExportApp.plugin_class = "autograder.export.StatusCsvExport"
    # A learner who deletes a test cell still gets it graded (restored from the gradebook).
    config.OverwriteCells.add_missing_cells = True
    # Committed solutions carry no outputs: generate them without executing.
    config.GenerateSolution.preprocessors = [
        "nbgrader.preprocessors.IncludeHeaderFooter",
        "nbgrader.preprocessors.LockCells",
        "nbgrader.preprocessors.ClearOutput",
        "nbgrader.preprocessors.ClearMarkScheme",
    ]
    return config


def nbgrader_api(config: Config):
    """An ``NbGraderAPI`` for ``config`` (imported lazily: nbgrader is slow to import)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _run_or_raise(result: dict, what: str) -> None:
    if not result.get("success"):
        raise CourseError(f"{what} failed:\n{result.get('error') or result.get('log')}")


def _generate_solution(api, assignment_id: str) -> None:
    from nbgrader.apps.api import capture_log, temp_attrs
    from nbgrader.converters import GenerateSolution

    with temp_attrs(api.coursedir, assignment_id=assignment_id):
        app = GenerateSolution(coursedir=api.coursedir, parent=api)
        app.force = True
        _run_or_raise(capture_log(app), f"generating the solution of {assignment_id}")


def generate(root: Path = REPO_ROOT, assignments: list[str] | None = None) -> list[str]:
    """Rebuild ``exercises/`` and ``solutions/`` under ``root`` from its ``source/``.

    The gradebook that nbgrader needs while generating is a throwaway one. Returns the
    assignment ids generated.
    """
    chosen = assignments or assignment_ids(root)
    with tempfile.TemporaryDirectory(prefix="backprop-lab-generate-") as scratch:
        api = nbgrader_api(nbgrader_config(root, db_url=f"sqlite:///{scratch}/gradebook.db"))
        for assignment_id in chosen:
            for output_dir in (EXERCISES_DIR, SOLUTIONS_DIR):
                shutil.rmtree(root / output_dir / assignment_id, ignore_errors=True)
            _run_or_raise(api.generate_assignment(assignment_id), f"generating {assignment_id}")
            _generate_solution(api, assignment_id)
    return chosen


def fresh_exercise(assignment_id: str, target: Path, root: Path = REPO_ROOT) -> Path:
    """Write a pristine copy of the exercise to ``target``, generated from ``source/`` in a scratch course."""
    source_notebook(assignment_id, root)  # a clear error for an unknown assignment
    with tempfile.TemporaryDirectory(prefix="backprop-lab-fresh-") as scratch:
        shutil.copytree(root / SOURCE_DIR / assignment_id, Path(scratch) / SOURCE_DIR / assignment_id)
        generate(Path(scratch), [assignment_id])
        shutil.copy(Path(scratch) / EXERCISES_DIR / assignment_id / f"{assignment_id}.ipynb", target)
    return target


CONFIG_FILE_TEMPLATE = '''\
"""nbgrader configuration of a Backprop Lab course (written by `python -m autograder init-course`).

Run every instructor `nbgrader` command from this folder. The settings come from
autograder.course.nbgrader_config (hardened autograde, feedback without hidden tests,
an export with a status column); only this course's own choices are below.
"""

from pathlib import Path

from autograder.course import nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
c.merge(nbgrader_config(Path(__file__).resolve().parent, db_url={db_url!r}))
c.Exchange.root = {exchange!r}
'''


def write_course_config(course_root: Path, exchange: Path, db_url: str | None = None) -> Path:
    """Write ``nbgrader_config.py`` for an instructor's course folder."""
    path = Path(course_root) / "nbgrader_config.py"
    path.write_text(CONFIG_FILE_TEMPLATE.format(db_url=db_url, exchange=str(exchange)))
    return path


def init_course(course_root: Path, exchange: Path, db_url: str | None = None, root: Path = REPO_ROOT) -> Path:
    """An instructor's course folder: the assignments' masters and the nbgrader configuration.

    The folder is private to its owner (mode 0700): it holds the gradebook and every
    student's submission. The exchange is created writable by everyone, as nbgrader needs.
    """
    course_root = Path(course_root)
    course_root.mkdir(parents=True, exist_ok=True)
    course_root.chmod(0o700)
    shutil.copytree(root / SOURCE_DIR, course_root / SOURCE_DIR, dirs_exist_ok=True)
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)
    return write_course_config(course_root, exchange, db_url)


def load_course_config(course_root: Path, db_url: str | None = None) -> Config:
    """The configuration nbgrader would use in ``course_root``: its ``nbgrader_config.py`` if any."""
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(course_root) / "nbgrader_config.py"
    if config_file.is_file():
        config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    else:
        config = nbgrader_config(Path(course_root))
    if db_url:
        config.CourseDirectory.db_url = db_url
    return config
