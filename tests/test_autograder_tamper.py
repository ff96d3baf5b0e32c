"""The static scan refuses learner cells that import the course's own code, names the line,
and never refuses the learner's own code: every solution in source/, the usual numpy, torch
and notebook idioms, and code that rewrites its own kernel (the tests do not run there)."""

import nbformat
import pytest

from autograder import course, tamper

ATTACKS = {
    "from backprop_lab.activations import sigmoid_grad": "imports `backprop_lab.activations`",
    "import backprop_lab": "imports `backprop_lab`",
    "import autograder.checks as c": "imports `autograder.checks`",
    "from autograder import checks": "imports `autograder`",
    "from autograder.checks import reference_gradient as numerical_gradient": "imports `autograder.checks`",
    "from autograder.reference_08 import loss_and_grads": "imports `autograder.reference_08`",
    "import numpy as np\nif True:\n    from solutions import answers": "line 3: imports `solutions`",
}

HONEST = [
    "import numpy as np\nfrom torch import nn\nimport torch",
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "class Layer(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.weight = nn.Parameter(torch.ones(2))",
    "def forward(x, W, b):\n    cache = {'x': x}\n    cache['W'] = W\n    return x @ W + b, cache",
    "w.grad = None\nparam.data -= 0.1 * param.grad\nnet.modules()",
    "import os\nimport sys\nprint('debug', file=sys.stderr)\npath = os.path.join('a', 'b')",
    "getattr(layer, 'weight')\nx = np.random.default_rng(0).normal(size=3)",
    "np.allclose = lambda *a, **k: True\nimport sys\nsys.settrace(print)",  # its own kernel only
    "import sources_of_data\nimport autograd_tools",  # names that merely start like the course's
]


@pytest.mark.parametrize(("code", "says"), ATTACKS.items(), ids=list(ATTACKS))
def test_imports_of_the_course_are_refused_with_the_line(code, says):
    findings = tamper.scan(code)
    assert findings, f"not refused: {code!r}"
    assert any(says in str(f) for f in findings), [str(f) for f in findings]
    assert all(f.line >= 1 for f in findings)


@pytest.mark.parametrize("code", HONEST)
def test_the_learners_own_code_is_never_refused(code):
    assert tamper.scan(code) == []


@pytest.mark.parametrize("assignment_id", course.assignment_ids())
def test_no_reference_solution_is_refused(assignment_id):
    notebook = nbformat.read(course.solution_notebook(assignment_id), as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            assert tamper.scan(cell.source) == [], cell.source


def test_a_syntax_error_is_left_to_the_kernel():
    assert tamper.scan("def f(:\n    pass") == []


def test_refusal_message_names_the_line_and_why():
    message = tamper.refusal_message(tamper.scan("x = 1\nfrom backprop_lab import activations"))
    assert "line 2: imports `backprop_lab`, the course's own code" in message
    assert "must be your own code" in message
