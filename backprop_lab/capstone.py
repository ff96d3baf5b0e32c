"""The capstone's network in numpy, the same network in PyTorch, and the data: the reference
behind lesson 08.

A network is a dict of parameters for layer sizes ``[D, H_1, ..., H_{L-1}, C]``: ``W1 .. WL``
of shape ``(fan_in, fan_out)`` (He initialisation, drawn first layer first), and either a bias
``b1 .. bL`` for every layer or, with batch normalisation, ``gamma_l`` and ``beta_l`` for every
hidden layer (a bias before batch normalisation would be cancelled by its mean) and a bias
``bL`` for the last one. A hidden layer computes ``relu(batchnorm(h @ W))`` or
``relu(h @ W + b)``; the last is affine; the loss is the mean softmax cross-entropy.

Batch normalisation keeps running statistics for evaluation in a dict ``bn_stats``
(``mean_l``, ``var_l``): a missing entry counts as mean 0 and variance 1, and every training
forward pass moves them as ``running = 0.9 * running + 0.1 * batch`` (the batch variance divides
by N). The functions the exercise grades have its signatures, so the lesson and the suite can
check their claims on this code.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Sequence
from importlib import resources

import numpy as np

from autograder import reference_08

from .deep_nets import clip_by_global_norm, he_init

MOMENTUM = 0.9
EPS = 1e-5


# --- data ------------------------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 handwritten digits (8x8, bundled in its wheel): X (1797, 64) in [0, 1], labels."""
    path = resources.files("sklearn.datasets") / "data" / "digits.csv.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        data = np.loadtxt(text, delimiter=",")
    return data[:, :-1] / 16.0, data[:, -1].astype(int)


def train_val_split(X, y, val_fraction, rng):
    order = rng.permutation(len(X))
    n_val = int(round(val_fraction * len(X)))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]


# --- the network -----------------------------------------------------------------------------


def init_network(layer_sizes: Sequence[int], rng: np.random.Generator, batchnorm: bool = False) -> dict:
    params = {}
    last = len(layer_sizes) - 1
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True), start=1):
        params[f"W{layer}"] = he_init(fan_in, fan_out, rng)
        if batchnorm and layer < last:
            params[f"gamma{layer}"] = np.ones(fan_out)
            params[f"beta{layer}"] = np.zeros(fan_out)
        else:
            params[f"b{layer}"] = np.zeros(fan_out)
    return params


def depth(params: dict) -> int:
    return sum(1 for name in params if name.startswith("W"))


def softmax_cross_entropy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    dscores = np.exp(log_probs)
    dscores[rows, labels] -= 1.0
    return float(-log_probs[rows, labels].mean()), dscores / len(labels)


def _batchnorm(z, gamma, beta, mean, var):
    inv_std = 1.0 / np.sqrt(var + EPS)
    z_hat = (z - mean) * inv_std
    return gamma * z_hat + beta, (z_hat, gamma, inv_std)


def forward(params: dict, X: np.ndarray, train: bool = True, bn_stats: dict | None = None):
    """Scores (N, C) and the caches of every layer; in training mode batch normalisation uses the
    batch's statistics (and moves ``bn_stats``), in evaluation mode the running ones."""
    h, caches = X, []
    layers = depth(params)
    for layer in range(1, layers + 1):
        W = params[f"W{layer}"]
        z = h @ W + params.get(f"b{layer}", 0.0)
        cache = {"h": h}
        if layer < layers and f"gamma{layer}" in params:
            if train:
                mean, var = z.mean(axis=0), z.var(axis=0)
                if bn_stats is not None:
                    for key, batch, start in ((f"mean{layer}", mean, 0.0), (f"var{layer}", var, 1.0)):
                        bn_stats[key] = MOMENTUM * bn_stats.get(key, start) + (1 - MOMENTUM) * batch
            else:
                stats = bn_stats or {}
                mean, var = stats.get(f"mean{layer}", 0.0), stats.get(f"var{layer}", 1.0)
            z, cache["bn"] = _batchnorm(z, params[f"gamma{layer}"], params[f"beta{layer}"], mean, var)
        if layer < layers:
            cache["z"] = z
            z = np.maximum(z, 0.0)
        caches.append(cache)
        h = z
    return h, caches


