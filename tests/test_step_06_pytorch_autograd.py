"""Step 06: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
)

ASSIGNMENT = "06_pytorch_autograd"


def _sigmoid_with_backward(save: str, backward: str) -> str:
    return f"""
class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward({save})
        return s

    @staticmethod
    def backward(ctx, grad_out):
        (saved,) = ctx.saved_tensors
        return {backward}
"""


def _linear_with_backward(backward: str) -> str:
    return f"""
class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        return {backward}
"""


def _train_step(body: str) -> str:
    return "def train_step(model, optimizer, loss_fn, X, y):\n" + "".join(f"    {line}\n" for line in body.split(";"))


def _two_layer(tensor: str, loss: str, result: str) -> str:
    return f"""
def autograd_two_layer_grads(params, X, y):
    t = {{name: {tensor} for name, value in params.items()}}
    X, y = torch.tensor(X, dtype=t["W1"].dtype), torch.tensor(y, dtype=t["W1"].dtype)
    out = torch.sigmoid(torch.sigmoid(X @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])
    ({loss}).backward()
    return {{name: {result} for name in t}}
"""


FLOAT64 = "torch.tensor(value, requires_grad=True)"
MEAN = "((out - y) ** 2).mean()"
AS_NUMPY = "t[name].grad.numpy()"

WRONG_ANSWERS = [
    # Sigmoid
    WrongAnswer(
        "Sigmoid",
        _sigmoid_with_backward("x", "grad_out * saved * (1 - saved)"),
        "Sigmoid.backward must multiply grad_out by s*(1-s) using the saved output",
    ),
    WrongAnswer("Sigmoid", _sigmoid_with_backward("s", "saved * (1 - saved)"), "grad_out is missing"),
    WrongAnswer("Sigmoid", _sigmoid_with_backward("s", "grad_out * saved"), "not by s"),
    # Linear
    WrongAnswer(
        "Linear",
        _linear_with_backward("grad_out @ w.T, x.T @ grad_out, grad_out"),
        "db must sum grad_out over the batch axis",
    ),
    WrongAnswer(
        "Linear",
        _linear_with_backward("grad_out @ w.T, grad_out.T @ x, grad_out.sum(0)"),
        "dw must be x.T @ grad_out",
    ),
    WrongAnswer(
        "Linear", _linear_with_backward("grad_out @ w.T, x.T @ grad_out, grad_out.mean(0)"), "not average it"
    ),
    WrongAnswer(
        "Linear",
        _linear_with_backward("grad_out @ w.T, x.T @ grad_out"),
        "Linear.backward must return three gradients (dx, dw, db)",
    ),
    # train_step
    WrongAnswer(
        "train_step",
        _train_step("loss = loss_fn(model(X), y);loss.backward();optimizer.step();return loss.item()"),
        "train_step must call optimizer.zero_grad() before backward: gradients from the previous call leaked in",
    ),
    WrongAnswer(
        "train_step",
        _train_step(
            "loss = loss_fn(model(X), y);loss.backward();optimizer.zero_grad();optimizer.step();return loss.item()"
        ),
        "the parameters did not move",
    ),
    WrongAnswer(
        "train_step",
        _train_step("optimizer.zero_grad();loss = loss_fn(model(X), y);loss.backward();optimizer.step();return loss"),
        "train_step must return loss.item(), a float",
    ),
    WrongAnswer(  # zeroing at the end is fine in a loop, but not when .grad already held something
        "train_step",
        _train_step(
            "loss = loss_fn(model(X), y);loss.backward();optimizer.step();optimizer.zero_grad();return loss.item()"
        ),
        "the gradient already in .grad (from an earlier backward() call) leaked into the update",
    ),
    WrongAnswer(
        "train_step",
        _train_step(
            "optimizer.zero_grad();loss_fn(model(X), y).backward();optimizer.step();"
            "return loss_fn(model(X), y).item()"
        ),
        "return the loss of this step's forward pass",
    ),
    # autograd_two_layer_grads
    WrongAnswer(
        "autograd_two_layer_grads",
        _two_layer(FLOAT64, "((out - y) ** 2).sum()", AS_NUMPY),
        "the MSE must be the mean over all elements",
    ),
    WrongAnswer(
        "autograd_two_layer_grads",
        _two_layer(FLOAT64, "((out - y) ** 2).sum(dim=1).mean()", AS_NUMPY),
        "this divides by the batch size N only",
    ),
    WrongAnswer(
        "autograd_two_layer_grads",
        _two_layer("torch.tensor(value, dtype=torch.float32, requires_grad=True)", MEAN, f"{AS_NUMPY}.astype(float)"),
        "compute in float64",
    ),
    WrongAnswer("autograd_two_layer_grads", _two_layer(FLOAT64, MEAN, "t[name].grad"), "must be a numpy array"),
    WrongAnswer(
        "autograd_two_layer_grads",
        _two_layer(FLOAT64, MEAN, AS_NUMPY).replace("out = torch.sigmoid(", "out = (", 1),
        "the output layer needs its sigmoid too",
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong)


# Written differently from the solution: the tanh form of the sigmoid saving its input, addmm and
# einsum with needs_input_grad, grads set to None by hand and float(), from_numpy copies with
# functional mse_loss and autograd.grad.
INDEPENDENT_ANSWERS = {
    "Sigmoid": '''
class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (1 + torch.tanh(x / 2))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        t = torch.tanh(x / 2)
        return 0.25 * (1 - t * t) * grad_out
''',
    "Linear": '''
class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.inputs = (x, w)
        return torch.addmm(b, x, w)

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.inputs
        need_x, need_w, need_b = ctx.needs_input_grad
        dx = torch.einsum("nm,dm->nd", grad_out, w) if need_x else None
        dw = torch.einsum("nd,nm->dm", x, grad_out) if need_w else None
        db = torch.einsum("nm->m", grad_out) if need_b else None
        return dx, dw, db
''',
    "train_step": '''
def train_step(model, optimizer, loss_fn, X, y):
    for parameter in model.parameters():
        parameter.grad = None
    predictions = model(X)
    loss = loss_fn(predictions, y)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
''',
    "autograd_two_layer_grads": '''
import torch.nn.functional as F

def autograd_two_layer_grads(params, X, y):
    names = ["W1", "b1", "W2", "b2"]
    leaves = [torch.from_numpy(np.array(params[n], dtype=np.float64)).requires_grad_() for n in names]
    W1, b1, W2, b2 = leaves
    inputs, targets = torch.from_numpy(np.asarray(X, float)), torch.from_numpy(np.asarray(y, float))
    layer1 = torch.sigmoid(torch.addmm(b1, inputs, W1))
    layer2 = torch.sigmoid(torch.addmm(b2, layer1, W2))
    gradients = torch.autograd.grad(F.mse_loss(layer2, targets), leaves)
    return dict(zip(names, (g.numpy() for g in gradients), strict=True))
''',
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
