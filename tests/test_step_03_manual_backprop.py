"""Step 03: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
)

ASSIGNMENT = "03_manual_backprop"

#: The shared beginnings and ends of some wrong answers below (each differs in the lines between).
SOFTMAX_LOSS_START = (
    "import numpy as np\n"
    "def softmax_loss(scores, labels):\n"
    "    n = scores.shape[0]\n"
    "    p = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
    "    p /= p.sum(axis=1, keepdims=True)\n"
)
RELU_NET_START = (
    "def relu_net_loss_and_grads(params, X, labels):\n"
    "    h_in, c1 = affine_forward(X, params['W1'], params['b1'])\n"
)
#: mlp_loss_and_grads written out by hand (no layer helpers): the loops that some wrong answers get wrong.
MLP_BY_HAND = (
    "import numpy as np\n"
    "def mlp_loss_and_grads(weights, biases, X, y):\n"
    "    acts = [X]\n"
    "    for W, b in zip(weights, biases):\n"
    "        acts.append(1 / (1 + np.exp(-(acts[-1] @ W + b))))\n"
    "    loss = np.mean((acts[-1] - y) ** 2)\n"
    "    delta = 2 * (acts[-1] - y) / y.size\n"
    "    dws, dbs = [], []\n"
    "    for i in reversed(range(len(weights))):\n"
    "        delta = delta * acts[i + 1] * (1 - acts[i + 1])\n"
    "        dws.insert(0, acts[i].T @ delta)\n"
    "        dbs.insert(0, delta.sum(axis=0))\n"
    "        delta = delta @ weights[i].T\n"
    "    return loss, dws, dbs\n"
)
RELU_NET_RETURN = "    return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}"
#: two_layer_loss_and_grads with dL/dy_pred written by hand: the line some wrong answers get wrong.
TWO_LAYER_BY_HAND = (
    "import numpy as np\n"
    "def two_layer_loss_and_grads(params, X, y):\n"
    "    z1, c1 = affine_forward(X, params['W1'], params['b1'])\n"
    "    h, s1 = sigmoid_forward(z1)\n"
    "    z2, c2 = affine_forward(h, params['W2'], params['b2'])\n"
    "    y_pred, s2 = sigmoid_forward(z2)\n"
    "    loss = np.mean((y_pred - y) ** 2)\n"
    "    dz2 = sigmoid_backward(2 * (y_pred - y) / y.size, s2)\n"
    "    dh, dW2, db2 = affine_backward(dz2, c2)\n"
    "    _, dW1, db1 = affine_backward(sigmoid_backward(dh, s1), c1)\n"
    "    return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}"
)

WRONG_ANSWERS = [
    WrongAnswer(
        "affine_forward",
        "def affine_forward(x, w, b):\n    return x @ w, (x, w, b)",
        "you forgot to add the bias b",
    ),
    WrongAnswer(
        "affine_forward",
        "def affine_forward(x, w, b):\n    out = x @ w + b\n    return out, out",
        "the cache must be the tuple (x, w, b)",
    ),
    WrongAnswer(
        "affine_forward",
        "def affine_forward(x, w, b):\n    return x @ w + b",
        "must return a tuple (out, cache)",
    ),
    WrongAnswer(
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w.T, dout.T @ x, dout.sum(axis=0)",
        "dw = x.T @ dout",
    ),
    WrongAnswer(
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w, x.T @ dout, dout.sum(axis=0)",
        "dx = dout @ w.T",
        also=("dw = x.T @ dout",),  # the test's reminder of both formulas when a product does not fit
    ),
    WrongAnswer(
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w.T, x.T @ dout, dout.sum(axis=1)",
        "db must sum dout over the batch axis (axis 0)",
    ),
    WrongAnswer(
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w.T, x.T @ dout, dout.mean(axis=0)",
        "it does not average it",
    ),
    WrongAnswer(
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n"
        "    return dout @ w.T, x.T @ dout / len(x), dout.sum(axis=0)",
        "do not divide dw by N",
    ),
    WrongAnswer(  # the bias gradient from one example instead of the whole batch
        "affine_backward",
        "def affine_backward(dout, cache):\n    x, w, b = cache\n    return dout @ w.T, x.T @ dout, dout[0]",
        "it takes one row where the sum over all rows (the batch) belongs",
        diagnosed=True,
    ),
    WrongAnswer(
        "sigmoid_forward",
        "import numpy as np\ndef sigmoid_forward(x):\n    out = 1 / (1 + np.exp(x))\n    return out, out",
        "mind the minus sign",
    ),
    WrongAnswer(
        "sigmoid_forward",
        "import numpy as np\ndef sigmoid_forward(x):\n    return 1 / (1 + np.exp(-x)), x",
        "the cache must hold the output out, not the input x",
    ),
    WrongAnswer(
        "sigmoid_forward",
        "import numpy as np\ndef sigmoid_forward(x):\n    out = 1 / (1 + np.exp(-x))\n    return out, out * (1 - out)",
        "not the slope out * (1 - out)",
    ),
    WrongAnswer(
        "sigmoid_backward",
        "import numpy as np\ndef sigmoid_backward(dout, cache):\n"
        "    s = 1 / (1 + np.exp(-cache))\n    return dout * s * (1 - s)",
        "the cache is the output out = sigmoid(x), not x",
    ),
    WrongAnswer(
        "sigmoid_backward",
        "def sigmoid_backward(dout, cache):\n    return cache * (1 - cache)",
        "by the upstream gradient dout",
    ),
    WrongAnswer(
        "sigmoid_backward",
        "def sigmoid_backward(dout, cache):\n    return dout * cache",
        "the sigmoid's local slope is out * (1 - out), not out",
    ),
    WrongAnswer(  # no listed mistake: the slope written as out * (out - 1)
        "sigmoid_backward",
        "def sigmoid_backward(dout, cache):\n    return dout * cache * (cache - 1)",
        "it has the opposite sign",
        diagnosed=True,
    ),
    WrongAnswer(
        "mse_loss",
        "import numpy as np\ndef mse_loss(y_pred, y):\n    return np.mean((y_pred - y) ** 2), 2 * (y_pred - y)",
        "the MSE gradient is 2 (y_pred - y) / N: divide by the number of elements",
    ),
    WrongAnswer(
        "mse_loss",
        "import numpy as np\ndef mse_loss(y_pred, y):\n"
        "    return np.mean((y_pred - y) ** 2), 2 * (y_pred - y) / len(y)",
        "not by the number of rows",
    ),
    WrongAnswer(
        "mse_loss",
        "import numpy as np\ndef mse_loss(y_pred, y):\n"
        "    return 0.5 * np.mean((y_pred - y) ** 2), (y_pred - y) / y.size",
        "has no factor 1/2",
    ),
    WrongAnswer(
        "two_layer_loss_and_grads",
        TWO_LAYER_BY_HAND.replace("2 * (y_pred - y) / y.size", "2 * (y_pred - y)"),
        "divide by the number of elements",
    ),
    WrongAnswer(
        "two_layer_loss_and_grads",
        "def two_layer_loss_and_grads(params, X, y):\n"
        "    z1, c1 = affine_forward(X, params['W1'], params['b1'])\n"
        "    h, s1 = sigmoid_forward(z1)\n"
        "    z2, c2 = affine_forward(h, params['W2'], params['b2'])\n"
        "    y_pred, s2 = sigmoid_forward(z2)\n"
        "    loss, dy = mse_loss(y_pred, y)\n"
        "    dh, dW2, db2 = affine_backward(dy, c2)\n"
        "    _, dW1, db1 = affine_backward(sigmoid_backward(dh, s1), c1)\n"
        "    return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}",
        "skipped the output sigmoid",
    ),
    WrongAnswer(
        "two_layer_loss_and_grads",
        "def two_layer_loss_and_grads(params, X, y):\n"
        "    z1, c1 = affine_forward(X, params['W1'], params['b1'])\n"
        "    h, s1 = sigmoid_forward(z1)\n"
        "    z2, c2 = affine_forward(h, params['W2'], params['b2'])\n"
        "    y_pred, s2 = sigmoid_forward(z2)\n"
        "    loss, dy = mse_loss(y_pred, y)\n"
        "    dh, dW2, db2 = affine_backward(sigmoid_backward(dy, z2), c2)\n"
        "    _, dW1, db1 = affine_backward(sigmoid_backward(dh, z1), c1)\n"
        "    return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}",
        "computed from its output, not from its input z",
    ),
    WrongAnswer(
        "sgd_step",
        "def sgd_step(params, grads, lr):\n    return {k: params[k] - lr * grads[k] for k in params}",
        "should update its argument in place and return None",
    ),
    WrongAnswer(
        "sgd_step",
        "def sgd_step(params, grads, lr):\n    params = {k: params[k] - lr * grads[k] for k in params}",
        "params did not change",
    ),
    WrongAnswer(
        "sgd_step",
        "def sgd_step(params, grads, lr):\n    for k in params:\n        params[k] += lr * grads[k]",
        "step against the gradient",
    ),
    WrongAnswer(
        "mlp_loss_and_grads",
        "import numpy as np\n"
        "def mlp_loss_and_grads(weights, biases, X, y):\n"
        "    caches, a = [], X\n"
        "    for w, b in zip(weights, biases, strict=True):\n"
        "        z, ca = affine_forward(a, w, b)\n"
        "        a, cs = sigmoid_forward(z)\n"
        "        caches.append((ca, cs))\n"
        "    loss, da = np.mean((a - y) ** 2), 2 * (a - y)\n"
        "    dws, dbs = [], []\n"
        "    for ca, cs in reversed(caches):\n"
        "        da, dw, db = affine_backward(sigmoid_backward(da, cs), ca)\n"
        "        dws.insert(0, dw)\n"
        "        dbs.insert(0, db)\n"
        "    return loss, dws, dbs",
        "divide by the number of elements",
    ),
    WrongAnswer(
        "mlp_loss_and_grads",
        "def mlp_loss_and_grads(weights, biases, X, y):\n"
        "    caches, a = [], X\n"
        "    for w, b in zip(weights, biases, strict=True):\n"
        "        z, ca = affine_forward(a, w, b)\n"
        "        a, cs = sigmoid_forward(z)\n"
        "        caches.append((ca, cs))\n"
        "    loss, da = mse_loss(a, y)\n"
        "    dws, dbs = [], []\n"
        "    for i, (ca, cs) in enumerate(reversed(caches)):\n"
        "        dz = da if i == 0 else sigmoid_backward(da, cs)\n"
        "        da, dw, db = affine_backward(dz, ca)\n"
        "        dws.insert(0, dw)\n"
        "        dbs.insert(0, db)\n"
        "    return loss, dws, dbs",
        "skipped the last layer's sigmoid",
    ),
    WrongAnswer(
        "mlp_loss_and_grads",
        # Forgets the first layer: a classic off-by-one in the backward loop.
        "def mlp_loss_and_grads(weights, biases, X, y):\n"
        "    caches, a = [], X\n"
        "    for w, b in zip(weights, biases, strict=True):\n"
        "        z, ca = affine_forward(a, w, b)\n"
        "        a, cs = sigmoid_forward(z)\n"
        "        caches.append((ca, cs))\n"
        "    loss, da = mse_loss(a, y)\n"
        "    dws, dbs = [], []\n"
        "    for ca, cs in reversed(caches[1:]):\n"
        "        da, dw, db = affine_backward(sigmoid_backward(da, cs), ca)\n"
        "        dws.insert(0, dw)\n"
        "        dbs.insert(0, db)\n"
        "    return loss, dws, dbs",
        "one gradient per layer",
    ),
    WrongAnswer(  # the loop sends delta back through the wrong layer's weights: a shape error, explained
        "mlp_loss_and_grads",
        MLP_BY_HAND.replace("delta = delta @ weights[i].T", "delta = delta @ weights[i - 1].T"),
        "the loop over layers uses a neighbouring layer's weights or activations",
    ),
    WrongAnswer(  # the weight gradient from the layer's output instead of its input
        "mlp_loss_and_grads",
        MLP_BY_HAND.replace("dws.insert(0, acts[i].T @ delta)", "dws.insert(0, acts[i + 1].T @ delta)"),
        "the loop uses a neighbouring layer's activations",
        diagnosed=True,
    ),
    WrongAnswer(
        "train_xor",
        "import numpy as np\n"
        "def train_xor(hidden=4, lr=1.0, epochs=5000, seed=0):\n"
        "    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])\n"
        "    y = np.array([[0.0], [1.0], [1.0], [0.0]])\n"
        "    rng = np.random.default_rng(seed)\n"
        "    params = {'W1': rng.normal(size=(2, hidden)), 'b1': np.zeros(hidden),\n"
        "              'W2': rng.normal(size=(hidden, 1)), 'b2': np.zeros(1)}\n"
        "    losses = []\n"
        "    for _ in range(epochs):\n"
        "        loss, grads = two_layer_loss_and_grads(params, X, y)\n"
        "        losses.append(loss)\n"
        "    return params, losses",
        "the loss did not go down",
    ),
    WrongAnswer(
        "train_xor",
        "import numpy as np\n"
        "def train_xor(hidden=4, lr=1.0, epochs=5000, seed=0):\n"
        "    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])\n"
        "    y = np.array([[0.0], [1.0], [1.0], [0.0]])\n"
        "    rng = np.random.default_rng(seed)\n"
        "    params = {'W1': rng.normal(size=(2, 4)), 'b1': np.zeros(4),\n"
        "              'W2': rng.normal(size=(4, 1)), 'b2': np.zeros(1)}\n"
        "    losses = []\n"
        "    for _ in range(epochs):\n"
        "        loss, grads = two_layer_loss_and_grads(params, X, y)\n"
        "        sgd_step(params, grads, lr)\n"
        "        losses.append(loss)\n"
        "    return params, losses",
        "build the network from the hidden argument",
    ),
    WrongAnswer(
        "train_xor",
        "import numpy as np\n"
        "def train_xor(hidden=4, lr=1.0, epochs=5000, seed=0):\n"
        "    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])\n"
        "    y = np.array([[0.0], [1.0], [1.0], [0.0]])\n"
        "    rng = np.random.default_rng(seed)\n"
        "    params = {'W1': rng.normal(size=(2, hidden)), 'b1': np.zeros(hidden),\n"
        "              'W2': rng.normal(size=(hidden, 1)), 'b2': np.zeros(1)}\n"
        "    losses = []\n"
        "    for _ in range(epochs):\n"
        "        loss, grads = two_layer_loss_and_grads(params, X, y)\n"
        "        sgd_step(params, grads, 1.0)\n"
        "        losses.append(loss)\n"
        "    return params, losses",
        "use the lr argument",
    ),
    WrongAnswer(
        "train_xor",
        "import numpy as np\n"
        "def train_xor(hidden=4, lr=1.0, epochs=5000, seed=0):\n"
        "    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])\n"
        "    y = np.array([[0.0], [1.0], [1.0], [0.0]])\n"
        "    rng = np.random.default_rng(0)\n"
        "    params = {'W1': rng.normal(size=(2, hidden)), 'b1': np.zeros(hidden),\n"
        "              'W2': rng.normal(size=(hidden, 1)), 'b2': np.zeros(1)}\n"
        "    losses = []\n"
        "    for _ in range(epochs):\n"
        "        loss, grads = two_layer_loss_and_grads(params, X, y)\n"
        "        sgd_step(params, grads, lr)\n"
        "        losses.append(loss)\n"
        "    return params, losses",
        "different seeds gave the same weights",
    ),

    # relu_forward
    WrongAnswer("relu_forward", "def relu_forward(x):\n    return x, x", "negative inputs must become 0"),
    WrongAnswer("relu_forward", "import numpy as np\ndef relu_forward(x):\n    return np.abs(x), x",
                "that is the absolute value"),
    WrongAnswer(
        "relu_forward",
        "def relu_forward(x):\n    x[x < 0] = 0\n    return x, x",
        "changed its input in place",
    ),
    WrongAnswer(
        "relu_forward",
        "import numpy as np\ndef relu_forward(x):\n    out = np.maximum(x, 0)\n    return out, out",
        "cache must be the input x",
    ),
    # relu_backward
    WrongAnswer("relu_backward", "def relu_backward(dout, cache):\n    return dout", "the gradient must be blocked"),
    WrongAnswer("relu_backward", "def relu_backward(dout, cache):\n    return dout * (cache >= 0)",
                "use x > 0, not x >= 0"),
    WrongAnswer(
        "relu_backward",
        "import numpy as np\ndef relu_backward(dout, cache):\n    return dout * np.maximum(cache, 0)",
        "that multiplies dout by relu(x)",
    ),
    WrongAnswer("relu_backward", "def relu_backward(dout, cache):\n    return (cache > 0).astype(float)",
                "that is the local derivative alone"),
    # softmax_loss
    WrongAnswer(
        "softmax_loss",
        SOFTMAX_LOSS_START
        + "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    p[np.arange(n), labels] -= 1\n"
        "    return loss, p",
        "missing 1/N",
    ),
    WrongAnswer(
        "softmax_loss",
        SOFTMAX_LOSS_START
        + "    loss = -np.log(p[np.arange(n), labels]).sum()\n"
        "    p[np.arange(n), labels] -= 1\n"
        "    return loss, p",
        "not the sum: divide by N",
    ),
    WrongAnswer(
        "softmax_loss",
        SOFTMAX_LOSS_START
        + "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    return loss, p / n",
        "subtract 1 at the true class",
    ),
    WrongAnswer(  # no max subtraction: exp overflows for large scores
        "softmax_loss",
        "import numpy as np\n"
        "def softmax_loss(scores, labels):\n"
        "    n = scores.shape[0]\n"
        "    p = np.exp(scores)\n"
        "    p = p / p.sum(axis=1, keepdims=True)\n"
        "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    d = p.copy()\n"
        "    d[np.arange(n), labels] -= 1\n"
        "    return loss, d / n",
        "subtract each row's maximum",
    ),
    # relu_net_loss_and_grads
    WrongAnswer(
        "relu_net_loss_and_grads",
        RELU_NET_START
        + "    h, _ = relu_forward(h_in)\n"
        "    scores, c2 = affine_forward(h, params['W2'], params['b2'])\n"
        "    loss, dscores = softmax_loss(scores, labels)\n"
        "    dh, dW2, db2 = affine_backward(dscores, c2)\n"
        "    _, dW1, db1 = affine_backward(dh, c1)\n"
        + RELU_NET_RETURN,
        "the ReLU's backward pass is missing",
    ),
    WrongAnswer(
        "relu_net_loss_and_grads",
        RELU_NET_START
        + "    h, r1 = relu_forward(h_in)\n"
        "    scores, c2 = affine_forward(h, params['W2'], params['b2'])\n"
        "    loss, dscores = softmax_loss(scores, labels)\n"
        "    dscores = dscores / X.shape[0]\n"
        "    dh, dW2, db2 = affine_backward(dscores, c2)\n"
        "    _, dW1, db1 = affine_backward(relu_backward(dh, r1), c1)\n"
        + RELU_NET_RETURN,
        "the 1/N of the mean is applied twice",
    ),
    WrongAnswer(
        "relu_net_loss_and_grads",
        RELU_NET_START
        + "    h, r1 = relu_forward(h_in)\n"
        "    scores, _ = affine_forward(h, params['W2'], params['b2'])\n"
        "    loss, dscores = softmax_loss(scores, labels)\n"
        "    dh, dW2, db2 = affine_backward(dscores, (h_in, params['W2'], params['b2']))\n"
        "    _, dW1, db1 = affine_backward(relu_backward(dh, r1), c1)\n"
        + RELU_NET_RETURN,
        "dW2 must use the ReLU's output",
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    WrongAnswer(  # the column convention W x + b: out comes out as (M, N)
        "affine_forward",
        "def affine_forward(x, w, b):\n    return w.T @ x.T + b[:, None], (x, w, b)",
        "it is the transpose of the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # sigmoid(x) = (1 + tanh(x / 2)) / 2, without the / 2
        "sigmoid_forward",
        "import numpy as np\ndef sigmoid_forward(x):\n    out = 1 + np.tanh(x / 2)\n    return out, out",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # the gradient built one output column at a time: (K, N) instead of (N, K)
        "mse_loss",
        "import numpy as np\ndef mse_loss(y_pred, y):\n"
        "    loss = np.mean((y_pred - y) ** 2)\n"
        "    dy_pred = np.array([2 * (y_pred[:, k] - y[:, k]) for k in range(y.shape[1])])\n"
        "    return loss, dy_pred / y.size",
        "it is the transpose of the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # dL/dy_pred written as 2 (y - y_pred) / N: every gradient flips sign
        "two_layer_loss_and_grads",
        TWO_LAYER_BY_HAND.replace("2 * (y_pred - y) / y.size", "2 * (y - y_pred) / y.size"),
        "it has the opposite sign",
        diagnosed=True,
    ),
    WrongAnswer(  # relu(x) = (x + |x|) / 2, without the / 2
        "relu_forward",
        "import numpy as np\ndef relu_forward(x):\n    return x + np.abs(x), x",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # the step (1 + sign(x)) / 2, without the / 2
        "relu_backward",
        "import numpy as np\ndef relu_backward(dout, cache):\n    return dout * (1 + np.sign(cache))",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # the gradient built one class at a time: (C, N) instead of (N, C)
        "softmax_loss",
        SOFTMAX_LOSS_START
        + "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    dscores = np.array([p[:, k] - (labels == k) for k in range(scores.shape[1])])\n"
        "    return loss, dscores / n",
        "it is the transpose of the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # written by hand, the softmax gradient as onehot - p: every gradient flips sign
        "relu_net_loss_and_grads",
        "import numpy as np\n"
        "def relu_net_loss_and_grads(params, X, labels):\n"
        "    pre = X @ params['W1'] + params['b1']\n"
        "    h = np.maximum(pre, 0)\n"
        "    s = h @ params['W2'] + params['b2']\n"
        "    p = np.exp(s - s.max(axis=1, keepdims=True))\n"
        "    p /= p.sum(axis=1, keepdims=True)\n"
        "    n = len(labels)\n"
        "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    dscores = (np.eye(s.shape[1])[labels] - p) / n\n"
        "    dpre = (dscores @ params['W2'].T) * (pre > 0)\n"
        "    return loss, {'W1': X.T @ dpre, 'b1': dpre.sum(axis=0), 'W2': h.T @ dscores,\n"
        "                  'b2': dscores.sum(axis=0)}",
        "it has the opposite sign",
        diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


# Written differently from the solution: einsum and np.dot instead of @, a tanh-form sigmoid,
# a closure-free forward/backward with explicit deltas, a recursive MLP, np.subtract(out=)
# for the update, a uniform initialisation and a numpy array of losses.
INDEPENDENT_ANSWERS = {
    "affine_forward": """
