"""Step 08, the capstone: realistic wrong answers lose points with a message that names the mistake,
a correct implementation written differently from the solution earns full marks, and the three
implementations of one training run (numpy, a scalar autodiff engine, PyTorch) give one loss curve.

Each wrong answer is the solution's cell with one slip in it (``slip``), graded up to that cell's
tests only; the digits run (a second of training) is graded by the full-marks tests alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
    solution_answers,
)

from autograder import reference_08
from backprop_lab import capstone

ASSIGNMENT = "08_capstone"
SOLUTION = solution_answers(ASSIGNMENT)


def slip(grade_id: str, old: str, new: str, says: str, diagnosed: bool = False) -> WrongAnswer:
    """The solution of ``grade_id`` with ``old`` replaced by ``new``: one realistic mistake
    (``diagnosed`` as for ``WrongAnswer``)."""
    code = SOLUTION[grade_id]
    assert old in code, f"{old!r} is not in the solution of {grade_id}"
    return WrongAnswer(grade_id, code.replace(old, new), says, diagnosed=diagnosed)


WRONG_ANSWERS = [
    # the pieces brought from earlier exercises
    slip("affine_forward", "dout * (cache > 0)", "dout * (cache >= 0)", "gate with z > 0, not z >= 0"),
    slip("affine_forward", "x.T @ dout, dout", "x.T @ dout / len(x), dout", "do not divide dw by N"),
    slip("affine_forward", "dout.sum(axis=0)", "dout.mean(axis=0)", "it does not average it"),
    slip("softmax_cross_entropy", "dlogits / n", "dlogits", "dlogits carries the 1/N of the mean"),
    slip("softmax_cross_entropy", "].mean(), dlogits", "].sum(), dlogits", "the loss is the MEAN over the batch"),
    slip("softmax_cross_entropy", "shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits",
         "nan or inf"),
    slip("numerical_gradient", "        x[index] = saved\n", "",
         "numerical_gradient must restore every entry it perturbs"),
    slip("numerical_gradient", "return error < tol, error", "return error > tol, error",
         "must pass a correct gradient"),
    slip("numerical_gradient", "scale = np.linalg.norm(a) + np.linalg.norm(b)", "scale = np.linalg.norm(a)",
         "norm(a - b) / (norm(a) + norm(b))"),
    slip("he_init", "np.sqrt(2.0 / fan_in)", "np.sqrt(1.0 / fan_in)", "he_init's std is sqrt(2 / fan_in)"),
    slip("he_init", "norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n    scale = min(1.0, max_norm / norm) "
         "if norm > 0 else 1.0\n    return [g * scale for g in grads]",
         "return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]", "not each one separately"),
    slip("he_init", "x.var(axis=0)", "x.var(axis=0, ddof=1)", "divides by N, not N - 1"),
    # the train/validation split
    slip("train_val_split", "order = rng.permutation(len(X))", "order = np.arange(len(X))",
         "the split is not shuffled"),
    slip("train_val_split", "return X[order[n_val:]], y[order[n_val:]]", "return X[order], y[order]",
         "validation data leaks into training"),
    slip("train_val_split", "y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]",
         "y[rng.permutation(len(X))[n_val:]], X[order[:n_val]], y[rng.permutation(len(X))[:n_val]]",
         "the labels no longer match their images"),
    slip("train_val_split", "X[order[n_val:]], y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]",
         "X[order[:-n_val]], y[order[:-n_val]], X[order[-n_val:]], y[order[-n_val:]]", "FIRST round(val_fraction"),
    # mini-batches
    slip("minibatches", "order = rng.permutation(len(X))", "order = np.arange(len(X))", "no shuffling"),
    slip("minibatches", "range(0, len(X), batch_size)", "range(0, len(X) - batch_size + 1, batch_size)",
         "the last, smaller batch is missing"),
    slip("minibatches", "order = rng.permutation(len(X))", "order = np.random.default_rng(0).permutation(len(X))",
         "of the rng you are given"),
    WrongAnswer("minibatches", """
def minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    X[:], y[:] = X[order], y[order]
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]
""", "X was modified"),
    # the network's parameters
    slip("init_network", "if batchnorm and layer < layers:", "if batchnorm and layer < layers:\n"
         "            params[f\"b{layer}\"] = np.zeros(fan_out)", "the hidden layers have no bias"),
    slip("init_network", "he_init(fan_in, fan_out, rng)",
         "rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))", "these are Xavier's weights"),
    slip("init_network", "np.ones(fan_out)", "np.zeros(fan_out)", "gamma starts at 1"),
    slip("init_network", "for layer in range(1, layers + 1):", "for layer in range(layers, 0, -1):",
         "draw the weights first layer first"),
    # forward and backward
    slip("network_loss_and_grads", "        if layer < layers:\n            if f\"gamma",
         "        if layer == layers:\n            z, _ = relu_forward(z)\n        if layer < layers:\n"
         "            if f\"gamma", "no ReLU after it"),
    slip("network_loss_and_grads", "            dout = relu_backward(dout, relu_cache)\n", "            pass\n",
         "the gradient passes through the ReLUs unchanged"),
    slip("network_loss_and_grads", "0.9 * bn_stats.get(f\"mean{layer}\", 0.0) + 0.1 * mean",
         "0.1 * bn_stats.get(f\"mean{layer}\", 0.0) + 0.9 * mean", "you swapped 0.9 and 0.1"),
    slip("network_loss_and_grads", "0.9 * bn_stats.get(f\"var{layer}\", 1.0) + 0.1 * var", "var",
         "not replaced by the batch's"),
    slip("network_loss_and_grads", "                if bn_stats is not None:",
         "                if False:", "update the dict you are given, in place"),
    # predictions
    slip("network_predict", "mean, var = stats.get(f\"mean{layer}\", 0.0), stats.get(f\"var{layer}\", 1.0)",
         "mean, var = z.mean(axis=0), z.var(axis=0)", "not the batch statistics"),
    slip("network_predict", "        if layer < layers:\n", "        if True:\n", "no ReLU after it"),
    slip("network_predict", "            if f\"gamma{layer}\" in params:", "            if False:",
         "evaluation mode still normalises"),
    # one training step
    slip("training_step", "params[name] - lr * step", "params[name] - lr * (lr * step)",
         "the learning rate is applied twice"),
    WrongAnswer("training_step", """
_running_grads = {}


def training_step(params, X, labels, lr, bn_stats=None, max_norm=None):
    loss, grads = network_loss_and_grads(params, X, labels, bn_stats)
    for name in grads:  # the sum of every gradient so far: never reset
        _running_grads[name] = _running_grads.get(name, 0.0) + grads[name]
    names = list(params)
    steps = [_running_grads[name] for name in names]
    if max_norm is not None:
        steps = clip_by_global_norm(steps, max_norm)
    for name, step in zip(names, steps, strict=True):
        params[name] -= lr * step
    return float(loss)
