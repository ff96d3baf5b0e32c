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


def _two_layer_net(init: str, forward: str) -> str:
    return f"""
class TwoLayerNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
{init}

    def forward(self, x):
        return {forward}
"""


NET_INIT = """        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)"""
NET_FORWARD = "self.fc2(torch.tanh(self.fc1(x)))"


def _softmax(forward: str, backward: str) -> str:
    """Softmax as _sigmoid_with_backward writes Sigmoid: s saved, one learner's backward."""
    return (
        _sigmoid_with_backward("s", backward)
        .replace("Sigmoid", "Softmax")
        .replace("forward(ctx, x)", "forward(ctx, z)")
        .replace("(saved,) = ctx.saved_tensors", "(s,) = ctx.saved_tensors")
        .replace("s = 1 / (1 + torch.exp(-x))", f"e = {forward}\n        s = e / e.sum(dim=1, keepdim=True)")
    )


STABLE = "torch.exp(z - z.max(dim=1, keepdim=True).values)"


def _hidden_gradient(body: str) -> str:
    return "def hidden_gradient(model, loss_fn, X, y):\n" + "".join(f"    {line}\n" for line in body.split(";"))


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
    # TwoLayerNet
    WrongAnswer(
        "TwoLayerNet",
        _two_layer_net(
            "        super().__init__()\n        self.layers = [nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)]",
            "self.layers[1](torch.tanh(self.layers[0](x)))",
        ),
        "model.parameters() is empty",
    ),
    WrongAnswer(
        "TwoLayerNet",
        _two_layer_net("        self.fc1 = nn.Linear(n_in, n_hidden)\n        self.fc2 = nn.Linear(n_hidden, n_out)",
                       NET_FORWARD),
        "call super().__init__() first",
    ),
    WrongAnswer("TwoLayerNet", _two_layer_net(NET_INIT, "self.fc2(self.fc1(x))"), "must apply tanh between the layers"),
    WrongAnswer("TwoLayerNet", _two_layer_net(NET_INIT, "self.fc2(torch.relu(self.fc1(x)))"), "not relu"),
    WrongAnswer(
        "TwoLayerNet", _two_layer_net(NET_INIT, "torch.tanh(self.fc2(torch.tanh(self.fc1(x))))"),
        "no activation after the last layer",
    ),
    WrongAnswer(
        "TwoLayerNet",
        _two_layer_net("        super().__init__()\n        self.sizes = (n_in, n_hidden, n_out)",
                       "nn.Linear(self.sizes[1], self.sizes[2]).double()(torch.tanh(nn.Linear(*self.sizes[:2])"
                       ".double()(x)))"),
        "store the layers as attributes",
    ),
    # Softmax
    WrongAnswer("Softmax", _softmax(STABLE, "grad_out * s * (1 - s)"), "the softmax's Jacobian is not diagonal"),
    WrongAnswer(
        "Softmax", _softmax(STABLE, "s * (grad_out - (grad_out * s).sum(dim=0, keepdim=True))"), "not over the batch"
    ),
    WrongAnswer(
        "Softmax", _softmax(STABLE, "s * (grad_out - s.sum(dim=1, keepdim=True))"), "not of s alone"
    ),
    WrongAnswer("Softmax", _softmax("torch.exp(z)", "s * (grad_out - (grad_out * s).sum(dim=1, keepdim=True))"),
                "subtract each row's max before exp"),
    WrongAnswer(
        "Softmax",
        _softmax(STABLE.replace("dim=1", "dim=0"), "grad_out").replace("e.sum(dim=1", "e.sum(dim=0"),
        "softmax is over each row (dim=1)",
    ),
    # hidden_gradient
    WrongAnswer(
        "hidden_gradient",
        _hidden_gradient("h = torch.tanh(model.fc1(X));loss_fn(model.fc2(h), y).backward();return h.grad.numpy()"),
        "h.grad is None",
    ),
    WrongAnswer(
        "hidden_gradient",
        _hidden_gradient("z = model.fc1(X);z.retain_grad();loss_fn(model.fc2(torch.tanh(z)), y).backward();"
                         "return z.grad.numpy()"),
        "before the tanh",
    ),
    WrongAnswer(
        "hidden_gradient",
        _hidden_gradient("h = torch.tanh(model.fc1(X));h.retain_grad();model.fc2(h).sum().backward();"
                         "return h.grad.numpy()"),
        "differentiate the loss, not the sum",
    ),
    WrongAnswer(
        "hidden_gradient",
        _hidden_gradient("h = torch.tanh(model.fc1(X));h.retain_grad();loss_fn(model.fc2(h), y).backward();"
                         "return h.grad"),
        "must return a numpy array",
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    WrongAnswer(  # the slope written as s * (s - 1)
        "Sigmoid", _sigmoid_with_backward("s", "grad_out * saved * (saved - 1)"), "it has the opposite sign",
        diagnosed=True,
    ),
    WrongAnswer(  # the bias gradient from the first example only
        "Linear", _linear_with_backward("grad_out @ w.T, x.T @ grad_out, grad_out[0]"),
        "it takes one row where the sum over all rows (the batch) belongs", diagnosed=True,
    ),
    WrongAnswer(  # the loss with the 1/2 of another course's MSE: every gradient is half
        "autograd_two_layer_grads", _two_layer(FLOAT64, "0.5 * " + MEAN, AS_NUMPY),
        "the factor 2 (from the derivative of a square) is missing", diagnosed=True,
    ),
    WrongAnswer(  # the Jacobian-vector product with its subtraction the wrong way round
        "Softmax", _softmax(STABLE, "s * ((grad_out * s).sum(dim=1, keepdim=True) - grad_out)"),
        "it has the opposite sign", diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


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
    # layers registered through a ModuleDict-free add_module call, tanh as a module
    "TwoLayerNet": '''
class TwoLayerNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.add_module("fc1", nn.Linear(n_in, n_hidden))
        self.squash = nn.Tanh()
        self.add_module("fc2", nn.Linear(n_hidden, n_out))

    def forward(self, x):
        return self.fc2(self.squash(self.fc1(x)))
''',
    # log-sum-exp in the forward, the Jacobian-vector product written with a batched matrix product
    "Softmax": '''
class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        probabilities = torch.exp(z - torch.logsumexp(z, dim=1, keepdim=True))
        ctx.save_for_backward(probabilities)
        return probabilities

    @staticmethod
    def backward(ctx, grad_out):
        (p,) = ctx.saved_tensors
        jacobians = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
        return torch.bmm(jacobians, grad_out.unsqueeze(2)).squeeze(2)
''',
    # a hook instead of retain_grad, and torch.autograd.grad would do too
    "hidden_gradient": '''
def hidden_gradient(model, loss_fn, X, y):
    seen = []
    hidden = torch.tanh(model.fc1(X))
    hidden.register_hook(lambda gradient: seen.append(gradient.clone()))
    loss_fn(model.fc2(hidden), y).backward()
    return seen[0].numpy()
''',
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
