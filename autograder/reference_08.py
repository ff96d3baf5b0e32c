"""The grader's own answers for exercise 08 (the capstone), in PyTorch: its test cells import them.

The exercise's network is a dict of parameters (``W1 .. WL``; ``b1 .. bL``, or, with batch
normalisation, ``gamma_l`` and ``beta_l`` for the hidden layers and ``bL`` for the last one):
hidden layers compute ``relu(batchnorm(h @ W))`` or ``relu(h @ W + b)``, the last is affine,
the loss is the mean softmax cross-entropy. Running statistics (``bn_stats``: ``mean_l``,
``var_l``; a missing entry is mean 0, variance 1) move as ``0.9 * running + 0.1 * batch``.

Every function computes with torch's autograd (float64), independently of any numpy answer, and
takes keyword switches that produce the answers of the usual mistakes, so that a test can name
the mistake a learner made. A grading kernel cannot import it: the jail leaves the kernel only
``autograder.sandbox.KERNEL_MODULES``, and the tamper scan refuses ``autograder`` imports. It
lives here so that the test cells stay short and say what they check.

The checks run in the judge (:mod:`autograder.judge`), which writes back what learner code changes
of its arguments; so they give learner code copies (``_fresh``, ``_copy``) wherever they compute an
expected value from the same inputs after the call: zeroing them in place gains nothing.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

MOMENTUM = 0.9
EPS = 1e-5


def _tensor(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64))


def depth(params: dict) -> int:
    return sum(1 for name in params if name.startswith("W"))


def _forward(weights: dict, X, train: bool, stats: dict, *, relu_last=False, straight_relu=False,
             batch_stats_in_eval=False, running_in_train=False, ddof=0, skip_batchnorm=False):
    """Scores of the network; ``stats`` (a dict of tensors) is moved in training mode."""
    h = _tensor(X)
    layers = depth(weights)
    for layer in range(1, layers + 1):
        z = h @ weights[f"W{layer}"]
        if f"b{layer}" in weights:
            z = z + weights[f"b{layer}"]
        if layer < layers and f"gamma{layer}" in weights and not skip_batchnorm:
            running = stats.get(f"mean{layer}", torch.zeros(z.shape[1], dtype=torch.float64)), stats.get(
                f"var{layer}", torch.ones(z.shape[1], dtype=torch.float64))
            if (train and not running_in_train) or (not train and batch_stats_in_eval):
                mean, var = z.mean(dim=0), z.var(dim=0, correction=ddof)
                if train:
                    stats[f"mean{layer}"] = MOMENTUM * running[0] + (1 - MOMENTUM) * mean.detach()
                    stats[f"var{layer}"] = MOMENTUM * running[1] + (1 - MOMENTUM) * var.detach()
            else:
                mean, var = running
            z = weights[f"gamma{layer}"] * (z - mean) / torch.sqrt(var + EPS) + weights[f"beta{layer}"]
        if layer < layers or relu_last:
            z = z + (torch.relu(z) - z).detach() if straight_relu else torch.relu(z)
        h = z
    return h


def _leaves(params: dict) -> dict:
    return {name: _tensor(value).requires_grad_(True) for name, value in params.items()}


def _stats_in(bn_stats) -> dict:
    return {name: _tensor(value) for name, value in (bn_stats or {}).items()}


def loss_and_grads(params: dict, X, labels, bn_stats=None, *, summed=False, **mistake):
    """(loss, grads, new_stats) in training mode; ``summed`` sums the loss over the batch instead of
    averaging it, ``relu_last`` puts a ReLU after the last layer, ``straight_relu`` lets the gradient
    through the ReLUs ungated, ``running_in_train`` normalises with the running statistics."""
    weights = _leaves(params)
    stats = _stats_in(bn_stats)
    scores = _forward(weights, X, True, stats, **mistake)
    loss = torch.nn.functional.cross_entropy(scores, torch.as_tensor(np.asarray(labels), dtype=torch.long),
                                             reduction="sum" if summed else "mean")
    loss.backward()
    grads = {name: w.grad.numpy() for name, w in weights.items()}
    return loss.item(), grads, {name: value.numpy() for name, value in stats.items()}


def predict(params: dict, X, bn_stats=None, **mistake) -> np.ndarray:
    """Scores in evaluation mode (``batch_stats_in_eval`` gives those of the usual mistake)."""
    with torch.no_grad():
        return _forward(_leaves(params), X, False, _stats_in(bn_stats), **mistake).numpy()


def loss_curve(params: dict, batches, lr: float, bn_stats=None, max_norm=None, *, lr_twice=False,
               accumulate=False, clip_each=False, clip_after=False) -> tuple[list[float], dict, dict]:
    """Mini-batch SGD on ``batches`` [(X, labels)] from ``params``: (losses, final params, final stats).

    The mistakes: ``lr_twice`` steps by lr**2 * grad, ``accumulate`` never resets the gradients (they
    add up across steps), ``clip_each`` clips every gradient by its own norm, ``clip_after`` clips
    after the update (so never)."""
    weights = _leaves(params)
    stats = _stats_in(bn_stats)
    losses = []
    for X, labels in batches:
        if not accumulate:
            for w in weights.values():
                w.grad = None
        scores = _forward(weights, X, True, stats)
        loss = torch.nn.functional.cross_entropy(scores, torch.as_tensor(np.asarray(labels), dtype=torch.long))
        loss.backward()
        grads = [w.grad.clone() for w in weights.values()]
        if max_norm is not None and not clip_after:
            if clip_each:
                grads = [g * min(1.0, max_norm / g.norm().item()) for g in grads]
            else:
                norm = torch.sqrt(sum((g**2).sum() for g in grads)).item()
                grads = [g * min(1.0, max_norm / norm) for g in grads]
        with torch.no_grad():
            for w, g in zip(weights.values(), grads, strict=True):
                w -= (lr * lr if lr_twice else lr) * g
        losses.append(loss.item())
    final = {name: w.detach().numpy().copy() for name, w in weights.items()}
    return losses, final, {name: value.numpy() for name, value in stats.items()}


def split(X, y, val_fraction, rng):
    """The split the exercise describes: (X_train, y_train, X_val, y_val)."""
    order = rng.permutation(len(X))
    n_val = int(round(val_fraction * len(X)))
    return X[order[n_val:]], y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]


def batches(X, y, batch_size, rng, *, shuffle=True):
    """The minibatches the exercise describes (``shuffle=False``: the usual mistake's)."""
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]