""", "gradients from earlier steps leak in"),
    slip("training_step", "steps = clip_by_global_norm(steps, max_norm)",
         "steps = [clip_by_global_norm([s], max_norm)[0] for s in steps]", "not each one separately"),
    slip("training_step", "        steps = clip_by_global_norm(steps, max_norm)\n", "        pass\n",
         "the gradients are not clipped"),
    # the training loop
    slip("train_network", "minibatches(X_train, y_train, batch_size, rng)",
         "[(X_train[i:i + batch_size], y_train[i:i + batch_size]) for i in range(0, len(X_train), batch_size)]",
         "no shuffling"),
    slip("train_network", "minibatches(X_train, y_train, batch_size, rng)",
         "minibatches(np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val]), batch_size, rng)",
         "validation data leaks into training"),
    slip("train_network", "(X_train, y_train, \"train_accuracy\"), (X_val, y_val, \"val_accuracy\")",
         "(X_val, y_val, \"train_accuracy\"), (X_train, y_train, \"val_accuracy\")", "are swapped"),
    # slips no listed mistake covers: the general diagnosis names them
    slip("affine_forward", "return np.maximum(x, 0.0), x", "return x + np.abs(x), x",  # (x + |x|) / 2 without / 2
         "twice the expected value", diagnosed=True),
    slip("softmax_cross_entropy", "return -log_probs[np.arange(n), labels].mean(), dlogits / n",
         "by_class = np.array([dlogits[:, k] for k in range(logits.shape[1])])  # one class at a time: (C, N)\n"
         "    return -log_probs[np.arange(n), labels].mean(), by_class / n",
         "it is the transpose of the expected value", diagnosed=True),
    slip("numerical_gradient", "(f_plus - f_minus) / (2 * h)", "(f_minus - f_plus) / (2 * h)",
         "it has the opposite sign", diagnosed=True),
    slip("he_init", "dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))",
         "dx = inv_std * (dx_hat.mean(axis=0) + x_hat * (dx_hat * x_hat).mean(axis=0) - dx_hat)",
         "it has the opposite sign", diagnosed=True),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


def test_every_graded_function_has_three_named_mistakes():
    counts = {grade_id: 0 for grade_id in SOLUTION}
    for wrong in WRONG_ANSWERS:
        counts[wrong.grade_id] += 1
    assert all(count >= 3 for count in counts.values()), counts


# Written differently from the solution: einsum and np.where, a loop over explicit layer records,
# sorting-free index bookkeeping, a generator of batches, an in-place update with np.subtract.
INDEPENDENT_ANSWERS = {
    "affine_forward": """
import numpy as np

def affine_forward(x, w, b):
    return np.einsum("nd,dm->nm", x, w) + b[None, :], (x, w, b)

def affine_backward(dout, cache):
    x, w, _ = cache
    return np.einsum("nm,dm->nd", dout, w), np.einsum("nd,nm->dm", x, dout), np.einsum("nm->m", dout)

def relu_forward(x):
    return np.where(x > 0, x, 0.0), x

def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)
""",
    "softmax_cross_entropy": """
import numpy as np

def softmax_cross_entropy(logits, labels):
    top = np.max(logits, axis=1, keepdims=True)
    log_total = top + np.log(np.sum(np.exp(logits - top), axis=1, keepdims=True))
    probabilities = np.exp(logits - log_total)
    one_hot = np.eye(logits.shape[1])[labels]
    loss = float(np.mean(np.sum(one_hot * (log_total - logits), axis=1)))
    return loss, (probabilities - one_hot) / len(labels)
""",
    "numerical_gradient": """
import numpy as np

def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)
    out = np.empty(flat.size)
    for i in range(flat.size):
        kept = float(flat[i])
        values = []
        for shift in (h, -h):
            flat[i] = kept + shift
            values.append(f(x))
        flat[i] = kept
        out[i] = (values[0] - values[1]) / (2 * h)
    return out.reshape(x.shape)

def relative_error(a, b):
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    denominator = np.sqrt(a @ a) + np.sqrt(b @ b)
    return float(np.sqrt((a - b) @ (a - b)) / denominator) if denominator else 0.0

def gradient_check(f, grad_f, x, tol=1e-7):
    error = relative_error(grad_f(x), numerical_gradient(f, x))
    return bool(error < tol), error
""",
    "he_init": """
import math
import numpy as np

def he_init(fan_in, fan_out, rng):
    return math.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))

def clip_by_global_norm(grads, max_norm):
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    factor = max_norm / total if total > max_norm else 1.0
    return [np.multiply(g, factor) for g in grads]

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    centred = x - x.mean(axis=0)
    scale = 1.0 / np.sqrt((centred**2).mean(axis=0) + eps)
    x_hat = centred * scale
    return x_hat * gamma + beta, {"x_hat": x_hat, "scale": scale, "gamma": gamma}

def batchnorm_backward(dout, cache):
    x_hat, scale, gamma = cache["x_hat"], cache["scale"], cache["gamma"]
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    return (gamma * scale / n) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta
""",
    "train_val_split": """
def train_val_split(X, y, val_fraction, rng):
    order = rng.permutation(X.shape[0])
    cut = round(val_fraction * X.shape[0])
    val, train = order[:cut], order[cut:]
    return X.take(train, axis=0), y.take(train), X.take(val, axis=0), y.take(val)
