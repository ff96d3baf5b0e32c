"""The static tamper scan refuses code that changes what the tests rely on, and never refuses
honest code: every solution in source/ and the usual numpy, torch and notebook idioms."""

import nbformat
import pytest

from autograder import course, tamper

SETUP = "import numpy as np\nimport torch\nfrom torch import nn\n\nfrom autograder.checks import check_close, fresh_rng"
PROTECTED = tamper.bound_names(SETUP)

ATTACKS = {
    "np.allclose = lambda *a, **k: True": "replaces `np.allclose`",
    "import numpy\nnumpy.testing.assert_allclose = print": "replaces `numpy.testing.assert_allclose`",
    "del np.isfinite": "replaces `np.isfinite`",
    "torch.allclose = lambda *a, **k: True": "replaces `torch.allclose`",
    "check_close = lambda *a, **k: None": "rebinds `check_close`",
    "def check_close(*args, **kwargs):\n    pass": "rebinds `check_close`",
    "from numpy import allclose as check_close": "rebinds `check_close`",
    "import torch as np": "rebinds `np`",
    "for fresh_rng in range(3):\n    pass": "rebinds `fresh_rng`",
    "import sys\nsys.modules['autograder.checks'] = None": "`sys.modules",
    "import autograder.checks as c": "imports `autograder.checks`",
    "from autograder import checks": "imports `autograder`",
    "setattr(np, 'allclose', print)": "calls `setattr()`",
    "getattr(np, 'all' + 'close')": "calls `getattr()`",
    "globals()['check_close'] = print": "calls `globals()`",
    "exec('np.allclose = print')": "calls `exec()`",
    "__import__('numpy').allclose = print": "calls `__import__()`",
    "get_ipython().user_ns['np'] = None": "uses `get_ipython()`",
    "(1).__class__.__base__.__subclasses__()": "uses `",
    "np.linalg.__dict__['norm'] = print": "`np.linalg.__dict__`",
    "check_close.__code__ = print.__code__": "`check_close.__code__`",
    "import ctypes": "imports `ctypes`",
    "import sys\nsys.settrace(print)": "`sys.settrace`",
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
    "grads = dict(W=1)\ngrads['W'] += 2",
]


@pytest.mark.parametrize(("code", "says"), ATTACKS.items(), ids=list(ATTACKS))
def test_attacks_are_refused_with_the_line_and_what_it_does(code, says):
    findings = tamper.scan(code, PROTECTED, tamper.module_aliases([SETUP, code]))
    assert findings, f"not refused: {code!r}"
    assert any(says in str(f) for f in findings), [str(f) for f in findings]
    assert all(f.line >= 1 for f in findings)


@pytest.mark.parametrize("code", HONEST)
def test_honest_code_is_never_refused(code):
    assert tamper.scan(code, PROTECTED, tamper.module_aliases([SETUP, code])) == []


@pytest.mark.parametrize("assignment_id", course.assignment_ids())
def test_no_reference_solution_is_refused(assignment_id):
    notebook = nbformat.read(course.solution_notebook(assignment_id), as_version=4)
    setup = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    modules = tamper.module_aliases(code)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            assert tamper.scan(cell.source, tamper.bound_names(setup), modules) == [], cell.source


def test_a_syntax_error_is_left_to_the_kernel():
    assert tamper.scan("def f(:\n    pass", PROTECTED) == []


def test_refusal_message_names_the_line():
    message = tamper.refusal_message(tamper.scan("x = 1\nnp.allclose = print", PROTECTED))
    assert "line 2: replaces `np.allclose`" in message
