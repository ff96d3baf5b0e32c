"""The scalar autodiff engine of lesson 02: values that remember how they were computed.

Each :class:`Value` is a node of a computational graph. It keeps its ``data``, its ``grad``,
the nodes it was computed from (``children``) and, computed once during the forward pass, the
**local derivative** of its data with respect to each child (``local_grads``). The backward pass
is then one loop over the graph in reverse topological order::

    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.5, label="b")
    y = (x * w + b).tanh()
    y.backward()
    x.grad, w.grad, b.grad

This engine stores numbers where the exercise stores closures: the lesson can then *show* each
step of the backward pass (:func:`backward_steps`), run it in another order to see it fail,
and count the work of forward mode, reverse mode and summing over paths.

Expressions can also be typed as text (:func:`build_graph`), which is how a learner draws their
own graph in the lesson's stepper.
"""

from __future__ import annotations

import ast
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .numerics import central_difference, sigmoid

Number = int | float


class Value:
    """A scalar node: data, grad, children and the local derivative of data w.r.t. each child."""

    def __init__(
        self,
        data: Number,
        children: Sequence[Value] = (),
        op: str = "",
        local_grads: Sequence[float] = (),
        label: str = "",
    ) -> None:
        if len(children) != len(local_grads):
            raise ValueError("one local derivative per child is needed")
        self.data = float(data)
        self.grad = 0.0
        self.children = tuple(children)
        self.local_grads = tuple(float(g) for g in local_grads)
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.4g}, grad={self.grad:.4g})"

    @property
    def name(self) -> str:
        """What a drawing calls this node: its label, else its operation, else its value."""
        return self.label or self.op or f"{self.data:g}"

    # --- operations: the forward value and the local derivatives, computed once ----------

    def __add__(self, other: Value | Number) -> Value:
        other = as_value(other)
        return Value(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __mul__(self, other: Value | Number) -> Value:
        other = as_value(other)
        return Value(self.data * other.data, (self, other), "*", (other.data, self.data))

    def __sub__(self, other: Value | Number) -> Value:
        other = as_value(other)
        return Value(self.data - other.data, (self, other), "-", (1.0, -1.0))

    def __truediv__(self, other: Value | Number) -> Value:
        other = as_value(other)
        return Value(self.data / other.data, (self, other), "/", (1 / other.data, -self.data / other.data**2))

    def __pow__(self, exponent: Number) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("only a plain number is supported as an exponent")
        return Value(self.data**exponent, (self,), f"**{exponent:g}", (exponent * self.data ** (exponent - 1),))

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), "neg", (-1.0,))

    def __radd__(self, other: Number) -> Value:
        return as_value(other) + self

    def __rmul__(self, other: Number) -> Value:
        return as_value(other) * self

    def __rsub__(self, other: Number) -> Value:
        return as_value(other) - self

    def __rtruediv__(self, other: Number) -> Value:
        return as_value(other) / self

    def exp(self) -> Value:
        out = math.exp(self.data)
        return Value(out, (self,), "exp", (out,))

    def log(self) -> Value:
        return Value(math.log(self.data), (self,), "log", (1 / self.data,))

    def tanh(self) -> Value:
        out = math.tanh(self.data)
        return Value(out, (self,), "tanh", (1 - out**2,))

    def relu(self) -> Value:
        return Value(max(self.data, 0.0), (self,), "relu", (1.0 if self.data > 0 else 0.0,))

    def sigmoid(self) -> Value:
        out = float(sigmoid(self.data))
        return Value(out, (self,), "sigmoid", (out * (1 - out),))

    # --- the backward pass ---------------------------------------------------------------

    def backward(self) -> None:
        """Fill ``grad`` of every node of the graph with d(self)/d(node).

        Unlike PyTorch, each call starts from zero: gradients never leak between calls.
        """
        for node, grad in final_grads(backward_steps(self)).items():
            node.grad = grad


def as_value(x: Value | Number) -> Value:
    """A plain number becomes a constant leaf; a Value is returned as it is."""
    return x if isinstance(x, Value) else Value(x, label=f"{x:g}")


# --- graph traversal ------------------------------------------------------------------


def topological_order(root: Value) -> list[Value]:
    """Every node of root's graph, each after all of its children (inputs first, root last).

    Depth-first search that appends a node once all its children are appended (post-order),
    with a visited set so that a shared node appears once. Iterative, so deep graphs are fine.
    """
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children) if id(child) not in visited)
    return order