""",
    "minibatches": """
def minibatches(X, y, batch_size, rng):
    order = list(rng.permutation(len(y)))
    batches = []
    while order:
        chosen, order = order[:batch_size], order[batch_size:]
        batches.append((X[chosen], y[chosen]))
    return batches
""",
    "init_network": """
import numpy as np

def init_network(layer_sizes, rng, batchnorm=False):
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    params = {}
    for index, (fan_in, fan_out) in enumerate(pairs, start=1):
        params["W%d" % index] = he_init(fan_in, fan_out, rng)
        hidden = index < len(pairs)
        if batchnorm and hidden:
            params.update({"gamma%d" % index: np.ones(fan_out), "beta%d" % index: np.zeros(fan_out)})
        else:
            params["b%d" % index] = np.zeros(fan_out)
    return params
""",
    "network_loss_and_grads": """
import numpy as np

def _layers(params):
    count = len([k for k in params if k[0] == "W"])
    return [(i, i == count) for i in range(1, count + 1)]

def network_loss_and_grads(params, X, labels, bn_stats=None):
    records, h = [], X
    for i, last in _layers(params):
        W = params["W%d" % i]
        record = {"i": i}
        z, record["affine"] = affine_forward(h, W, params.get("b%d" % i, np.zeros(W.shape[1])))
        if not last and ("gamma%d" % i) in params:
            if isinstance(bn_stats, dict):
                for key, batch, start in (("mean%d" % i, np.mean(z, axis=0), 0.0),
                                          ("var%d" % i, np.var(z, axis=0), 1.0)):
                    bn_stats[key] = 0.1 * batch + 0.9 * bn_stats.get(key, start)
            z, record["bn"] = batchnorm_forward(z, params["gamma%d" % i], params["beta%d" % i])
        if not last:
            z, record["relu"] = relu_forward(z)
        records.append(record)
        h = z
    loss, d = softmax_cross_entropy(h, labels)
    grads = {}
    for record in reversed(records):
        i = record["i"]
        if "relu" in record:
            d = relu_backward(d, record["relu"])
        if "bn" in record:
            d, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward(d, record["bn"])
        d, grads["W%d" % i], db = affine_backward(d, record["affine"])
        if ("b%d" % i) in params:
            grads["b%d" % i] = db
    return float(loss), grads
""",
    "network_predict": """
import numpy as np

def network_predict(params, X, bn_stats=None):
    count = len([k for k in params if k[0] == "W"])
    stats = {} if bn_stats is None else bn_stats
    out = X
    for i in range(1, count + 1):
        out = out.dot(params["W%d" % i])
        if ("b%d" % i) in params:
            out = out + params["b%d" % i]
        if i == count:
            break
        if ("gamma%d" % i) in params:
            mean = stats.get("mean%d" % i, np.zeros(out.shape[1]))
            std = np.sqrt(stats.get("var%d" % i, np.ones(out.shape[1])) + 1e-5)
            out = params["beta%d" % i] + params["gamma%d" % i] * ((out - mean) / std)
        out = np.where(out > 0, out, 0.0)
    return out
""",
    "training_step": """
import numpy as np

def training_step(params, X, labels, lr, bn_stats=None, max_norm=None):
    loss, grads = network_loss_and_grads(params, X, labels, bn_stats)
    keys = sorted(params)
    updates = [grads[k] for k in keys]
    if max_norm is not None:
        updates = clip_by_global_norm(updates, max_norm)
    for key, update in zip(keys, updates):
        np.subtract(params[key], lr * update, out=params[key])
    return loss
""",
    "train_network": """
import numpy as np

def _accuracy(params, X, y, bn_stats):
    return float((np.argmax(network_predict(params, X, bn_stats), axis=1) == y).sum() / len(y))

