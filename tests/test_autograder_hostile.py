"""Tampering with the kernel gains nothing.

The test cells run in the judge (the grader's process, autograder/judge.py): what a submission
replaces in the kernel (numpy, the check helpers, sys.modules) touches only its own answers. Such
cells simply run, and earn nothing."""

from pathlib import Path

import corpus
import pytest

from autograder import course
from autograder.grading import grade_notebook

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"
TAMPERING = [kind for kind in corpus.KINDS if kind.startswith("tamper_")]


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_with_the_kernel_gains_nothing_where_the_judge_grades(tmp_path: Path, kind):
    notebook = corpus.write(tmp_path / f"{ASSIGNMENT}.ipynb", kind, ASSIGNMENT)
    report = grade_notebook(notebook, course.source_notebook(ASSIGNMENT))
    assert report.error is None
    assert report.max_score > 0 and report.score == 0, [(r.grade_id, r.points) for r in report.results]
    assert not any("not run by the grader" in note for note in report.notes), report.notes  # nothing to refuse
