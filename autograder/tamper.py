"""Static scan of learner cells: an answer taken from the course's own code is not the learner's.

The tests run in the judge (:mod:`autograder.judge`), in the grader's own process, so nothing a
learner cell does to its kernel (replacing numpy, the check helpers, builtins or the kernel
itself) can change a verdict. What remains is where an answer comes from. A learner cell that
imports the course's own code (its lessons' helpers, its answers, its grader) is not run, and
the learner is told which line and why, in words. The grading jail (:mod:`autograder.sandbox`)
hides that code from the kernel too, so an import the scan cannot see (a name built from
strings) finds nothing there.

Ordinary code is never refused: the rule looks at imports only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: The course's own code: a graded answer taken from it is not the learner's.
COURSE_MODULES = {"autograder", "backprop_lab", "solutions", "source", "lessons", "exercises"}
COURSE_CODE = "the course's own code"


@dataclass(frozen=True)
class Finding:
    """One refused import: where it is and what it takes, in words for the learner."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def python_source(cell_source: str) -> str:
    """The cell as the kernel runs it: IPython magics turned into plain Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython always comes with the kernel
        return cell_source
    return TransformerManager().transform_cell(cell_source)


def imported_modules(node: ast.AST) -> list[str]:
    """The modules an ``import`` or ``from ... import`` statement names (none for a relative import
    or any other statement)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and not node.level:
        return [node.module or ""]
    return []


def scan(source: str) -> list[Finding]:
    """Every import of the course's own code in ``source`` (empty for the learner's own code)."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []  # it fails when run, with the learner's own SyntaxError
    findings = set()
    for node in ast.walk(tree):
        findings.update(Finding(node.lineno, f"imports `{module}`, {COURSE_CODE}")
                        for module in imported_modules(node) if module.split(".")[0] in COURSE_MODULES)
    return sorted(findings, key=lambda f: (f.line, f.what))


def refusal_message(findings: list[Finding]) -> str:
    shown = "; ".join(str(f) for f in findings[:5])
    return (
        f"This cell was not run by the grader: it takes its answer from {COURSE_CODE} ({shown}). "
        "A graded answer must be your own code, so the functions it defines earn nothing."
    )
