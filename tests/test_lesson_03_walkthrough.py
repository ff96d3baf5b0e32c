"""Lesson 03's worked example (a 2 -> 2 -> 1 sigmoid network on x = [0.5, 0.8], y = 1, one step
at lr 0.5): every number the learner reads in its table is recomputed here from scratch, in plain
Python with scalar loops (no numpy, none of the lesson's or the course's code), and every gradient
is also checked against a central difference of that loss."""

import ast
import math
import re

import nbformat
import pytest

from autograder import course

LESSON = course.REPO_ROOT / course.LESSONS_DIR / "03_manual_backprop.ipynb"
X, Y, LR = (0.5, 0.8), 1.0, 0.5
START = {"W1": ((0.1, 0.2), (0.3, 0.4)), "b1": (0.0, 0.0), "W2": (0.5, 0.6), "b2": 0.0}


def sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def forward(p):
    """Hidden unit j sums x_d * W1[d][j]; the output sums h_j * W2[j]. Returns every value."""
    z1 = [sum(X[d] * p["W1"][d][j] for d in range(2)) + p["b1"][j] for j in range(2)]
    h = [sig(v) for v in z1]
    z2 = sum(h[j] * p["W2"][j] for j in range(2)) + p["b2"]
    out = sig(z2)
    return {"z1": z1, "h": h, "z2": z2, "y_pred": out, "loss": (out - Y) ** 2}


def loss_at(p):
    return forward(p)["loss"]


def nudged(p, name, index, step):
    """A copy of p with one entry of one parameter moved by step (index: None, j or (d, j))."""
    q = {k: [list(r) if isinstance(r, tuple) else r for r in v] if isinstance(v, tuple) else v for k, v in p.items()}
    if index is None:
        q[name] += step
    elif isinstance(index, tuple):
        q[name][index[0]][index[1]] += step
    else:
        q[name][index] += step
    return q


def slope(p, name, index, h=1e-6):
    return (loss_at(nudged(p, name, index, h)) - loss_at(nudged(p, name, index, -h))) / (2 * h)


def expected_rows():
    f = forward(START)
    # the chain rule written out for one example, one scalar at a time
    dy = 2 * (f["y_pred"] - Y)
    dz2 = dy * f["y_pred"] * (1 - f["y_pred"])
    dW2 = [f["h"][j] * dz2 for j in range(2)]
    dh = [dz2 * START["W2"][j] for j in range(2)]
    dz1 = [dh[j] * f["h"][j] * (1 - f["h"][j]) for j in range(2)]
    dW1 = [[X[d] * dz1[j] for j in range(2)] for d in range(2)]
    after = {
        "W1": [[START["W1"][d][j] - LR * dW1[d][j] for j in range(2)] for d in range(2)],
        "b1": [START["b1"][j] - LR * dz1[j] for j in range(2)],
        "W2": [START["W2"][j] - LR * dW2[j] for j in range(2)],
        "b2": START["b2"] - LR * dz2,
    }
    return [
        f["z1"], f["h"], f["z2"], f["y_pred"], f["loss"], dy, dz2, dW2, dz2, dh, dz1, dW1, dz1,
        after["W1"], after["b1"], after["W2"], after["b2"], loss_at(after),
    ]


def flatten(value):
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in flatten(item)]
    return [float(value)]


def lesson_cell(cell_id):
    notebook = nbformat.read(LESSON, as_version=4)
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def printed_rows():
    """The value column of the lesson's table, as lists of numbers, in row order."""
    lines = lesson_cell("l03-walk-table").source.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| quantity", "|---"))]
    return [[float(n) for n in re.findall(r"-?\d+\.\d+", row.rsplit("|", 2)[1])] for row in rows]


def test_every_number_in_the_lesson_table_is_right_to_its_four_decimals():
    printed, expected = printed_rows(), expected_rows()
    assert len(printed) == len(expected) == 18
    for row, (shown, value) in enumerate(zip(printed, expected, strict=True)):
        exact = flatten(value)
        assert len(shown) == len(exact), f"row {row}: {shown}"
        for s, e in zip(shown, exact, strict=True):
            assert s == pytest.approx(round(e, 4), abs=1e-12), f"row {row}: the table says {s}, it is {e:.6f}"


def test_the_hand_derived_gradients_are_the_slopes_of_the_loss():
    expected = expected_rows()
    dz2, dW2, dz1, dW1 = expected[6], expected[7], expected[10], expected[11]
    assert slope(START, "b2", None) == pytest.approx(dz2, abs=1e-9)
    for j in range(2):
        assert slope(START, "W2", j) == pytest.approx(dW2[j], abs=1e-9)
        assert slope(START, "b1", j) == pytest.approx(dz1[j], abs=1e-9)
        for d in range(2):
            assert slope(START, "W1", (d, j)) == pytest.approx(dW1[d][j], abs=1e-9)
    assert expected[-1] < expected[4], "one step must lower the loss"


def test_the_lesson_checks_the_same_numbers_it_prints():
    source = lesson_cell("l03-walk-check").source
    table = ast.literal_eval(source[source.index("{"): source.index("}") + 1])
    assert [flatten(v) for v in table.values()] == printed_rows()