def train_network(params, X_train, y_train, X_val, y_val, epochs, batch_size, lr, rng, bn_stats=None, max_norm=None):
    losses, train_acc, val_acc = [], [], []
    for epoch in range(epochs):
        losses.extend(training_step(params, Xb, yb, lr, bn_stats, max_norm)
                      for Xb, yb in minibatches(X_train, y_train, batch_size, rng))
        train_acc.append(_accuracy(params, X_train, y_train, bn_stats))
        val_acc.append(_accuracy(params, X_val, y_val, bn_stats))
    return {"loss": losses, "train_accuracy": train_acc, "val_accuracy": val_acc}
""",
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


# --- one training run, three implementations ----------------------------------------------------


def _namespace(assignment: str, grade_ids=None) -> dict:
    """The solution's cells of an assignment, run in one namespace: a learner's finished code."""
    namespace = {"np": np, "math": math}
    for grade_id, code in solution_answers(assignment).items():
        if grade_ids is None or grade_id.startswith(grade_ids):
            exec(code, namespace)  # noqa: S102 - the suite's own trusted solutions
    return namespace


def test_numpy_engine_and_pytorch_give_one_loss_curve():
    """A learner's numpy network (exercise 08), a learner's Value engine (exercise 02) and torch.nn with
    torch.optim.SGD train the same small network from the same weights on the same batches."""
    numpy_net = _namespace(ASSIGNMENT)
    engine = _namespace("02_computational_graphs", "Value")
    rng = np.random.default_rng(0)
    X, labels = capstone.load_digits()
    params = numpy_net["init_network"]([64, 6, 4], rng)
    batches = numpy_net["minibatches"](X[:24], labels[:24] % 4, 8, rng) * 2
    mine = {name: value.copy() for name, value in params.items()}
    numpy_losses = [numpy_net["training_step"](mine, Xb, yb, 0.1) for Xb, yb in batches]
    engine_losses = capstone.engine_loss_curve(engine["Value"], params, batches, 0.1)
    torch_losses = reference_08.torch_model_curve(params, batches, 0.1)
    assert np.allclose(numpy_losses, torch_losses, rtol=1e-10, atol=0)
    assert np.allclose(engine_losses, torch_losses, rtol=1e-10, atol=0)
    assert numpy_losses[-1] < numpy_losses[0]


def test_the_course_reference_network_matches_the_grader_and_pytorch():
    """backprop_lab.capstone (the lesson's network) against the grader's autograd reference."""
    rng = np.random.default_rng(1)
    params = capstone.init_network([5, 6, 4, 3], rng, batchnorm=True)
    X, labels = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    stats, expected_stats = {}, None
    loss, grads = capstone.loss_and_grads(params, X, labels, stats)
    expected_loss, expected_grads, expected_stats = reference_08.loss_and_grads(params, X, labels, {})
    assert np.isclose(loss, expected_loss, rtol=1e-12)
    assert all(np.allclose(grads[k], expected_grads[k], rtol=1e-9, atol=1e-12) for k in params)
    assert all(np.allclose(stats[k], expected_stats[k], rtol=1e-12) for k in stats)
    assert np.allclose(capstone.predict(params, X, stats), reference_08.predict(params, X, stats), rtol=1e-12)
    batches = capstone.minibatches(X, labels, 3, rng)[:2] * 3
    mine = {k: v.copy() for k, v in params.items()}
    losses = [capstone.training_step(mine, Xb, yb, 0.2, {}, 0.5) for Xb, yb in batches]
    assert np.allclose(losses, reference_08.torch_model_curve(params, batches, 0.2, 0.5), rtol=1e-10)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))


def test_the_lesson_uses_a_learners_engine_only_when_it_works():
    """Lesson 08 trains the learner's own Value engine of exercise 02 when it is finished, else the course's."""
    from autograder import course

    engine, why = capstone.learners_engine(course.solution_notebook("02_computational_graphs"))
    assert engine is not None and {"Value", "MLP", "train_mlp"} <= set(engine), why
    blank, why = capstone.learners_engine(course.exercise_notebook("02_computational_graphs"))
    assert blank is None and "NotImplementedError" in why
    missing, why = capstone.learners_engine(course.REPO_ROOT / "no-such-notebook.ipynb")
    assert missing is None and "could not read" in why
