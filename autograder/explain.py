"""An exception from the learner's code, told as a sentence instead of a traceback.

:func:`explain_uncaught` (re-exported by :mod:`autograder.checks`) finds the innermost frame of
the learner's own code in the exception's traceback, reads its failing line and the shapes of
the arrays it names, and says what went wrong in the learner's terms: for a matrix product or
a broadcast that does not fit, the operands, their shapes, the shape the result should have
(a gradient ``dx`` has the shape of ``x``) and which transpose, order or neighbouring index
would fit. Only names, attributes (``.T``, ``.shape``) and constant or simple indices of the
frame's locals are evaluated: nothing the learner wrote runs again.

The grader uses it for exceptions that escape learner code into a test cell
(:func:`should_explain`): the judge's agent (:mod:`autograder.judge_agent`) tells them in the
kernel, where the learner's frames are, and sends the sentence with the error.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import linecache
import os
import types

__all__ = ["explain_uncaught", "should_explain"]

_LIBRARY_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep,
                    os.sep + "lib" + os.sep + "python3")
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
#: Exceptions with their own meaning for the grader or the learner: left as they are.
_LEFT_ALONE = ("NotImplementedError", "AssertionError", "Mistake", "Tampering", "KeyboardInterrupt", "SystemExit",
               "MemoryError", "RecursionError")


def _is_library(filename: str) -> bool:
    if filename.startswith("<frozen") or filename.startswith(_OWN_DIR):
        return True
    return any(marker in filename for marker in _LIBRARY_MARKERS)


def _frames(exc: BaseException) -> list[types.FrameType]:
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _learner_frame(exc: BaseException, test_cell: bool = True):
    """(frame, line number) of the innermost frame of the learner's code, not the test cell's own.

    The outermost frame is the cell that ran (a test cell); a learner's function is a frame of
    another file that is not a library. ``test_cell=False``: learner code was called with no test
    cell's frame above it (by the judge's agent), so every frame outside the libraries is the learner's.
    """
    frames = _frames(exc)
    if not frames:
        return None
    outside = [f.f_code.co_filename for f, _ in frames if not _is_library(f.f_code.co_filename)]
    if not outside:
        return None
    cell_file = outside[0] if test_cell else None  # the judge's agent calls learner code: no test cell
    own = [(f, n) for f, n in frames
           if not _is_library(f.f_code.co_filename) and f.f_code.co_filename != cell_file]
    return own[-1] if own else None


def should_explain(exc: BaseException, test_cell: bool = True) -> bool:
    """Whether a test cell should show :func:`explain_uncaught`'s sentence for ``exc``."""
    if any(cls.__name__ in _LEFT_ALONE for cls in type(exc).__mro__):
        return False
    return _learner_frame(exc, test_cell) is not None


# --- evaluating the operands of the failing line, safely ---------------------------------


class _Unsafe(Exception):
    pass