import numpy as np

def affine_forward(x, w, b):
    return np.einsum("nd,dm->nm", x, w) + b[np.newaxis, :], (x, w, b)
""",
    "affine_backward": """
import numpy as np

def affine_backward(dout, cache):
    x, w, _ = cache
    return np.dot(dout, w.T), np.einsum("nd,nm->dm", x, dout), np.add.reduce(dout, axis=0)
""",
    "sigmoid_forward": """
import numpy as np

def sigmoid_forward(x):
    s = 0.5 * (1.0 + np.tanh(0.5 * x))
    return s, s
""",
    "sigmoid_backward": """
def sigmoid_backward(dout, cache):
    return dout * (cache - cache**2)
""",
    "mse_loss": """
import numpy as np

def mse_loss(y_pred, y):
    residual = np.subtract(y_pred, y)
    count = np.prod(residual.shape)
    return float(np.sum(np.square(residual)) / count), residual * (2.0 / count)
""",
    "two_layer_loss_and_grads": """
import numpy as np

def two_layer_loss_and_grads(params, X, y):
    hidden = 1 / (1 + np.exp(-(X @ params["W1"] + params["b1"])))
    output = 1 / (1 + np.exp(-(hidden @ params["W2"] + params["b2"])))
    loss = np.square(output - y).mean()
    delta_out = (2 / y.size) * (output - y) * output * (1 - output)
    delta_hidden = (delta_out @ params["W2"].T) * hidden * (1 - hidden)
    return loss, {
        "W2": hidden.T @ delta_out, "b2": delta_out.sum(0),
        "W1": X.T @ delta_hidden, "b1": delta_hidden.sum(0),
    }
