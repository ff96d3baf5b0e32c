"""exercises/ and solutions/ are exactly what source/ generates: nobody edits them by hand."""

import ast
import io
import shutil
import tokenize

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


def _uses_torch(source: str) -> bool:
    """Whether code (not a comment or a string) names torch: ``torch.tensor``, ``from torch import nn``."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return any(token.type == tokenize.NAME and token.string == "torch" for token in tokens)


def _imports_torch(source: str) -> bool:
    """Whether the cell itself has an ``import torch`` statement."""
    return any(isinstance(node, ast.Import) and any(alias.name == "torch" for alias in node.names)
               for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("assignment_id", course.assignment_ids())
def test_a_graded_kernel_imports_torch_only_where_learner_code_uses_it(assignment_id):
    """torch costs a graded kernel 1.5 to 2.5 s: the set-up cell imports it only for a step whose
    answers use it, and every test cell that compares with torch imports it itself (the tests run
    in the judge, and a check of one function runs only its own test cells)."""
    notebook = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    code = [(c.metadata.get("nbgrader", {}), c.source) for c in notebook.cells if c.cell_type == "code"]
    setup = next(source for meta, source in code if meta.get("grade_id") == "setup")
    answers_use_torch = any(meta.get("solution") and _uses_torch(source) for meta, source in code)
    assert bool(_uses_torch(setup)) == answers_use_torch, (
        f"{assignment_id}: the set-up cell should import torch exactly when an answer uses it")
    if not answers_use_torch:
        tests = [meta["grade_id"] for meta, source in code
                 if meta.get("grade") and not meta.get("solution") and _uses_torch(source)
                 and not _imports_torch(source)]
        assert not tests, f"{assignment_id}: these test cells use torch without importing it: {tests}"