def history(params: dict, X_train, y_train, X_val, y_val, epochs, batch_size, lr, rng, bn_stats=None,
            max_norm=None, *, shuffle=True, leak=False, train_mode_accuracy=False) -> dict:
    """What train_network returns, computed here (the mistakes: no shuffling, validation data
    trained on, accuracy measured in training mode)."""
    current, stats = dict(params), dict(bn_stats or {})
    result = {"loss": [], "train_accuracy": [], "val_accuracy": []}
    X_fit = np.concatenate([X_train, X_val]) if leak else X_train
    y_fit = np.concatenate([y_train, y_val]) if leak else y_train
    for _ in range(epochs):
        epoch = batches(X_fit, y_fit, batch_size, rng, shuffle=shuffle)
        losses, current, stats = loss_curve(current, epoch, lr, stats, max_norm)
        result["loss"] += losses
        for X, y, key in ((X_train, y_train, "train_accuracy"), (X_val, y_val, "val_accuracy")):
            if train_mode_accuracy:
                with torch.no_grad():
                    scores = _forward(_leaves(current), X, True, _stats_in(stats)).numpy()
            else:
                scores = predict(current, X, stats)
            result[key].append(float(np.mean(scores.argmax(axis=1) == y)))
    return result


# --- the same model built from torch.nn, trained by torch.optim ----------------------------------