""",
    "sgd_step": """
import numpy as np

def sgd_step(params, grads, lr):
    for key, gradient in grads.items():
        np.subtract(params[key], lr * gradient, out=params[key])
""",
    "mlp_loss_and_grads": """
import numpy as np

def _layer(a, weights, biases, y):
    # Returns (loss, dL/da, dweights, dbiases) for the layers from here on.
    if not weights:
        return np.mean((a - y) ** 2), 2 * (a - y) / y.size, [], []
    out = 1 / (1 + np.exp(-(a @ weights[0] + biases[0])))
    loss, dout, dws, dbs = _layer(out, weights[1:], biases[1:], y)
    dz = dout * out * (1 - out)
    return loss, dz @ weights[0].T, [a.T @ dz] + dws, [dz.sum(axis=0)] + dbs

def mlp_loss_and_grads(weights, biases, X, y):
    loss, _, dws, dbs = _layer(X, list(weights), list(biases), y)
    return loss, dws, dbs
""",
    "train_xor": """
import numpy as np

def train_xor(hidden=4, lr=1.0, epochs=5000, seed=0):
    inputs = np.array([[a, b] for a in (0.0, 1.0) for b in (0.0, 1.0)])
    targets = (inputs[:, :1] != inputs[:, 1:]).astype(float)
    generator = np.random.default_rng(seed)
    params = {
        "W1": generator.uniform(-2, 2, size=(2, hidden)), "b1": np.zeros(hidden),
        "W2": generator.uniform(-2, 2, size=(hidden, 1)), "b2": np.zeros(1),
    }
    history = np.empty(epochs)
    for epoch in range(epochs):
        history[epoch], grads = two_layer_loss_and_grads(params, inputs, targets)
        sgd_step(params, grads, lr)
    return params, history