def loss_and_grads(params: dict, X: np.ndarray, labels: np.ndarray, bn_stats: dict | None = None):
    """(loss, grads) in training mode; grads has the keys and shapes of params."""
    scores, caches = forward(params, X, True, bn_stats)
    loss, dout = softmax_cross_entropy(scores, labels)
    grads = {}
    for layer in range(depth(params), 0, -1):
        cache = caches[layer - 1]
        if "z" in cache:
            dout = dout * (cache["z"] > 0)
        if "bn" in cache:
            z_hat, gamma, inv_std = cache["bn"]
            grads[f"gamma{layer}"] = np.sum(dout * z_hat, axis=0)
            grads[f"beta{layer}"] = np.sum(dout, axis=0)
            dz_hat = dout * gamma
            dout = inv_std * (dz_hat - dz_hat.mean(axis=0) - z_hat * (dz_hat * z_hat).mean(axis=0))
        grads[f"W{layer}"] = cache["h"].T @ dout
        if f"b{layer}" in params:
            grads[f"b{layer}"] = dout.sum(axis=0)
        dout = dout @ params[f"W{layer}"].T
    return loss, {name: grads[name] for name in params}


def predict(params: dict, X: np.ndarray, bn_stats: dict | None = None) -> np.ndarray:
    return forward(params, X, train=False, bn_stats=bn_stats)[0]


def accuracy(params: dict, X: np.ndarray, labels: np.ndarray, bn_stats: dict | None = None) -> float:
    return float(np.mean(predict(params, X, bn_stats).argmax(axis=1) == labels))


def training_step(params, X, labels, lr, bn_stats=None, max_norm=None, grad_norms=None):
    """One SGD step (the exercise's); ``grad_norms``, a list, gets ``{W_l: ‖dL/dW_l‖}`` of this step."""
    loss, grads = loss_and_grads(params, X, labels, bn_stats)
    if grad_norms is not None:
        grad_norms.append({name: float(np.linalg.norm(g)) for name, g in grads.items() if name.startswith("W")})
    names = list(params)
    steps = [grads[name] for name in names]
    if max_norm is not None:
        steps = clip_by_global_norm(steps, max_norm)
    for name, step in zip(names, steps, strict=True):
        params[name] -= lr * step
    return loss


def train_network(params, X_train, y_train, X_val, y_val, epochs, batch_size, lr, rng, bn_stats=None,
                  max_norm=None, progress=None):
    """Mini-batch SGD (the exercise's ``train_network``); ``progress`` wraps the range of epochs (``tqdm``).
    The history also holds ``grad_norms``: every step's ``{W_l: ‖dL/dW_l‖}`` before clipping."""
    history = {"loss": [], "train_accuracy": [], "val_accuracy": [], "grad_norms": []}
    epochs_range = range(epochs) if progress is None else progress(range(epochs))
    for _ in epochs_range:
        for X_batch, y_batch in minibatches(X_train, y_train, batch_size, rng):
            history["loss"].append(training_step(params, X_batch, y_batch, lr, bn_stats, max_norm,
                                                 history["grad_norms"]))
        history["train_accuracy"].append(accuracy(params, X_train, y_train, bn_stats))
        history["val_accuracy"].append(accuracy(params, X_val, y_val, bn_stats))
    return history


def softmax_regression(X_train, y_train, X_val, y_val, classes, epochs, batch_size, lr, rng):
    """The linear baseline: one affine layer and the softmax loss, trained the same way."""
    params = {"W1": np.zeros((X_train.shape[1], classes)), "b1": np.zeros(classes)}
    return params, train_network(params, X_train, y_train, X_val, y_val, epochs, batch_size, lr, rng)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j]: how many examples of class i were predicted as j."""
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (labels, predicted), 1)
    return counts


# --- the same network in PyTorch: the grader's twin (nn.Linear, nn.BatchNorm1d, optim.SGD) ----------

torch_model = reference_08.torch_model
torch_model_curve = reference_08.torch_model_curve


# --- a scalar autodiff engine: the learner's own, from exercise 02, if it works ---------------------

#: The cells of exercise 02 that define the engine and the network made of it.
ENGINE_CELLS = ("Value", "MLP", "train_mlp")


def learners_engine(path) -> tuple[dict | None, str]:
    """(namespace with ``Value``, ``MLP``, ``train_mlp``; or None, and why) from a saved exercise 02.

    The engine must pass a small check first: the gradient of one tanh neuron against finite
    differences, and an MLP whose parameters all get a gradient."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        return None, f"could not read {path}: {error}"
    namespace = {"np": np, "math": math, "numpy": np}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and grade_id.startswith(ENGINE_CELLS) and not grade_id.startswith("test"):
            try:
                exec(cell.source, namespace)  # noqa: S102 - the learner's own code, in the learner's kernel
            except Exception as error:  # noqa: BLE001 - an unfinished exercise is expected
                return None, f"its cell {grade_id} does not run yet ({type(error).__name__})"
    try:
        Value = namespace["Value"]
        w, x = Value(0.7), Value(-1.3)
        out = (w * x + 0.5).tanh()
        out.backward()
        expected = (1 - math.tanh(0.7 * -1.3 + 0.5) ** 2) * -1.3
        model = namespace["MLP"](2, [3, 1], seed=0)
        namespace["train_mlp"](model, np.array([[0.5, -0.5], [-0.2, 0.3]]), np.array([1.0, -1.0]), 1, 0.1)
        working = abs(w.grad - expected) < 1e-9 and len(model.parameters()) == 13
    except Exception as error:  # noqa: BLE001
        return None, f"it does not pass a first check yet ({type(error).__name__}: {error})"
    return (namespace, "your engine from exercise 02") if working else (None, "its gradients are not right yet")