def torch_model(params: dict):
    """An nn.Sequential (float64) with the weights of ``params``: Linear, [BatchNorm1d,] ReLU, ..., Linear."""
    from torch import nn

    modules = []
    layers = depth(params)
    for layer in range(1, layers + 1):
        W = np.asarray(params[f"W{layer}"], dtype=np.float64)
        has_bias = f"b{layer}" in params
        linear = nn.Linear(W.shape[0], W.shape[1], bias=has_bias, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(_tensor(W.T))  # nn.Linear stores (out, in)
            if has_bias:
                linear.bias.copy_(_tensor(params[f"b{layer}"]))
        modules.append(linear)
        if layer < layers:
            if f"gamma{layer}" in params:
                # PyTorch's momentum is the weight of the new batch: 0.1 here.
                norm = nn.BatchNorm1d(W.shape[1], eps=EPS, momentum=1 - MOMENTUM, dtype=torch.float64)
                with torch.no_grad():
                    norm.weight.copy_(_tensor(params[f"gamma{layer}"]))
                    norm.bias.copy_(_tensor(params[f"beta{layer}"]))
                modules.append(norm)
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def torch_model_curve(params: dict, batches, lr: float, max_norm=None) -> list[float]:
    """The loss of every step of ``torch.optim.SGD`` on ``batches``, from the weights of ``params``.

    Clipping is the exact rule (scale by max_norm / norm when norm > max_norm):
    ``torch.nn.utils.clip_grad_norm_`` divides by norm + 1e-6 instead, a relative difference of 1e-6."""
    model = torch_model(params)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for X, labels in batches:
        optimizer.zero_grad()
        scores = model(_tensor(X))
        loss = torch.nn.functional.cross_entropy(scores, torch.as_tensor(np.asarray(labels), dtype=torch.long))
        loss.backward()
        if max_norm is not None:
            grads = [p.grad for p in model.parameters()]
            norm = torch.sqrt(sum((g**2).sum() for g in grads))
            if norm > max_norm:
                for g in grads:
                    g.mul_(max_norm / norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


# --- checks the test cells run -----------------------------------------------------------------

from .checks import check_close, check_shape, check_true, check_unchanged, reference_gradient  # noqa: E402

# The check helpers guard every call (they verify numpy is numpy's own): about 20 ms each with torch
# watched. These wrappers compare first and call a helper only to report a failure, so a passing test
# costs two guarded calls (see _guarded), and the known wrong answers (``mistakes``, a dict or a
# function returning one) are only computed when an answer is wrong.


def _guarded(check):
    @functools.wraps(check)
    def run(*args, **kwargs):
        check_true(True, "")  # refuses to check in a kernel whose numpy was replaced
        result = check(*args, **kwargs)
        check_true(True, "")  # ...or was replaced by the learner's code while the check ran
        return result

    return run


def _require(condition, message: str) -> None:
    if not condition:
        check_true(False, message)


def _close(actual, expected, what: str, *, rtol=1e-6, atol=1e-9, mistakes=None, hint=None) -> None:
    try:
        a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        if a.shape == e.shape and bool(np.all(np.abs(a - e) <= atol + rtol * np.abs(e))):
            return
    except (TypeError, ValueError):
        pass
    check_close(actual, expected, what, rtol=rtol, atol=atol, hint=hint,
                mistakes=mistakes() if callable(mistakes) else mistakes)


def _shape(actual, shape, what: str, *, hint=None) -> None:
    if np.shape(actual) != tuple(shape) or actual is None:
        check_shape(actual, shape, what, hint=hint)


def _unchanged(value, original, what: str, *, hint=None) -> None:
    try:
        if np.array_equal(np.asarray(value, dtype=np.float64), np.asarray(original, dtype=np.float64)):
            return
    except (TypeError, ValueError):
        pass
    check_unchanged(value, original, what, hint=hint)


def _with_ids(n: int, d: int, classes: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Data whose first column is the row's index, so that any subset says which rows it took."""
    X = rng.normal(size=(n, d))
    X[:, 0] = np.arange(n)
    return X, rng.integers(0, classes, size=n)


def _ids(X_part, what: str) -> np.ndarray:
    ids = np.asarray(X_part, dtype=float)[:, 0]
    _require(np.all(ids == np.round(ids)) and ids.min(initial=0) >= 0,
               f"{what} holds rows that are not rows of X: return rows of X itself, unchanged.")
    return ids.astype(int)


@_guarded
def check_split(train_val_split, n: int, d: int, val_fraction: float, seed: int, where: str) -> None:
    X, y = _with_ids(n, d, 5, np.random.default_rng(seed + 1))
    X_before, y_before = X.copy(), y.copy()
    result = train_val_split(X, y, val_fraction, np.random.default_rng(seed))
    _require(isinstance(result, tuple | list) and len(result) == 4,
               "train_val_split must return a tuple (X_train, y_train, X_val, y_val).")
    _unchanged(X, X_before, "X")
    _unchanged(y, y_before, "y")
    X_train, y_train, X_val, y_val = (np.asarray(part) for part in result)
    n_val = int(round(val_fraction * n))
    hint = f"round(val_fraction * N) = {n_val} examples go to validation, the other {n - n_val} to training"
    _require(X_train.ndim == 2 and X_val.ndim == 2, f"X_train and X_val must be 2-D arrays of rows of X {where}.")
    train_ids, val_ids = _ids(X_train, "X_train"), _ids(X_val, "X_val")
    both = sorted(set(train_ids) & set(val_ids))
    _require(not both, f"validation data leaks into training {where}: examples {both[:5]} are in both sets. "
               "Every example must be in exactly one of them.")
    _shape(X_val, (n_val, d), f"X_val {where}", hint=hint)
    _shape(X_train, (n - n_val, d), f"X_train {where}", hint=hint)
    _shape(y_val, (n_val,), f"y_val {where}", hint=hint)
    _shape(y_train, (n - n_val,), f"y_train {where}", hint=hint)
    _require(sorted(np.concatenate([train_ids, val_ids])) == list(range(n)),
               f"{where}: every example of X must be in the training or the validation set, exactly once.")
    _require(np.array_equal(y_train, y[train_ids]) and np.array_equal(y_val, y[val_ids]),
               f"{where}: the labels no longer match their images: shuffle X and y with the same permutation.")
    _require(not (np.array_equal(val_ids, np.arange(n_val)) or np.array_equal(val_ids, np.arange(n - n_val, n))),
               f"{where}: the split is not shuffled (the validation set is the first or last rows of X): "
               "data sets are often sorted, so draw a random order with rng.permutation(len(X)).")
    order = np.random.default_rng(seed).permutation(n)
    _close(val_ids, order[:n_val], f"the validation examples {where}", rtol=0, atol=0, mistakes={
        "the validation set is the FIRST round(val_fraction * N) entries of the permutation, not the last":
            order[n - n_val:],
    }, hint="draw the order with rng.permutation(len(X)) from the rng you are given (one call), the first "
            "round(val_fraction * N) entries of it are the validation set, the rest the training set")
    _close(train_ids, order[n_val:], f"the training examples {where}", rtol=0, atol=0,
                hint="the training set is the rest of the permutation, in its order")


@_guarded
def check_minibatches(minibatches, n: int, d: int, batch_size: int, seed: int, where: str) -> None:
    X, y = _with_ids(n, d, 4, np.random.default_rng(seed + 1))
    X_before, y_before = X.copy(), y.copy()
    rng = np.random.default_rng(seed)
    batches = list(minibatches(X, y, batch_size, rng))
    _unchanged(X, X_before, "X", hint="shuffle an index array (rng.permutation), not X itself in place")
    _unchanged(y, y_before, "y", hint="shuffle an index array (rng.permutation), not y itself in place")
    _require(all(isinstance(b, tuple | list) and len(b) == 2 for b in batches),
               "minibatches must give pairs (X_batch, y_batch).")
    count = -(-n // batch_size)
    sizes = [len(b[0]) for b in batches]
    expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    _require(sizes != expected_sizes[:-1] or n % batch_size == 0,
               f"{where}: the last, smaller batch is missing ({n} examples, batches of {batch_size}: the last holds "
               f"{n % batch_size}). Every example must be used once per epoch.")
    _require(sizes == expected_sizes,
               f"{where}: expected {count} batches of sizes {expected_sizes}, got sizes {sizes}.")
    ids = np.concatenate([_ids(b[0], "a batch") for b in batches])
    labels = np.concatenate([np.asarray(b[1]) for b in batches])
    _require(sorted(ids) == list(range(n)), f"{where}: every example must be in exactly one batch per epoch.")
    _require(np.array_equal(labels, y[ids]),
               f"{where}: the labels no longer match their images: index X and y with the same order.")
    _require(not np.array_equal(ids, np.arange(n)),
               f"{where}: the batches are not shuffled (no shuffling): they take the examples in the order of X. "
               "Draw a new order with rng.permutation(len(X)) at every call.")
    order = np.random.default_rng(seed).permutation(n)
    _close(ids, order, f"the order of the examples {where}", rtol=0, atol=0,
                hint="draw the order with one call rng.permutation(len(X)) of the rng you are given, and cut it "
                     "into consecutive batches")
    again = np.concatenate([_ids(b[0], "a batch") for b in minibatches(X, y, batch_size, rng)])
    _require(not np.array_equal(again, ids),
               f"{where}: a second call with the same rng gave the same order: every epoch must draw a new one "
               "from the rng it is given (do not re-seed it).")


def expected_keys(sizes, batchnorm: bool) -> list[str]:
    layers = len(sizes) - 1
    keys = []
    for layer in range(1, layers + 1):
        keys.append(f"W{layer}")
        keys += [f"gamma{layer}", f"beta{layer}"] if batchnorm and layer < layers else [f"b{layer}"]
    return keys


@_guarded
def check_init(init_network, sizes, seed: int, batchnorm: bool, where: str) -> None:
    params = init_network(list(sizes), np.random.default_rng(seed), batchnorm=batchnorm)
    _require(isinstance(params, dict), f"init_network must return a dict of arrays, got {type(params).__name__}.")
    keys = expected_keys(sizes, batchnorm)
    extra, missing = sorted(set(params) - set(keys)), sorted(set(keys) - set(params))
    if batchnorm and any(k.startswith("b") and not k.startswith("beta") for k in extra):
        _require(False, f"init_network {where}: with batch normalisation the hidden layers have no bias "
                   f"({extra} should not be there): batch normalisation subtracts the mean, which cancels a bias; "
                   "beta plays its role.")
    _require(not extra and not missing, f"init_network {where} must have exactly the keys {keys}; "
               f"missing {missing}, not expected {extra}.")
    rng = np.random.default_rng(seed)
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
    drawn = [rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)) for fan_in, fan_out in shapes]
    reverse_rng = np.random.default_rng(seed)
    reversed_draws = [reverse_rng.normal(0.0, np.sqrt(2.0 / i), size=(i, o)) for i, o in shapes[::-1]][::-1]
    for layer, W in enumerate(drawn, start=1):
        _close(params[f"W{layer}"], W, f"W{layer} {where}", rtol=1e-10, atol=1e-12, mistakes={
            "draw the weights first layer first (W1, then W2, ...) from the one rng": reversed_draws[layer - 1],
            "these are Xavier's weights; a ReLU network takes he_init's std sqrt(2 / fan_in)":
                W * np.sqrt(shapes[layer - 1][0] / (shapes[layer - 1][0] + shapes[layer - 1][1])),
        }, hint="W_l = he_init(fan_in, fan_out, rng) with the rng you are given, first layer first")
    for name in keys:
        if not name.startswith("W"):
            fan_out = params[f"W{name.lstrip('abegmt')}"].shape[1]
            start = np.ones(fan_out) if name.startswith("gamma") else np.zeros(fan_out)
            _close(params[name], start, f"{name} {where}", rtol=0, atol=0, mistakes={
                "gamma starts at 1 (batch normalisation starts as the plain standardisation)": np.zeros(fan_out),
            }, hint="biases and beta start at 0, gamma at 1")


def _copy(params: dict) -> dict:
    return {name: np.array(value, dtype=np.float64, copy=True) for name, value in params.items()}


def _fresh(array):
    """A copy for learner code: what it changes in place never reaches the values the test computes
    its expected answers from."""
    return np.array(array, copy=True)


@_guarded
def check_loss_and_grads(network_loss_and_grads, params: dict, X, labels, where: str, bn_stats=None) -> None:
    before, stats = _copy(params), None if bn_stats is None else _copy(bn_stats)
    result = network_loss_and_grads(params, _fresh(X), _fresh(labels), stats)
    _require(isinstance(result, tuple | list) and len(result) == 2,
               "network_loss_and_grads must return a tuple (loss, grads).")
    for name in before:
        _unchanged(params[name], before[name], f"params['{name}']")
    loss, grads = result
    ref_loss, ref_grads, ref_stats = loss_and_grads(before, X, labels, bn_stats)
    @functools.cache
    def variants():
        found = {
            "the loss is the MEAN of the cross-entropy over the batch, not its sum":
                loss_and_grads(before, X, labels, bn_stats, summed=True),
            "the last layer is affine: no ReLU after it (softmax_cross_entropy takes the raw scores)":
                loss_and_grads(before, X, labels, bn_stats, relu_last=True),
            "the gradient passes through the ReLUs unchanged: it must stop where z <= 0 (relu_backward)":
                loss_and_grads(before, X, labels, bn_stats, straight_relu=True),
        }
        if any(name.startswith("gamma") for name in before):
            found["in training mode batch normalisation uses the batch's mean and variance, not the running "
                  "ones"] = loss_and_grads(before, X, labels, bn_stats, running_in_train=True)
        return found

    _close(loss, ref_loss, f"the loss {where}", rtol=1e-7,
           mistakes=lambda: {text: v[0] for text, v in variants().items()})
    _require(isinstance(grads, dict) and sorted(grads) == sorted(before),
               f"grads must be a dict with the keys of params {sorted(before)}, got "
               f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}.")
    for name in before:
        _shape(grads[name], before[name].shape, f"grads['{name}'] {where}", hint="shaped like its parameter")
        _close(grads[name], ref_grads[name], f"grads['{name}'] {where}", rtol=1e-6, atol=1e-9,
               mistakes=lambda name=name: {text: v[1][name] for text, v in variants().items()})
    if stats is not None:
        _require(sorted(stats) == sorted(ref_stats),
                   f"after a training pass bn_stats must hold the running statistics {sorted(ref_stats)}, it holds "
                   f"{sorted(stats)}: update the dict you are given, in place.")
        for name, value in ref_stats.items():
            old = (bn_stats or {}).get(name, 0.0 if name.startswith("mean") else 1.0)
            batch = (value - MOMENTUM * old) / (1 - MOMENTUM)
            _close(stats[name], value, f"bn_stats['{name}'] {where}", rtol=1e-7, atol=1e-10, mistakes={
                "the running statistics move as running = 0.9 * running + 0.1 * batch (you swapped 0.9 and 0.1)":
                    (1 - MOMENTUM) * old + MOMENTUM * batch,
                "the running statistic must be averaged with the old one (0.9 * running + 0.1 * batch), "
                "not replaced by the batch's": batch,
            })


@_guarded
def check_gradients_pass_gradient_check(network_loss_and_grads, gradient_check, params: dict, X, labels,
                                        where: str) -> None:
    """The learner's own gradient_check, on every parameter of the learner's network."""
    for name in params:
        def loss(value, name=name):
            return network_loss_and_grads({**params, name: value}, X, labels)[0]

        def grad(value, name=name):
            return network_loss_and_grads({**params, name: value}, X, labels)[1][name]

        result = gradient_check(loss, grad, np.array(params[name], dtype=np.float64), tol=1e-6)
        _require(isinstance(result, tuple | list) and len(result) == 2,
                   "gradient_check must return (passed, rel_error).")
        passed, error = result
        _require(bool(passed) and float(error) < 1e-6,
                   f"your gradient_check says the gradient of {name} {where} is wrong (relative error "
                   f"{float(error):.2g}): your network's backward pass does not match its forward pass.")


@_guarded
def check_predict(network_predict, params: dict, X, where: str, bn_stats=None) -> None:
    stats = None if bn_stats is None else _copy(bn_stats)
    scores = network_predict(_copy(params), _fresh(X), stats)
    expected = predict(params, X, bn_stats)
    _shape(scores, expected.shape, f"network_predict(...) {where}", hint="one row of class scores per example")
    def mistakes():
        found = {"the scores are the last layer's raw output: no ReLU after it":
                 predict(params, X, bn_stats, relu_last=True)}
        if any(name.startswith("gamma") for name in params):
            found["in evaluation mode batch normalisation uses the running statistics bn_stats, not the batch "
                  "statistics (a prediction must not depend on the rest of the batch)"] = \
                predict(params, X, bn_stats, batch_stats_in_eval=True)
            found["evaluation mode still normalises: gamma * (z - running mean) / sqrt(running var + 1e-5) + "
                  "beta"] = predict(params, X, bn_stats, skip_batchnorm=True)
        return found

    _close(scores, expected, f"network_predict(...) {where}", rtol=1e-7, atol=1e-9, mistakes=mistakes)
    if stats is not None:
        for name, value in bn_stats.items():
            _unchanged(stats[name], value, f"bn_stats['{name}']",
                            hint="a prediction must not move the running statistics: only training does.")


@_guarded
def check_training_step(training_step, params: dict, batches, lr: float, where: str, bn_stats=None,
                        max_norm=None) -> None:
    current, stats = _copy(params), None if bn_stats is None else _copy(bn_stats)
    losses = []
    for X, labels in batches:
        loss = training_step(current, _fresh(X), _fresh(labels), lr, stats, max_norm)
        _require(np.ndim(loss) == 0 and loss is not None,
                   f"training_step must return the loss as a number, got {type(loss).__name__}.")
        losses.append(float(loss))
    expected, final, _ = loss_curve(params, batches, lr, bn_stats, max_norm)
    @functools.cache
    def mistakes():
        found = {
            "the learning rate is applied twice (the step is lr * lr * grad)":
                loss_curve(params, batches, lr, bn_stats, max_norm, lr_twice=True),
            "gradients from earlier steps leak in: they add up across steps instead of starting from zero at "
            "every step (a forgotten reset, like a missing zero_grad)":
                loss_curve(params, batches, lr, bn_stats, max_norm, accumulate=True),
        }
        if max_norm is not None:
            found["clip the norm over ALL gradients together (clip_by_global_norm), not each one separately"] = \
                loss_curve(params, batches, lr, bn_stats, max_norm, clip_each=True)
            found["the gradients are not clipped: clip them with clip_by_global_norm(..., max_norm) before the "
                  "update"] = loss_curve(params, batches, lr, bn_stats, max_norm, clip_after=True)
        return found

    _close(losses, expected, f"the losses of {len(batches)} training steps {where}", rtol=1e-7,
           mistakes=lambda: {text: v[0] for text, v in mistakes().items()},
           hint="return the loss computed before the update")
    for name in final:
        _close(current[name], final[name], f"params['{name}'] after {len(batches)} steps {where}", rtol=1e-7,
               atol=1e-10, mistakes=lambda name=name: {text: v[1][name] for text, v in mistakes().items()},
                    hint="update every parameter in the dict you are given: params[name] -= lr * grad")


@_guarded
def check_train_network(train_network, params: dict, data, epochs: int, batch_size: int, lr: float, seed: int,
                        where: str, bn_stats=None, max_norm=None) -> dict:
    X_train, y_train, X_val, y_val = data
    current, stats = _copy(params), None if bn_stats is None else _copy(bn_stats)
    result = train_network(current, *(_fresh(part) for part in data), epochs, batch_size, lr,
                           np.random.default_rng(seed), stats, max_norm)
    keys = ["loss", "train_accuracy", "val_accuracy"]
    _require(isinstance(result, dict) and all(k in result for k in keys),
               f"train_network must return a dict with the keys {keys}.")
    expected = history(params, X_train, y_train, X_val, y_val, epochs, batch_size, lr, np.random.default_rng(seed),
                       bn_stats, max_norm)

    def variant(**mistake):
        return history(params, X_train, y_train, X_val, y_val, epochs, batch_size, lr, np.random.default_rng(seed),
                       bn_stats, max_norm, **mistake)

    def mistakes():
        return {
            "validation data leaks into training: train on X_train only, the validation set is for measuring":
                variant(leak=True)["loss"],
            "no shuffling: every epoch must take its batches from minibatches(X_train, y_train, batch_size, rng)":
                variant(shuffle=False)["loss"],
        }

    steps = epochs * -(-len(X_train) // batch_size)
    _close(result["loss"], expected["loss"], f"the losses of train_network {where}", rtol=1e-7,
           mistakes=mistakes,
                hint=f"{epochs} epochs of {steps // epochs} steps: one training_step per batch of "
                     "minibatches(X_train, y_train, batch_size, rng), its loss appended")
    for key in ("train_accuracy", "val_accuracy"):
        _close(result[key], expected[key], f"{key} of train_network {where}", rtol=1e-9, mistakes=lambda key=key: {
            "measure accuracy in evaluation mode, with network_predict (batch normalisation must use the running "
            "statistics)": variant(train_mode_accuracy=True)[key],
            "the training and validation accuracies are swapped":
                expected["val_accuracy" if key == "train_accuracy" else "train_accuracy"],
        }, hint="after every epoch, the fraction of examples whose largest score is their label")
    return result


# --- the pieces brought from exercises 03, 04, 05 and 07 ------------------------------------------


@_guarded
def check_layers(affine_forward, affine_backward, relu_forward, relu_backward, rng, where: str) -> None:
    n, d, m = (int(v) for v in rng.integers(2, 7, size=3))
    x, w, b, dout = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m), rng.normal(size=(n, m))
    out, cache = affine_forward(x.copy(), w.copy(), b.copy())
    _close(out, x @ w + b, f"affine_forward(x, w, b) {where}", hint="out = x @ w + b")
    dx, dw, db = affine_backward(dout.copy(), cache)
    _close(dx, dout @ w.T, f"affine_backward's dx {where}", hint="dx = dout @ w.T, shaped like x")
    _close(dw, x.T @ dout, f"affine_backward's dw {where}", hint="dw = x.T @ dout, shaped like w", mistakes={
        "do not divide dw by N: the 1/N of the loss is already inside dout": x.T @ dout / n})
    _close(db, dout.sum(axis=0), f"affine_backward's db {where}", mistakes={
        "db sums dout over the batch axis (axis 0), it does not average it": dout.mean(axis=0)})
    z = np.round(rng.normal(size=(n, m)), 1)
    z[0, 0] = 0.0
    out, cache = relu_forward(z.copy())
    _close(out, np.maximum(z, 0.0), f"relu_forward(z) {where}")
    _close(relu_backward(dout.copy(), cache), dout * (z > 0), f"relu_backward(dout, cache) {where}", mistakes={
        "at exactly z = 0 the ReLU's derivative counts as 0: gate with z > 0, not z >= 0": dout * (z >= 0),
        "relu_backward multiplies dout by the gate (1 where z > 0), not by the ReLU's output":
            dout * np.maximum(z, 0.0)})


@_guarded
def check_softmax_cross_entropy(softmax_cross_entropy, rng, where: str) -> None:
    n, c = int(rng.integers(3, 8)), int(rng.integers(3, 6))
    logits = rng.normal(0.0, 3.0, size=(n, c))
    logits[0] *= 400  # scores of hundreds: exp overflows without the shift by the row's maximum
    labels = rng.integers(0, c, size=n)
    scores = _tensor(logits).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(scores, torch.as_tensor(labels))
    loss.backward()
    got_loss, got_grad = softmax_cross_entropy(logits.copy(), labels)
    _close(got_loss, loss.item(), f"the loss of softmax_cross_entropy {where}", rtol=1e-7, mistakes={
        "the loss is the MEAN over the batch, not the sum": loss.item() * n})
    _close(got_grad, scores.grad.numpy(), f"dlogits of softmax_cross_entropy {where}", rtol=1e-7, atol=1e-12,
                mistakes={"dlogits carries the 1/N of the mean: (softmax - one_hot) / N": scores.grad.numpy() * n})


@_guarded
def check_gradient_tools(numerical_gradient, relative_error, gradient_check, rng, where: str) -> None:
    x = rng.uniform(-1.5, 1.5, size=tuple(int(s) for s in rng.integers(2, 4, size=2)))
    before = x.copy()

    def f(z):
        return float(np.sum(z * np.sin(z)))

    def grad_f(z):
        return np.sin(z) + z * np.cos(z)

    numeric = numerical_gradient(f, x)
    _unchanged(x, before, "x", hint="numerical_gradient must restore every entry it perturbs")
    _close(numeric, grad_f(before), f"numerical_gradient(f, x) {where}", rtol=1e-6, atol=1e-8)
    a, b = rng.normal(size=5), rng.normal(size=5)
    _close(relative_error(a.copy(), b.copy()), np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)),
                f"relative_error(a, b) {where}", hint="norm(a - b) / (norm(a) + norm(b))")
    _close(relative_error(np.zeros(3), np.zeros(3)), 0.0, "relative_error of two zero arrays")
    passed, error = gradient_check(f, grad_f, x)
    _require(bool(passed) and error < 1e-8, f"gradient_check must pass a correct gradient {where} "
               f"(got passed={passed}, rel_error={error:.2g}).")
    passed, error = gradient_check(f, lambda z: 2 * grad_f(z), x)
    _require(not passed, f"gradient_check must fail a gradient twice too large {where} (rel_error {error:.2g}).")


