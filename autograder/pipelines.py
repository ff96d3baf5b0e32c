"""The course's nbgrader configuration: which preprocessors run, in which phase, and their settings.

``autograder/nbgrader_config.py`` (what an instructor's ``nbgrader`` commands read), a course
folder's ``nbgrader_config.py`` (written by ``python -m autograder init-course``) and the
course's own tools all build their configuration with :func:`nbgrader_config`, so they cannot
drift apart. The phases of ``nbgrader autograde``, with the course's replacements:

sanitize   :class:`RestoreCells` puts the instructor's cells back by the course's one rule
           (:func:`autograder.cells.restore`), in place of nbgrader's ``DeduplicateIds`` and
           ``OverwriteCells``;
autograde  :class:`autograder.execute.HardenedExecute` runs the notebook, in place of nbgrader's
           ``Execute``; :class:`RecordGradingProblems` stores what went wrong in the gradebook
           (typed, :mod:`autograder.problems`), after nbgrader's ``SaveAutoGrades``;
feedback   :class:`RedactHiddenTests` replaces a failing hidden test's traceback by its message,
           before nbgrader's ``ClearHiddenTests`` removes the hidden code.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from . import cells, problems
from .course import (
    CELL_TIMEOUT,
    CODE_STUB,
    COURSE_ID,
    EXERCISES_DIR,
    REPO_ROOT,
    SOLUTIONS_DIR,
    SOURCE_DIR,
    SUBMISSION_TIMEOUT,
)

#: Where a restored notebook carries what restoring it found, from the sanitize phase to the next.
PROBLEMS_KEY = "backprop_lab_problems"

SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.pipelines.RestoreCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
AUTOGRADE_PREPROCESSORS = [
    "autograder.execute.HardenedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.pipelines.RecordGradingProblems",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
FEEDBACK_PREPROCESSORS = [
    "autograder.pipelines.RedactHiddenTests",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
#: Committed solutions carry no outputs: generate them without executing.
SOLUTION_PREPROCESSORS = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.ClearMarkScheme",
]


def nbgrader_config(root: Path = REPO_ROOT, db_url: str | None = None) -> Config:
    """The course's nbgrader configuration, rooted at ``root``."""
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
    config.GenerateSolution.preprocessors = SOLUTION_PREPROCESSORS
    # Collect checks each student's folder first and copies no link (autograder/exchange.py), and
    # takes the newest submission: a resubmission is never silently ignored.
    config.ExchangeFactory.collect = "autograder.exchange.SafeCollect"
    config.ExchangeCollect.update = True
    return config


def nbgrader_api(config: Config):
    """An ``NbGraderAPI`` for ``config`` (imported lazily: nbgrader is slow to import)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


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


# --- the one restore rule, as nbgrader's sanitize step -----------------------------------


def restore_notebook(nb, master: list[cells.MasterCell]):
    """:func:`autograder.cells.restore`, with what it found kept in the notebook's metadata
    (the autograde phase reads the notebook back from disk)."""
    restored, found = cells.restore(nb, master)
    restored.metadata[PROBLEMS_KEY] = [p.record() for p in found]
    return restored


def take_restore_problems(nb) -> list[problems.Problem]:
    return [problems.Problem(**record) for record in nb.metadata.pop(PROBLEMS_KEY, [])]


def _source_order(config: Config, assignment: str, notebook: str) -> list[str]:
    """Grade ids in the order of the course's own master, when the course folder has it."""
    try:
        root = Path(config.CourseDirectory.root or ".")
        source = config.CourseDirectory.get("source_directory", SOURCE_DIR)
        path = root / source / assignment / f"{notebook}.ipynb"
        return [cell.grade_id for cell in cells.master_from_notebook(nbformat.read(str(path), as_version=4))]
    except (OSError, ValueError):
        return []


class RestoreCells(NbGraderPreprocessor):
    """The instructor's cells back in a submission, by :func:`autograder.cells.restore`."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        order = _source_order(self.config, info["assignment"], info["notebook"])
        with Gradebook(info["db_url"]) as gradebook:
            master = cells.master_from_gradebook(gradebook, info["notebook"], info["assignment"], order)
        return restore_notebook(nb, master), resources


class RecordGradingProblems(NbGraderPreprocessor):
    """Store what went wrong while grading in the gradebook: a flag, and typed records in a comment."""

    def preprocess(self, nb, resources):
        found = resources.get("backprop_lab", {}).get("problems", [])
        info = resources.get("nbgrader", {})
        if not found or "db_url" not in info:
            return nb, resources
        from nbgrader.api import Gradebook

        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            notebook.flagged = any(p.flags for p in found)
            for comment in notebook.comments[:1]:
                comment.auto_comment = problems.to_comment(found)
            gradebook.db.commit()
        return nb, resources


class RedactHiddenTests(NbGraderPreprocessor):
    """Feedback never carries a hidden test's code, whichever cell printed it, and never breaks.

    * a failing hidden test shows its message, never its code or traceback;
    * any output line of any cell (stdout, stderr, display data, errors) that contains a line of
      a hidden test's code is replaced, so a learner's code that prints the test it is called
      from (``linecache``, ``inspect``) shows nothing of it;
    * the hidden-test markers in a learner's own cells are defused, so that nbgrader's
      ``ClearHiddenTests`` (which runs next and removes the hidden code from the test cells)
      does not fail the feedback of that learner.
    """

    REDACTED = "[a line of a hidden test was removed from this output]"

    def preprocess(self, nb, resources):
        self._hidden_lines = cells.hidden_lines(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if cells.is_test_cell(cell) and cells.HIDDEN_BEGIN in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}",
                                        "(a hidden test: its code and traceback are not shown)"]
        elif not cells.is_test_cell(cell):
            cell.source = defuse_markers(cell.source)
        for output in cell.get("outputs", []):
            self._redact(output)
        return cell, resources

    def _redact(self, output) -> None:
        clean = lambda text: redact_lines(text, self._hidden_lines, self.REDACTED)  # noqa: E731
        if "text" in output:
            output.text = clean(output.text)
        if output.get("output_type") == "error":
            output.evalue = clean(output.evalue)
            output.traceback = [clean(line) for line in output.get("traceback", [])]
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str) and (mime.startswith("text/") or mime.endswith("json")):
                output.data[mime] = clean(value)


def redact_lines(text: str, hidden: set[str], replacement: str) -> str:
    if not text or not hidden:
        return text
    lines = text.split("\n")
    return "\n".join(replacement if any(h in line for h in hidden) else line for line in lines)


def defuse_markers(source: str) -> str:
    """A learner's text that looks like the hidden-test markers, made harmless."""
    return source.replace("BEGIN HIDDEN TESTS", "BEGIN HIDDEN-TESTS").replace("END HIDDEN TESTS", "END HIDDEN-TESTS")