""",
    "relu_forward": """
import numpy as np

def relu_forward(x):
    return np.where(x > 0, x, 0.0), x
""",
    "relu_backward": """
import numpy as np

def relu_backward(dout, cache):
    return np.where(np.greater(cache, 0), dout, 0.0)
""",
    "softmax_loss": """
import numpy as np

def softmax_loss(scores, labels):
    count = len(labels)
    top = scores.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
    picked = scores[np.arange(count), labels]
    loss = float(np.mean(log_norm - picked))
    onehot = np.zeros_like(scores)
    onehot[np.arange(count), labels] = 1.0
    return loss, (np.exp(scores - log_norm[:, None]) - onehot) / count
""",
    "relu_net_loss_and_grads": """
import numpy as np

def relu_net_loss_and_grads(params, X, labels):
    # written out in full, without the layer functions
    pre = np.dot(X, params["W1"]) + params["b1"]
    active = pre > 0
    hidden = pre * active
    scores = np.dot(hidden, params["W2"]) + params["b2"]
    loss, dscores = softmax_loss(scores, labels)
    dpre = np.dot(dscores, params["W2"].T) * active
    return loss, {"W2": np.einsum("nh,nc->hc", hidden, dscores), "b2": dscores.sum(axis=0),
                  "W1": np.einsum("nd,nh->dh", X, dpre), "b1": dpre.sum(axis=0)}
""",
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
