"""exercises/ and solutions/ are exactly what source/ generates: nobody edits them by hand."""

import shutil

import nbformat
import pytest

from autograder import authoring, course


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    root = tmp_path_factory.mktemp("regenerated")
    shutil.copytree(course.REPO_ROOT / course.SOURCE_DIR, root / course.SOURCE_DIR)
    authoring.generate(root)
    return root


def _generated_files(root):
    return sorted(
        p.relative_to(root)
        for folder in (course.EXERCISES_DIR, course.SOLUTIONS_DIR)
        for p in (root / folder).rglob("*")
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and ".backup-" not in p.name
    )


@pytest.mark.slow
def test_committed_exercises_and_solutions_match_what_source_generates(regenerated):
    committed, fresh = _generated_files(course.REPO_ROOT), _generated_files(regenerated)
    assert committed == fresh, "run `make generate`: the generated file list differs from source/"
    stale = [
        str(path) for path in fresh
        if (course.REPO_ROOT / path).read_bytes() != (regenerated / path).read_bytes()
    ]
    assert not stale, f"run `make generate` and commit: these differ from what source/ generates: {stale}"


def test_exercises_hide_solutions_and_hidden_tests():
    for assignment_id in course.assignment_ids():
        text = course.exercise_notebook(assignment_id).read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"exercises/{assignment_id} leaks {marker!r}"
        notebook = nbformat.reads(text, as_version=4)
        stub_lines = course.CODE_STUB.splitlines()
        stubs = [c for c in notebook.cells if all(line in c.source for line in stub_lines)]
        assert stubs, f"exercises/{assignment_id} has no code stub for the learner to replace"
