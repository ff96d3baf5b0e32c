"""Tampering with the kernel gains nothing.

Where the test cells run in the judge (the grader's process, autograder/judge.py), what a
submission replaces in the kernel (numpy, the check helpers, sys.modules) touches only its own
answers: such cells simply run, and earn nothing. For the assignments whose tests still run in
the kernel (course.IN_KERNEL_TESTS), the static scan refuses them and, with the scan switched
off, the run-time guard alone still gives them nothing, and the learner is told why."""

from pathlib import Path

import corpus
import pytest

from autograder import course
from autograder.grading import grade_notebook

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"
#: A step whose test cells still run in the kernel, behind the in-kernel guard.
IN_KERNEL = sorted(course.IN_KERNEL_TESTS)[0]
TAMPERING = [kind for kind in corpus.KINDS if kind.startswith("tamper_")]


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_with_the_kernel_gains_nothing_where_the_judge_grades(tmp_path: Path, kind):
    notebook = corpus.write(tmp_path / f"{ASSIGNMENT}.ipynb", kind, ASSIGNMENT)
    report = grade_notebook(notebook, course.source_notebook(ASSIGNMENT))
    assert report.error is None
    assert report.max_score > 0 and report.score == 0, [(r.grade_id, r.points) for r in report.results]
    assert not any("not run by the grader" in note for note in report.notes), report.notes  # nothing to refuse


@pytest.mark.parametrize("kind", TAMPERING)
def test_runtime_guard_alone_gives_tampering_nothing(tmp_path: Path, kind):
    notebook = corpus.write(tmp_path / f"{IN_KERNEL}.ipynb", kind, IN_KERNEL)
    report = grade_notebook(notebook, course.source_notebook(IN_KERNEL), scan_for_tampering=False)
    assert report.error is None
    assert report.max_score > 0 and report.score == 0, [(r.grade_id, r.points) for r in report.results]


def test_runtime_guard_names_what_was_replaced(tmp_path: Path):
    notebook = corpus.write(tmp_path / f"{IN_KERNEL}.ipynb", "tamper_numpy", IN_KERNEL)
    report = grade_notebook(notebook, course.source_notebook(IN_KERNEL), scan_for_tampering=False)
    assert any("Tampering" in (r.message or "") and "numpy.allclose" in r.message for r in report.results)


def test_static_scan_tells_the_learner_which_line_was_not_run(tmp_path: Path):
    notebook = corpus.write(tmp_path / f"{IN_KERNEL}.ipynb", "tamper_numpy", IN_KERNEL)
    report = grade_notebook(notebook, course.source_notebook(IN_KERNEL))
    assert report.score == 0
    assert any("not run by the grader" in note and "np.allclose" in note for note in report.notes), report.notes