def _evaluate(node: ast.AST, names: dict):
    """The value of a name, ``.T``/``.mT``, a constant or simple subscript: nothing else runs."""
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise _Unsafe(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
        value = _evaluate(node.value, names)
        return getattr(value, node.attr)
    if isinstance(node, ast.Subscript):
        value = _evaluate(node.value, names)
        index = _evaluate(node.slice, names)
        if not isinstance(value, list | tuple | dict) or not isinstance(index, int | str):
            raise _Unsafe("subscript")
        return value[index]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        if not (isinstance(left, int) and isinstance(right, int)):
            raise _Unsafe("arithmetic")
        return left + right if isinstance(node.op, ast.Add) else left - right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _evaluate(node.operand, names)
        if isinstance(value, int):
            return -value
    raise _Unsafe(type(node).__name__)


def _shape(value) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        return None


def _show(shape: tuple[int, ...]) -> str:
    return "a scalar" if shape == () else f"shape {shape}"


def _source(node: ast.AST) -> str:
    return ast.unparse(node)


def _matmul_shape(a: tuple, b: tuple) -> tuple | None:
    """The shape of a @ b for 1-D and 2-D operands, None when it does not fit."""
    if not a or not b or len(a) > 2 or len(b) > 2:
        return None
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        return None
    return tuple(a[:-1]) + tuple(b[1:] if len(b) == 2 else ())


def _products(tree: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    """The operand pairs of every matrix product on the line: a @ b, np.dot/matmul(a, b), a.dot(b), torch.mm."""
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            pairs.append((node.left, node.right))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in ("dot", "matmul", "mm") and len(node.args) == 2:
                pairs.append((node.args[0], node.args[1]))
            elif name in ("dot", "matmul", "mm") and len(node.args) == 1:
                pairs.append((node.func.value, node.args[0]))
    return pairs


def _elementwise(tree: ast.AST) -> list[tuple[ast.AST, ast.AST, str]]:
    symbols = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
    return [(node.left, node.right, symbols[type(node.op)]) for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and type(node.op) in symbols]


def _target_shape(tree: ast.AST, names: dict) -> tuple[str, tuple] | None:
    """What the line's result should look like, when the convention says: ``dx`` has the shape of ``x``."""
    statement = tree.body[0] if isinstance(tree, ast.Module) and tree.body else None
    targets = []
    if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    for target in targets:
        name = target.id if isinstance(target, ast.Name) else None
        if name and name.startswith("d") and len(name) > 1:
            for candidate in (name[1:], name[1:].lstrip("_")):
                shape = _shape(names.get(candidate))
                if shape is not None:
                    return f"{name} has the shape of {candidate}", shape
    return None


def _index_alternatives(node: ast.AST, names: dict) -> list[tuple[str, object]]:
    """The same operand with a neighbouring index: weights[i + 1] -> weights[i], weights[i + 2]
    (also under a ``.T``)."""
    transposed = isinstance(node, ast.Attribute) and node.attr in ("T", "mT")
    sub = node.value if transposed else node
    if not isinstance(sub, ast.Subscript):
        return []
    try:
        container, index = _evaluate(sub.value, names), _evaluate(sub.slice, names)
    except (_Unsafe, LookupError, TypeError, AttributeError):
        return []
    if not isinstance(container, list | tuple) or not isinstance(index, int):
        return []
    found = []
    for other in (index - 1, index + 1):
        if not -len(container) <= other < len(container) or (other < 0 <= index):
            continue
        alternative: ast.AST = ast.Subscript(value=sub.value, slice=ast.Constant(other), ctx=ast.Load())
        if transposed:
            alternative = ast.Attribute(value=alternative, attr=node.attr, ctx=ast.Load())
        with contextlib.suppress(_Unsafe, LookupError, TypeError, AttributeError):
            found.append((_source(alternative), _evaluate(alternative, names)))
    return found


def _fits(a_src, a, b_src, b, target) -> list[str]:
    """Rewrites of ``a @ b`` whose shapes fit (and give ``target``'s shape when it is known)."""
    options = [
        (f"{a_src}.T @ {b_src}", _shape(a)[::-1], _shape(b)),
        (f"{a_src} @ {b_src}.T", _shape(a), _shape(b)[::-1]),
        (f"{b_src} @ {a_src}", _shape(b), _shape(a)),
        (f"{b_src}.T @ {a_src}.T", _shape(b)[::-1], _shape(a)[::-1]),
    ]
    fitting = []
    for text, left, right in options:
        result = _matmul_shape(left, right)
        if result is not None and (target is None or result == target):
            fitting.append(text.replace(".T.T", ""))
    return fitting


def _operands(a_node, b_node, names):
    """(a, b, a's shape, b's shape) of two operands that are arrays, or None."""
    try:
        a, b = _evaluate(a_node, names), _evaluate(b_node, names)
    except (_Unsafe, LookupError, TypeError, AttributeError):
        return None
    sa, sb = _shape(a), _shape(b)
    return None if sa is None or sb is None else (a, b, sa, sb)


def _explain_product(a_node, b_node, names, target) -> str | None:
    operands = _operands(a_node, b_node, names)
    if operands is None or _matmul_shape(operands[2], operands[3]) is not None:
        return None
    a, b, sa, sb = operands
    a_src, b_src = _source(a_node), _source(b_node)
    inner_b = sb[0] if len(sb) == 1 else sb[-2] if sb else None
    sentence = (f"`{a_src} @ {b_src}` multiplies {a_src} of {_show(sa)} by {b_src} of {_show(sb)}: a matrix "
                f"product needs the last size of the left operand ({sa[-1] if sa else '-'}) to equal the first size "
                f"of the right one ({inner_b})")
    wanted = target[1] if target else None
    if target:
        sentence += f"; {target[0]}, {target[1]}"
    for node, _other_node, left in ((a_node, b_node, True), (b_node, a_node, False)):
        other = b if left else a
        for text, value in _index_alternatives(node, names):
            vs, os_ = _shape(value), _shape(other)
            if vs is None or os_ is None:
                continue
            result = _matmul_shape(vs, os_) if left else _matmul_shape(os_, vs)
            if result is not None and (wanted is None or result == wanted):
                return (sentence + f". With {text} ({_show(vs)}) in place of {_source(node)} it fits: the loop "
                        "over layers uses a neighbouring layer's weights or activations (an index off by one)")
    fitting = _fits(a_src, a, b_src, b, wanted)
    if fitting:
        sentence += ". What would fit: " + " or ".join(f"`{f}`" for f in fitting[:2])
    return sentence


def _broadcasts(sa: tuple, sb: tuple) -> bool:
    return all(not (x != y and 1 not in (x, y)) for x, y in zip(reversed(sa), reversed(sb), strict=False))


def _explain_elementwise(a_node, b_node, symbol, names) -> str | None:
    operands = _operands(a_node, b_node, names)
    if operands is None or _broadcasts(operands[2], operands[3]):
        return None
    _, _, sa, sb = operands
    a_src, b_src = _source(a_node), _source(b_node)
    sentence = (f"`{a_src} {symbol} {b_src}` combines {a_src} of {_show(sa)} with {b_src} of {_show(sb)} entry by "
                "entry, and these shapes do not broadcast (sizes must match from the last axis, or be 1)")
    if len(sb) == 2 and _broadcasts(sa, sb[::-1]):
        sentence += f". {b_src}.T would fit: is one of them transposed?"
    elif len(sa) == 2 and _broadcasts(sa[::-1], sb):
        sentence += f". {a_src}.T would fit: is one of them transposed?"
    elif len(sa) == len(sb) + 1 or len(sb) == len(sa) + 1:
        sentence += ". One has an extra axis: was an axis summed away (or not summed)?"
    return sentence


def _explain_index(tree: ast.AST, names: dict) -> str | None:
    """A list index past either end, in a loop over layers: one layer too far."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript):
            continue
        try:
            container, index = _evaluate(node.value, names), _evaluate(node.slice, names)
        except (_Unsafe, LookupError, TypeError, AttributeError):
            continue
        if isinstance(container, list | tuple) and isinstance(index, int) and not -len(container) <= index < len(
                container):
            sentence = (f"`{_source(node)}` asks for index {index} of {_source(node.value)}, which has "
                        f"{len(container)} entries (0 to {len(container) - 1})")
            computed = not isinstance(node.slice, ast.Constant | ast.UnaryOp)
            if computed and index in (len(container), -len(container) - 1):
                sentence += ": the loop goes one step too far (an index off by one)"
            return sentence
    return None


def _where(frame, lineno: int) -> str:
    name = frame.f_code.co_name
    return f"in {name}" if name != "<module>" else f"at line {lineno}"


def explain_uncaught(exc: BaseException, test_cell: bool = True) -> str:
    """One sentence for an exception raised inside learner code, naming the operands and shapes.

    Works on any exception object; without a traceback or a learner frame it says what the
    exception says.
    """
    message = str(exc).strip() or type(exc).__name__
    found = _learner_frame(exc, test_cell)
    if found is None:
        return message
    frame, lineno = found
    line = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).strip()
    where = _where(frame, lineno)
    names = {**frame.f_globals, **frame.f_locals} if frame.f_globals is not frame.f_locals else dict(frame.f_locals)
    try:
        tree = ast.parse(line) if line else None
    except SyntaxError:  # the line continues on the next ones: a multi-line statement
        tree = None
    detail = None
    if tree is not None and isinstance(exc, IndexError):
        detail = _explain_index(tree, names)
    if tree is not None and detail is None:
        target = _target_shape(tree, names)
        for a_node, b_node in _products(tree):
            detail = _explain_product(a_node, b_node, names, target)
            if detail:
                break
        if detail is None:
            for a_node, b_node, symbol in _elementwise(tree):
                detail = _explain_elementwise(a_node, b_node, symbol, names)
                if detail:
                    break
    if detail:
        detail = detail if detail.endswith("?") else detail + "."
        return f"your code failed {where}, at `{line}`: {detail} (The error was: {_first_line(message)})"
    shapes = _shapes_on_line(tree, names) if tree is not None else ""
    at_line = f", at `{line}`" if line else ""
    return f"your code raised {type(exc).__name__} {where}{at_line}: {_first_line(message)}{shapes}"


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else message


def _shapes_on_line(tree: ast.AST, names: dict) -> str:
    seen = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names and node.id not in (n for n, _ in seen):
            shape = _shape(names[node.id])
            if shape is not None and not isinstance(names[node.id], type):
                seen.append((node.id, shape))
    if not seen:
        return ""
    return " (there " + ", ".join(f"{name} has {_show(shape)}" for name, shape in itertools.islice(seen, 6)) + ")"
