"""Static scan of the code a learner wrote: find code that tampers with the grader.

For the steps whose tests run in the judge (:mod:`autograder.judge`), only the refusal of the
course's own code applies (an answer imported from it is not the learner's). For the steps whose
tests still run in the kernel (``course.IN_KERNEL_TESTS``), a submission runs in the same
kernel as the tests, so code in it could replace the functions
the tests rely on (``np.allclose = lambda *a, **k: True``), rebind the check helpers
(``check_close = lambda *a, **k: None``), swap modules in ``sys.modules`` or reach the
grader's objects through frames and dunder attributes. Before a notebook is graded, every
cell the learner could edit is scanned; a cell that does any of this is not run, and the
learner is told exactly which line was refused. The runtime guard in :mod:`autograder.checks`
and :mod:`autograder.kernel_guard` catches what a static scan cannot see.

The rules are narrow on purpose: ordinary numpy and Python code (classes with ``__init__``,
``super().__init__()``, ``%matplotlib inline``) is never refused.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: Calls that reach names, attributes or code by strings, or run code made from strings.
_REFUSED_CALLS = {
    "setattr", "delattr", "exec", "eval", "compile", "__import__", "globals", "vars", "locals",
    "breakpoint",
}
#: Modules whose import gives code power over the interpreter or the grader.
_REFUSED_MODULES = {"autograder", "ctypes", "importlib", "builtins", "gc", "inspect", "IPython", "ipykernel"}
#: The course's own code: a graded answer taken from it is not the learner's (the grading
#: sandbox hides these files too; this says why, in words).
COURSE_MODULES = {"backprop_lab", "solutions", "source", "lessons", "exercises"}
COURSE_CODE = "the course's own code"
#: Attributes that lead to frames, globals, code objects or the module table.
_REFUSED_ATTRIBUTES = {
    "__dict__", "__globals__", "__code__", "__builtins__", "__subclasses__", "__class__", "__bases__",
    "__base__", "__mro__", "__closure__", "__func__", "__self__", "__module__", "__loader__", "__spec__",
    "__import__", "__getattribute__", "__setattr__", "__delattr__", "__defaults__", "__kwdefaults__",
    "f_globals", "f_locals", "f_back", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
    "_getframe", "meta_path", "path_hooks", "settrace", "setprofile", "excepthook", "displayhook",
}
#: Attributes refused only on a module (``sys.modules``; a torch ``net.modules()`` is fine).
_REFUSED_MODULE_ATTRIBUTES = {"modules"}
#: Names the learner must not read or bind.
_REFUSED_NAMES = {"__builtins__", "__import__", "builtins", "sys_modules"}
#: IPython magics arrive as ``get_ipython().run_line_magic(...)``: these are allowed.
_ALLOWED_MAGIC_CALLS = {"run_line_magic", "run_cell_magic"}


@dataclass(frozen=True)
class Finding:
    """One refused construct: where it is and what it does, in words for the learner."""

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


def bound_names(source: str) -> dict[str, str | None]:
    """Names a (trusted) cell binds at top level, each with the module it imports, if any.

    ``import numpy as np`` gives ``{"np": "numpy"}``; assignments and definitions map to None.
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return {}
    names: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            plain = [alias for alias in node.names if alias.asname or "." not in alias.name]
            names.update({alias.asname or alias.name: alias.name for alias in plain})
        elif isinstance(node, ast.ImportFrom):
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names if a.name != "*"})
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update({n.id: None for n in ast.walk(target) if isinstance(n, ast.Name)})
    return names


def module_aliases(sources: list[str]) -> set[str]:
    """Names bound to modules by ``import`` statements anywhere in ``sources``."""
    aliases: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return aliases


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every expression node
        return "an attribute"


