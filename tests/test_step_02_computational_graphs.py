"""Step 02: realistic wrong autodiff engines lose points with a message that names the mistake,
and a correct engine written differently from the solution earns full marks.

Each wrong answer is the reference solution with one realistic mistake edited in (`mutated`),
so it differs from a correct engine in exactly the way a learner's would.
"""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
    solution_answers,
)

ASSIGNMENT = "02_computational_graphs"
SOLUTIONS = solution_answers(ASSIGNMENT)
#: The stages of the class: the first defines Value, each later one reopens it (class Value(Value):).
STAGES = [grade_id for grade_id in SOLUTIONS if grade_id.startswith("Value")]


def wrong(says: str, *replacements: tuple[str, str], stage: str | None = None,
          diagnosed: bool = False, also: tuple[str, ...] = ()) -> WrongAnswer:
    """A solution cell (a stage of the Value class, MLP or train_mlp) with each (old, new) replacement made.

    The cell is the one that contains every ``old`` (or ``stage`` when given); ``diagnosed`` and
    ``also`` as for ``WrongAnswer``.
    """
    if stage is None:
        holders = [g for g in SOLUTIONS if all(old in SOLUTIONS[g] for old, _ in replacements)]
        assert len(holders) == 1, f"{[old for old, _ in replacements]} is in the stages {holders}: name one"
        stage = holders[0]
    code = SOLUTIONS[stage]
    for old, new in replacements:
        assert old in code, f"the solution no longer contains {old!r}: update this wrong answer"
        code = code.replace(old, new)
    return WrongAnswer(stage, code, says, also, diagnosed)


#: What the general diagnosis says of a gradient passed on twice.
TWICE_AS_LARGE = "twice the expected value"
MUL_BACKWARD = "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad"
DIV = "other = other if isinstance(other, Value) else Value(other)\n        return self * other**-1"
NEG = "return self * -1"
SUB = "return self + (-other)"
RSUB = "return Value(other) - self"
BACKWARD = """        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()"""
BUILD_ORDER = """        order, visited = [], set()

        def visit(node):  # post-order: a node is appended after all of its children
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)"""


def direct(op: str, forward: str, locals_: tuple[str, str]) -> str:
    """A binary operation written out with its own _backward, as many learners do."""
    return f"""other = other if isinstance(other, Value) else Value(other)
        out = Value({forward}, (self, other), "{op}")

        def _backward():
            self.grad += {locals_[0]} * out.grad
            other.grad += {locals_[1]} * out.grad

        out._backward = _backward
        return out"""