def breadth_first_order(root: Value) -> list[Value]:
    """Nodes as a breadth-first search from the root meets them: NOT a valid backward order."""
    order, seen, queue = [], {id(root)}, deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for child in node.children:
            if id(child) not in seen:
                seen.add(id(child))
                queue.append(child)
    return order


def users(root: Value) -> dict[int, list[Value]]:
    """For each node (by id), the nodes that take it as an input (once per use)."""
    used_by: dict[int, list[Value]] = {id(node): [] for node in topological_order(root)}
    for node in topological_order(root):
        for child in node.children:
            used_by[id(child)].append(node)
    return used_by


def edge_count(root: Value) -> int:
    """Number of (input, operation) edges: one local derivative each."""
    return sum(len(node.children) for node in topological_order(root))


# --- the backward pass, one recorded step per node ------------------------------------


@dataclass
class Contribution:
    """One edge of a backward step: ``amount = upstream * local`` added to ``child``'s grad."""

    child: Value
    local: float
    amount: float
    before: float
    after: float
    accumulates: bool  # the child had already received gradient from another user


@dataclass
class BackwardStep:
    """Visiting ``node``: its gradient is final, and it passes it to each of its children."""

    node: Value
    upstream: float
    contributions: list[Contribution] = field(default_factory=list)
    grads_after: dict[Value, float] = field(default_factory=dict)


def backward_steps(root: Value, order: Iterable[Value] | None = None) -> list[BackwardStep]:
    """The backward pass from ``root``, one step per node, without touching any ``.grad``.

    The first step seeds ``d root / d root = 1``. Each later step visits a node and adds
    ``node's grad * local derivative`` to each child's grad. ``order`` defaults to reverse
    topological order, the correct one; pass another order to see what goes wrong.
    """
    nodes = topological_order(root)
    visit_order = list(reversed(nodes)) if order is None else list(order)
    grads = {node: 0.0 for node in nodes}
    grads[root] = 1.0
    received: set[int] = set()
    steps = [BackwardStep(root, 1.0, [], dict(grads))]
    for node in visit_order:
        step = BackwardStep(node, grads[node])
        for child, local in zip(node.children, node.local_grads, strict=True):
            amount = grads[node] * local
            before = grads[child]
            grads[child] = before + amount
            step.contributions.append(Contribution(child, local, amount, before, grads[child], id(child) in received))
            received.add(id(child))
        step.grads_after = dict(grads)
        steps.append(step)
    return steps


def final_grads(steps: Sequence[BackwardStep]) -> dict[Value, float]:
    return steps[-1].grads_after


# --- counting work: summing over paths, forward mode, reverse mode --------------------


def gradient_by_paths(root: Value, leaf: Value) -> tuple[float, int]:
    """d root / d leaf as a sum over every path of the product of local derivatives.

    Returns ``(gradient, multiplications)``. No intermediate result is reused, so the work grows
    with the number of paths, which can be exponential in the depth of the graph.
    """
    multiplications = 0

    def paths_from(node: Value) -> list[list[float]]:
        if node is leaf:
            return [[]]
        return [[local, *path] for child, local in zip(node.children, node.local_grads, strict=True)
                for path in paths_from(child)]

    total = 0.0
    for path in paths_from(root):
        product = 1.0
        for local in path:
            product *= local
            multiplications += 1
        total += product
    return total, multiplications


def forward_mode_gradient(root: Value, inputs: Sequence[Value]) -> tuple[list[float], int]:
    """d root / d input for each input by forward mode: one sweep per input.

    Each sweep pushes a tangent ``d node / d input`` from the inputs to the root, in
    topological order. Returns ``(gradients, multiplications)``.
    """
    nodes = topological_order(root)
    gradients, multiplications = [], 0
    for seed in inputs:
        tangent: dict[int, float] = {}
        for node in nodes:
            if not node.children:
                tangent[id(node)] = 1.0 if node is seed else 0.0
                continue
            tangent[id(node)] = sum(
                local * tangent[id(child)] for child, local in zip(node.children, node.local_grads, strict=True)
            )
            multiplications += len(node.children)
        gradients.append(tangent[id(root)])
    return gradients, multiplications


def reverse_mode_gradient(root: Value, inputs: Sequence[Value]) -> tuple[list[float], int]:
    """d root / d input for every input from one backward sweep: ``(gradients, multiplications)``."""
    grads = final_grads(backward_steps(root))
    return [grads[node] for node in inputs], edge_count(root)


# --- expressions typed as text --------------------------------------------------------