@_guarded
def check_step07_tools(he_init, clip_by_global_norm, batchnorm_forward, batchnorm_backward, rng, where: str) -> None:
    fan_in, fan_out = int(rng.integers(200, 400)), int(rng.integers(200, 400))
    W = he_init(fan_in, fan_out, np.random.default_rng(int(rng.integers(1000))))
    _shape(W, (fan_in, fan_out), f"he_init({fan_in}, {fan_out}, rng)")
    _close(np.std(W), np.sqrt(2 / fan_in), f"the standard deviation of he_init {where}", rtol=0.03,
                hint="he_init's std is sqrt(2 / fan_in)")
    grads = [rng.normal(0.0, 3.0, size=(3, 2)), rng.normal(0.0, 3.0, size=4)]
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    for max_norm in (0.5 * norm, 2.0 * norm):
        clipped = clip_by_global_norm([g.copy() for g in grads], max_norm)
        for i, g in enumerate(grads):
            _close(clipped[i], g * min(1.0, max_norm / norm), f"clip_by_global_norm(...)[{i}] {where}",
                        mistakes={"clip_by_global_norm uses the norm over ALL gradients together, not each one "
                                  "separately": g * min(1.0, max_norm / np.linalg.norm(g))})
    n, d = int(rng.integers(3, 8)), int(rng.integers(2, 5))
    x = rng.normal(0.0, 2.0, size=(n, d)) + rng.normal(0.0, 3.0, size=d)
    gamma, beta, dout = rng.uniform(0.5, 2.0, size=d), rng.normal(size=d), rng.normal(size=(n, d))

    def batchnorm(v, g=gamma, bt=beta, ddof=0):
        return g * (v - v.mean(axis=0)) / np.sqrt(v.var(axis=0, ddof=ddof) + 1e-5) + bt

    out, cache = batchnorm_forward(x.copy(), gamma.copy(), beta.copy())
    _close(out, batchnorm(x), f"batchnorm_forward {where}", rtol=1e-7, mistakes={
        "the variance of the batch divides by N, not N - 1": batchnorm(x, ddof=1)})
    dx, dgamma, dbeta = batchnorm_backward(dout.copy(), cache)
    _close(dx, reference_gradient(lambda v: np.sum(dout * batchnorm(v)), x), f"batchnorm_backward's dx {where}",
                rtol=1e-5, atol=1e-7)
    _close(dgamma, reference_gradient(lambda g: np.sum(dout * batchnorm(x, g)), gamma),
                f"batchnorm_backward's dgamma {where}", rtol=1e-5, atol=1e-7)
    _close(dbeta, dout.sum(axis=0), f"batchnorm_backward's dbeta {where}", rtol=1e-7)