WRONG_ANSWERS = [
    # --- forward values
    wrong("a - b computes b - a", (SUB, "return other + (-self)")),
    wrong("a / b computes b / a", (DIV, "return other * self**-1")),
    wrong("must raise a.data to the power 3", ("Value(self.data**exponent,", "Value(self.data * exponent,")),
    wrong("mind the minus sign in the exponent", ("math.exp(-self.data)", "math.exp(self.data)")),
    wrong("negative inputs become 0", ("self.data if self.data > 0 else 0.0, (self,)", "self.data, (self,)")),
    # --- seeding the backward pass
    wrong("backward() must seed the output's grad with 1.0", ("        self.grad = 1.0\n", "")),
    wrong(
        "seed the output's grad with 1.0 BEFORE visiting the nodes",
        (BACKWARD, "        visit(self)\n        for node in reversed(order):\n            node._backward()\n"
                   "        self.grad = 1.0"),
    ),
    # --- + and *
    wrong(
        "the local derivative of a * b with respect to a is b, the OTHER operand",
        (MUL_BACKWARD, "self.grad += self.data * out.grad\n            other.grad += other.data * out.grad"),
    ),
    wrong(
        "multiply the local derivative by out.grad (the chain rule)",
        (MUL_BACKWARD, "self.grad += other.data\n            other.grad += self.data"),
    ),
    wrong("multiply the local derivative by out.grad", ("1.0 * out.grad", "1.0")),
    # --- - and unary -
    wrong("the local derivative of a - b with respect to b is -1, not +1",
          (SUB, direct("-", "self.data - other.data", ("1.0", "1.0")))),
    wrong(
        "the local derivative of -a is -1, not +1",
        (NEG, 'out = Value(-self.data, (self,), "neg")\n\n        def _backward():\n'
              "            self.grad += out.grad\n\n        out._backward = _backward\n        return out"),
    ),
    # --- ** n
    wrong("lower the power by one",
          ("exponent * self.data ** (exponent - 1) * out.grad", "exponent * self.data**exponent * out.grad")),
    wrong("the factor n is missing", ("exponent * self.data ** (exponent - 1) * out.grad",
                                      "self.data ** (exponent - 1) * out.grad")),
    # --- /
    wrong("the local derivative of a / b with respect to b is -a / b**2: the sign is wrong",
          (DIV, direct("/", "self.data / other.data", ("(1 / other.data)", "(self.data / other.data**2)")))),
    wrong("the local derivative of a / b with respect to a is 1 / b, not b",
          (DIV, direct("/", "self.data / other.data", ("other.data", "(-self.data / other.data**2)")))),
    # --- exp
    wrong("the local derivative of exp(x) is exp(x) itself, not x",
          ("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")),
    wrong("multiply the local derivative by out.grad", ("self.grad += out.data * out.grad", "self.grad += out.data")),
    wrong("it has the opposite sign", ("self.grad += out.data * out.grad", "self.grad -= out.data * out.grad"),
          diagnosed=True),
    # --- tanh
    wrong("the local derivative of tanh is 1 - tanh(x)**2, computed from the OUTPUT",
          ("(1 - t**2) * out.grad", "(1 - self.data**2) * out.grad")),
    wrong("the local derivative of tanh is 1 - tanh(x)**2: the square is missing",
          ("(1 - t**2) * out.grad", "(1 - t) * out.grad")),
    wrong("t * (1 - t) is the sigmoid's", ("(1 - t**2) * out.grad", "t * (1 - t) * out.grad")),
    # --- relu
    wrong("it is not relu(x) itself", ("(1.0 if self.data > 0 else 0.0) * out.grad", "out.data * out.grad")),
    wrong("relu passes NO gradient where x < 0", ("(1.0 if self.data > 0 else 0.0) * out.grad", "1.0 * out.grad")),
    # --- sigmoid
    wrong("the local derivative of sigmoid is s * (1 - s) with s = sigmoid(x), the OUTPUT",
          ("s * (1 - s) * out.grad", "self.data * (1 - self.data) * out.grad")),
    wrong("the factor (1 - s) is missing", ("s * (1 - s) * out.grad", "s * out.grad")),
    # --- a plain number on the left
    wrong("5 - x computes the operands swapped: __rsub__ must compute 5 - x", (RSUB, "return self - other")),
    wrong("1 / x computes the operands swapped: __rtruediv__ must compute 1 / x",
          ("return Value(other) / self", "return self / other")),
    wrong(
        "the local derivative of 5 - x with respect to x is -1: the sign is wrong",
        (RSUB, 'out = Value(other - self.data, (self,), "-")\n\n        def _backward():\n'
               "            self.grad += out.grad\n\n        out._backward = _backward\n        return out"),
    ),
    wrong("2 + x must give a Value: __radd__ must accept a plain number", ("def __radd__(", "def _radd_unused(")),
    # --- accumulation
    wrong(
        "a node used more than once must add (+=) to its gradient, not assign (=)",
        ("self.grad +=", "self.grad ="), ("other.grad +=", "other.grad ="), stage="Value",
    ),
    wrong(
        "a node used more than once must add (+=) to its gradient, not assign (=)",
        (MUL_BACKWARD, "self.grad = other.data * out.grad\n            other.grad = self.data * out.grad"),
    ),
    # --- visit order
    wrong(  # breadth-first from the output, with a visited set
        "backward must visit a node only after every node that uses it",
        (BUILD_ORDER, """        order, seen, queue = [], {self}, [self]
        while queue:
            node = queue.pop(0)
            order.insert(0, node)
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)"""),
    ),
    wrong(  # reversed depth-first PREorder: a parent first, but not after all of a child's other users
        "backward must visit a node only after every node that uses it",
        (BUILD_ORDER, """        order, seen, stack = [], set(), [self]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            order.insert(0, node)
            stack.extend(node._prev)"""),
    ),
    wrong(  # the classic topological sort, minus its visited set
        "backward must call each node's _backward exactly once",
        ("            if node not in visited:\n                visited.add(node)\n"
         "                for child in node._prev:\n                    visit(child)\n"
         "                order.append(node)",
         "            for child in node._prev:\n                visit(child)\n            order.append(node)"),
        also=(TWICE_AS_LARGE,),  # a node reached twice passes its gradient on twice: one gradient doubles
    ),
    wrong(  # no order at all: propagate recursively as soon as a node is reached
        "backward must call each node's _backward exactly once",
        (BUILD_ORDER + "\n        self.grad = 1.0\n        for node in reversed(order):\n            node._backward()",
         """        def propagate(node):
            node._backward()
            for child in node._prev:
                propagate(child)

        self.grad = 1.0
        propagate(self)"""),
        also=(TWICE_AS_LARGE,),
    ),

    # --- the MLP
    wrong("the last layer must be linear", ("outputs.append(total if k == len(self.layers) - 1 else total.tanh())",
                                            "outputs.append(total.tanh())")),
    wrong("the hidden layer needs its tanh", ("outputs.append(total if k == len(self.layers) - 1 else total.tanh())",
                                              "outputs.append(total)")),
    wrong("the bias is missing", ("total = bias\n", "total = Value(0.0)\n")),
    wrong("MLP(2, [3, 1]) has 13 parameters", ("            params.extend(biases)\n", "")),
    wrong("the same seed gave different weights",
          ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")),
    # --- training
    wrong("the gradients were not reset", ("        for p in params:\n            p.grad = 0.0\n", "")),
    wrong("step AGAINST the gradient", ("p.data -= lr * p.grad", "p.data += lr * p.grad")),
    wrong("the loss is the MEAN of the hinge losses", ("        loss = loss / len(margins)\n", "")),
    wrong(
        "record each step's loss before its update",
        ("losses.append(loss.data)", "losses.append(loss_at_end(model, X, y))"),
          ("def train_mlp(", "def loss_at_end(model, X, y):\n"
                             "    return sum(max(0.0, 1 - t * model(x).data) for x, t in zip(X, y)) / len(y)\n\n\n"
                             "def train_mlp("),
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    wrong(  # the output's own _backward run once before the loop that runs it again
        TWICE_AS_LARGE,
        (BACKWARD, "        visit(self)\n        self.grad = 1.0\n        self._backward()\n"
                   "        for node in reversed(order):\n            node._backward()"),
        stage="Value", diagnosed=True,
    ),
    wrong(  # both gradients of a * b subtracted instead of added
        "it has the opposite sign",
        (MUL_BACKWARD, "self.grad -= other.data * out.grad\n            other.grad -= self.data * out.grad"),
        diagnosed=True,
    ),
    wrong(  # the -1 of a - b given to a, the +1 to b
        "it has the opposite sign",
        (SUB, direct("-", "self.data - other.data", ("-1.0", "1.0"))),
        diagnosed=True,
    ),
    wrong(  # the power rule's result subtracted instead of added
        "it has the opposite sign",
        ("self.grad += exponent * self.data ** (exponent - 1) * out.grad",
         "self.grad -= exponent * self.data ** (exponent - 1) * out.grad"),
        diagnosed=True,
    ),
    wrong(  # the minus sign of d(a / b) put on a's local derivative instead of b's
        "it has the opposite sign",
        (DIV, direct("/", "self.data / other.data", ("(-1 / other.data)", "(self.data / other.data**2)"))),
        diagnosed=True,
    ),
    wrong(  # tanh's slope written as t**2 - 1
        "it has the opposite sign", ("(1 - t**2) * out.grad", "(t**2 - 1) * out.grad"), diagnosed=True,
    ),
    wrong(  # relu(x) = (x + |x|) / 2 differentiated without the / 2: 1 + sign(x)
        "twice the expected value",
        ("(1.0 if self.data > 0 else 0.0) * out.grad", "(1.0 + (1.0 if self.data > 0 else -1.0)) * out.grad"),
        diagnosed=True,
    ),
    wrong(  # the sigmoid's slope written as s * (s - 1)
        "it has the opposite sign", ("s * (1 - s) * out.grad", "s * (s - 1) * out.grad"), diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong_answer", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong_answer):
    assert_loses_points_with_message(ASSIGNMENT, wrong_answer, WRONG_ANSWERS)


# Written differently from the solution: local derivatives stored as numbers when a node is
# made (no closures), operations built by one factory, sigmoid through tanh, reflected
# operators as aliases, and backward by Kahn's algorithm over "uses" counts instead of a DFS.
# The MLP keeps one flat list of parameters and slices it per neuron; training zeroes the
# gradients after each update and builds the loss with sum() and a multiplication by 1/N.
INDEPENDENT_ANSWERS = {
    "Value": '''
import math
from collections import deque


def _lift(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = list(_children)
        self._op = _op
        self._locals = [0.0] * len(self._prev)  # d self / d child, one per child

    @classmethod
    def _made_from(cls, data, op, *pairs):
        node = Value(data, [child for child, _ in pairs], op)
        node._locals = [local for _, local in pairs]
        return node

    def __add__(self, other):
        other = _lift(other)
        return Value._made_from(self.data + other.data, "+", (self, 1.0), (other, 1.0))

    def backward(self):
        # Kahn's algorithm: a node is ready once every use of it has passed its gradient back.
        uses, seen, stack = {}, {id(self)}, [self]
        while stack:
            node = stack.pop()
            for child in node._prev:
                uses[id(child)] = uses.get(id(child), 0) + 1
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        self.grad = 1.0
        ready = deque([self])
        while ready:
            node = ready.popleft()
            for child, local in zip(node._prev, node._locals):
                child.grad += local * node.grad
                uses[id(child)] -= 1
                if uses[id(child)] == 0:
                    ready.append(child)
''',
    "Value_mul": '''
class Value(Value):
    def __mul__(self, other):
        other = _lift(other)
        return Value._made_from(self.data * other.data, "*", (self, other.data), (other, self.data))
''',
    "Value_sub_neg": '''
class Value(Value):
    def __neg__(self):
        return Value._made_from(-self.data, "neg", (self, -1.0))

    def __sub__(self, other):
        other = _lift(other)
        return Value._made_from(self.data - other.data, "-", (self, 1.0), (other, -1.0))
''',
    "Value_pow": '''
class Value(Value):
    def __pow__(self, n):
        return Value._made_from(self.data**n, "pow", (self, n * self.data ** (n - 1)))
''',
    "Value_div": '''
class Value(Value):
    def __truediv__(self, other):
        other = _lift(other)
        q = self.data / other.data
        return Value._made_from(q, "/", (self, 1.0 / other.data), (other, -q / other.data))
''',
    "Value_exp": '''
class Value(Value):
    def exp(self):
        e = math.exp(self.data)
        return Value._made_from(e, "exp", (self, e))
''',
    "Value_tanh": '''
class Value(Value):
    def tanh(self):
        t = math.tanh(self.data)
        return Value._made_from(t, "tanh", (self, 1.0 - t * t))
''',
    "Value_relu": '''
class Value(Value):
    def relu(self):
        on = self.data > 0
        return Value._made_from(self.data * on, "relu", (self, float(on)))
''',
    "Value_sigmoid": '''
class Value(Value):
    def sigmoid(self):
        s = 0.5 * (1.0 + math.tanh(0.5 * self.data))
        return Value._made_from(s, "sigmoid", (self, s - s * s))
''',
    "Value_reflected": '''
class Value(Value):
    __radd__ = Value.__add__
    __rmul__ = Value.__mul__

    def __rsub__(self, other):
        return _lift(other).__sub__(self)

    def __rtruediv__(self, other):
        return _lift(other).__truediv__(self)
''',
    "MLP": '''
class MLP:
    def __init__(self, n_inputs, layer_sizes, seed=0):
        self.shape = [n_inputs] + list(layer_sizes)
        count = sum((a + 1) * b for a, b in zip(self.shape[:-1], self.shape[1:]))
        draws = np.random.default_rng(seed).uniform(-1.0, 1.0, size=count)
        self.flat = [Value(v) for v in draws]

    def parameters(self):
        return list(self.flat)

    def __call__(self, x):
        signal, at = list(x), 0
        for depth, (fan_in, fan_out) in enumerate(zip(self.shape[:-1], self.shape[1:])):
            layer = []
            for _ in range(fan_out):
                w, b = self.flat[at:at + fan_in], self.flat[at + fan_in]
                at += fan_in + 1
                z = sum((wi * si for wi, si in zip(w, signal)), b)
                layer.append(z.tanh() if depth < len(self.shape) - 2 else z)
            signal = layer
        return signal if len(signal) > 1 else signal[0]
''',
    "train_mlp": '''
def train_mlp(model, X, y, steps, lr):
    history = []
    for _ in range(steps):
        loss = sum((-t * model(x) + 1).relu() for x, t in zip(X, y)) * (1.0 / len(y))
        loss.backward()
        history.append(float(loss.data))
        for p in model.parameters():
            p.data = p.data - lr * p.grad
            p.grad = 0.0
    return history
''',
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