FUNCTIONS = ("exp", "log", "tanh", "relu", "sigmoid")
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


FLOAT_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "relu": lambda x: max(x, 0.0),
    "sigmoid": lambda x: float(sigmoid(x)),
}


def _value_functions() -> dict[str, Callable]:
    return {name: (lambda v, name=name: getattr(as_value(v), name)()) for name in FUNCTIONS}


def evaluate(
    text: str,
    functions: Mapping[str, Callable] | None = None,
    make_leaf: Callable[[float, str], object] | None = None,
    variables: Mapping[str, object] | None = None,
) -> tuple[object, dict[str, object]]:
    """Run a small program of assignments and arithmetic; return (last result, named results).

    ``text`` holds statements separated by newlines or ``;``, e.g. ``"x = 2; w = -3; y = tanh(x*w)"``.
    Only numbers, names, ``+ - * / **``, unary minus and calls of :data:`FUNCTIONS` are allowed.
    ``functions`` says what each call computes and ``make_leaf(number, name)`` what a name
    assigned a number becomes; by default calls build Values and leaves are labelled Values,
    but the same program runs on floats (:data:`FLOAT_FUNCTIONS`) or torch tensors.
    ``variables`` pre-binds names: they override the program's own number assignments, so one
    program can be evaluated at other inputs.
    """
    functions = dict(functions or _value_functions())
    make_leaf = make_leaf or (lambda number, name: Value(number, label=name))
    fixed = dict(variables or {})
    names: dict[str, object] = dict(fixed)
    result = None
    source = "\n".join(line.strip() for line in text.replace(";", "\n").splitlines())
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
            statement.targets[0], ast.Name
        ):
            name = statement.targets[0].id
            if name in fixed:
                result = fixed[name]
                continue
            if _is_number(statement.value):
                result = make_leaf(_number(statement.value), name)
            else:
                result = _evaluate_node(statement.value, functions, names)
                if isinstance(result, Value) and not result.label:
                    result.label = name
            names[name] = result
        elif isinstance(statement, ast.Expr):
            result = _evaluate_node(statement.value, functions, names)
        else:
            raise SyntaxError(f"only `name = expression` and expressions are allowed: {ast.unparse(statement)}")
    if result is None:
        raise SyntaxError("the program computes nothing")
    return result, names


def _is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _is_number(node.operand)
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def _number(node: ast.AST) -> float:
    if isinstance(node, ast.UnaryOp):
        return -_number(node.operand) if isinstance(node.op, ast.USub) else _number(node.operand)
    return float(node.value)


def _evaluate_node(node: ast.AST, functions: Mapping[str, Callable], names: Mapping[str, object]):
    if _is_number(node):
        return _number(node)
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise NameError(f"{node.id} is not defined: assign it a number first, e.g. `{node.id} = 1.5`")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate_node(node.left, functions, names)
        right = _evaluate_node(node.right, functions, names)
        if isinstance(node.op, ast.Pow) and not isinstance(right, int | float):
            raise SyntaxError("the exponent of ** must be a number")
        return _apply(_BINARY[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate_node(node.operand, functions, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if len(node.args) != 1 or node.keywords:
            raise SyntaxError(f"{node.func.id}() takes one argument")
        return functions[node.func.id](_evaluate_node(node.args[0], functions, names))
    raise SyntaxError(f"not supported here: {ast.unparse(node)} (use numbers, names, + - * / **, "
                      f"and {', '.join(FUNCTIONS)})")


def _apply(op: str, left, right):
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    return left**right


def build_graph(text: str) -> tuple[Value, dict[str, Value]]:
    """The graph of a typed program: ``(output node, {name: node})``.

    >>> out, nodes = build_graph("x = 2; y = -1; z = x*y + x")
    """
    result, names = evaluate(text)
    return as_value(result), {name: v for name, v in names.items() if isinstance(v, Value)}


def input_values(text: str) -> dict[str, float]:
    """The names a program assigns plain numbers to (the inputs of its graph), with their numbers."""
    return {name: node.data for name, node in build_graph(text)[1].items() if not node.children}


def numerical_derivative(text: str, name: str, h: float = 1e-6) -> float:
    """d(program's result)/d(input ``name``) by the course's central difference, computed on plain floats."""

    def result_at(value: float) -> float:
        return float(evaluate(text, FLOAT_FUNCTIONS, lambda number, _: number, {name: value})[0])

    return central_difference(result_at, input_values(text)[name], h)