# --- the same network in a scalar autodiff engine ---------------------------------------------


def engine_loss_curve(Value, params: dict, batches, lr: float, backward=None) -> list[float]:
    """Train ``params`` (no batch normalisation) with a scalar engine's ``Value`` on ``batches``.

    Uses only what every engine of exercise 02 has (``+ * /``, ``exp``, ``relu``, ``backward``,
    ``data``, ``grad``). It has no ``log``, so the loss is differentiated through the probability
    of the right class, p, by hand for the last step: d(-log p)/dθ = -(1/p) dp/dθ, summed over
    the batch as one surrogate ``sum_i c_i p_i`` with the numbers c_i = -1 / (N p_i). ``backward(root)``
    replaces ``root.backward()`` where given (``course_engine()["backward"]``).
    """
    weights = {name: [[Value(float(v)) for v in row] for row in np.atleast_2d(array)]
               for name, array in params.items()}
    losses = []
    layers = depth(params)
    for X, labels in batches:
        probabilities = []
        for x, label in zip(X, labels, strict=True):
            h = [float(v) for v in x]
            for layer in range(1, layers + 1):
                W, b = weights[f"W{layer}"], weights[f"b{layer}"][0]
                z = [sum((W[i][j] * h[i] for i in range(len(h))), b[j]) for j in range(len(b))]
                h = [v.relu() for v in z] if layer < layers else z
            top = max(v.data for v in h)
            exps = [(v - top).exp() for v in h]
            total = exps[0]
            for e in exps[1:]:
                total = total + e
            probabilities.append(exps[int(label)] / total)
        n = len(probabilities)
        losses.append(float(np.mean([-np.log(p.data) for p in probabilities])))
        surrogate = probabilities[0] * (-1.0 / (n * probabilities[0].data))
        for p in probabilities[1:]:
            surrogate = surrogate + p * (-1.0 / (n * p.data))
        every = [v for rows in weights.values() for row in rows for v in row]
        for v in every:
            v.grad = 0.0
        if backward is None:
            surrogate.backward()
        else:
            backward(surrogate)
        for v in every:
            v.data -= lr * v.grad
    return losses


def course_engine() -> dict:
    """The course's engine (lesson 02's ``Value``) with an MLP and its training loop, as exercise 02
    specifies them: tanh after every layer but the last, weights uniform in [-1, 1], hinge loss."""
    from .graph_engine import Value, topological_order

    def backward(root):
        """Lesson 02's backward pass without its step-by-step record (which costs O(nodes^2))."""
        order = topological_order(root)
        grads = {id(node): 0.0 for node in order}
        grads[id(root)] = 1.0
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads, strict=True):
                grads[id(child)] += grads[id(node)] * local
        for node in order:
            node.grad = grads[id(node)]

    class MLP:
        def __init__(self, n_inputs, layer_sizes, seed=0):
            rng = np.random.default_rng(seed)
            sizes = [n_inputs, *layer_sizes]
            self.layers = [([[Value(float(w)) for w in rng.uniform(-1, 1, size=fan_in)] for _ in range(fan_out)],
                            [Value(float(b)) for b in rng.uniform(-1, 1, size=fan_out)])
                           for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]

        def __call__(self, x):
            h = [float(v) for v in x]
            for index, (weights, biases) in enumerate(self.layers):
                z = [sum((w * a for w, a in zip(row, h, strict=True)), b) for row, b in zip(weights, biases,
                                                                                          strict=True)]
                h = z if index == len(self.layers) - 1 else [v.tanh() for v in z]
            return h[0] if len(h) == 1 else h

        def parameters(self):
            return [p for weights, biases in self.layers for row in weights for p in row] + [
                b for _, biases in self.layers for b in biases]

    def train_mlp(model, X, y, steps, lr):
        losses = []
        for _ in range(steps):
            margins = [(1 - float(label) * model(x)).relu() for x, label in zip(X, y, strict=True)]
            loss = sum(margins[1:], margins[0]) / len(margins)
            backward(loss)
            for p in model.parameters():
                p.data -= lr * p.grad
            losses.append(loss.data)
        return losses

    return {"Value": Value, "MLP": MLP, "train_mlp": train_mlp, "backward": backward}