class _Scanner(ast.NodeVisitor):
    def __init__(self, protected: dict[str, str | None], modules: set[str]) -> None:
        self.protected = protected
        self.modules = modules | {"np", "numpy", "torch", "sys", "os", "math"}
        self.findings: list[Finding] = []

    def refuse(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), what))

    # binding a protected name, in any form
    def _check_binding(self, node: ast.AST, name: str) -> None:
        if name in self.protected:
            self.refuse(node, f"rebinds `{name}`, which the tests use")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._check_binding(node, node.id)
        if node.id in _REFUSED_NAMES or node.id.startswith("_grader_"):
            self.refuse(node, f"uses `{node.id}`")

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._check_binding(node, node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        for name in node.names:
            self._check_binding(node, name)

    visit_Nonlocal = visit_Global

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for module in modules:
            if module.split(".")[0] in COURSE_MODULES:
                self.refuse(node, f"imports `{module}`, {COURSE_CODE}")
            elif module.split(".")[0] in _REFUSED_MODULES:
                self.refuse(node, f"imports `{module}`")
        for alias in node.names:
            name = (alias.asname or alias.name).split(".")[0]
            imported = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            if self.protected.get(name) != imported:  # `import numpy as np` again is harmless
                self._check_binding(node, name)
        self.generic_visit(node)

    visit_ImportFrom = visit_Import

    def visit_Attribute(self, node: ast.Attribute) -> None:
        on_module = _root_name(node) in self.modules
        if node.attr in _REFUSED_ATTRIBUTES or (on_module and node.attr in _REFUSED_MODULE_ATTRIBUTES):
            self.refuse(node, f"uses `{_dotted(node)}`")
        elif isinstance(node.ctx, ast.Store | ast.Del) and on_module:
            self.refuse(node, f"replaces `{_dotted(node)}`, a library function the tests rely on")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Name) and function.id in _REFUSED_CALLS:
            self.refuse(node, f"calls `{function.id}()`")
        elif isinstance(function, ast.Name) and function.id == "getattr" and not _literal_attribute(node):
            self.refuse(node, "calls `getattr()` with a computed or dunder attribute name")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del) and _root_name(node) in self.modules:
            self.refuse(node, f"assigns into `{_dotted(node.value)}`")
        self.generic_visit(node)


def _literal_attribute(call: ast.Call) -> bool:
    """``getattr(x, "name")`` with a plain literal name (not a dunder): harmless."""
    if len(call.args) < 2:
        return True
    name = call.args[1]
    return isinstance(name, ast.Constant) and isinstance(name.value, str) and not name.value.startswith("__")


def _bare_get_ipython_uses(tree: ast.AST) -> list[ast.Call]:
    """``get_ipython()`` calls that are not the receiver of an allowed magic call."""
    allowed = {
        id(node.func.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in _ALLOWED_MAGIC_CALLS
    }
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"
        and id(node) not in allowed
    ]


def scan(source: str, protected: dict[str, str | None] | None = None, modules: set[str] = frozenset()) -> list[Finding]:
    """Every construct in ``source`` that tampers with the grader (empty for honest code).

    ``protected`` are the names the tests use (:func:`bound_names` of the set-up cell); ``modules``
    the names bound to modules anywhere in the notebook.
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return []  # it fails when run, with the learner's own SyntaxError
    scanner = _Scanner(dict(protected or {}), set(modules))
    scanner.visit(tree)
    findings = scanner.findings + [
        Finding(node.lineno, "uses `get_ipython()` for something other than a %magic")
        for node in _bare_get_ipython_uses(tree)
    ]
    return sorted(set(findings), key=lambda f: (f.line, f.what))


def refusal_message(findings: list[Finding]) -> str:
    shown = "; ".join(str(f) for f in findings[:5])
    if any(COURSE_CODE in f.what for f in findings):
        return (
            f"This cell was not run by the grader: it takes its answer from {COURSE_CODE} ({shown}). "
            "A graded answer must be your own code, so the functions it defines earn nothing."
        )
    return (
        f"This cell was not run by the grader: it changes what the tests rely on ({shown}). "
        "Write your answer with ordinary code, without replacing library functions or the check helpers."
    )
