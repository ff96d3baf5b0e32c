"""The general diagnosis (autograder/diagnosis.py) and the explanation of uncaught exceptions
(autograder/explain.py), on their own: each pattern is found, and nothing is said when nothing
fits (seeded random wrong answers: the seeds are in the test ids)."""

from __future__ import annotations

import linecache

import numpy as np
import pytest

from autograder import checks
from autograder.diagnosis import PATTERNS, diagnose
from autograder.explain import should_explain

SEEDS = range(40)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n, d, m = (int(k) for k in rng.choice(np.arange(2, 9), size=3, replace=False))
    return rng, n, d, m


# --- each pattern is found ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_constant_factors_are_named(seed):
    rng, n, d, m = _case(seed)
    expected = rng.normal(size=(n, m))
    for factor, words in ((2.0, "factor 2 too many"), (0.5, "factor 2 (from the derivative of a square) is missing"),
                          (n, "1/N (the batch size) is missing"), (1 / n, "division by N")):
        found = diagnose(expected * factor, expected, {"batch_size": n})
        assert found is not None and found.key == "factor" and words in found.sentence, (seed, factor, found)


def test_a_factor_n_without_the_batch_size_is_not_guessed():
    expected = np.random.default_rng(0).normal(size=(5, 3))
    assert diagnose(expected * 5, expected) is None


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_sign_and_transpose(seed):
    rng, n, d, m = _case(seed)
    expected = rng.normal(size=(n, m))
    assert diagnose(-expected, expected).key == "sign"
    assert diagnose(expected.T, expected).key == "transpose"


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_sums_over_the_batch(seed):
    rng, n, d, m = _case(seed)
    dout = rng.normal(size=(n, m))
    context = {"terms": dout}
    assert diagnose(dout.sum(axis=1), dout.sum(axis=0), context).key == "wrong_axis"
    assert diagnose(dout.sum(), dout.sum(axis=0), context).key == "wrong_axis"
    assert diagnose(dout.mean(axis=0), dout.sum(axis=0), context).key == "mean_not_sum"
    row = diagnose(dout[1], dout.sum(axis=0), context)
    assert row.key == "one_row" and "row 1" in row.sentence


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_neighbouring_layers(seed):
    rng, n, d, m = _case(seed)
    grads = [rng.normal(size=(d, m)), rng.normal(size=(m, n)), rng.normal(size=(n, 1))]
    neighbours = {"layer 1's weight gradient": grads[0], "layer 3's weight gradient": grads[2]}
    by_value = diagnose(grads[0], grads[1], {"neighbours": neighbours})
    assert by_value.key == "neighbour_layer" and "layer 1's" in by_value.sentence
    by_shape = diagnose(rng.normal(size=(n, 1)), grads[1], {"neighbours": neighbours})
    assert by_shape.key == "neighbour_layer" and "shape of layer 3's" in by_shape.sentence


def test_a_shape_shared_by_several_neighbours_names_none():
    rng = np.random.default_rng(1)
    neighbours = {"layer 1": rng.normal(size=(3, 3)), "layer 3": rng.normal(size=(3, 3))}
    assert diagnose(rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), {"neighbours": neighbours}) is None


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_a_missing_path(seed):
    rng, n, d, m = _case(seed)
    x, W, dout = rng.normal(size=(n, d)), rng.normal(size=(d, d)), rng.normal(size=(n, d))
    branch = (dout * (x @ W > 0)) @ W.T
    paths = {"the identity (skip) path": dout, "the relu(x @ W) branch": branch}
    found = diagnose(branch, dout + branch, {"paths": paths})
    assert found.key == "missing_path" and "identity (skip) path" in found.sentence
    assert diagnose(dout, dout + branch, {"paths": paths}).key == "missing_path"


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_derivatives_at_the_wrong_place_and_missing(seed):
    rng, n, d, m = _case(seed)
    z, upstream = rng.normal(size=(n, m)), rng.normal(size=(n, m))
    a = _sigmoid(z)
    context = {"upstream": upstream, "local": a * (1 - a), "pre": z, "post": a,
               "derivative": lambda v: _sigmoid(v) * (1 - _sigmoid(v)), "output_form": lambda v: v * (1 - v)}
    expected = upstream * a * (1 - a)
    assert diagnose(upstream * _sigmoid(a) * (1 - _sigmoid(a)), expected, context).key == "derivative_at_output"
    assert diagnose(upstream * z * (1 - z), expected, context).key == "derivative_at_input"
    assert diagnose(upstream, expected, context).key == "missing_local_derivative"
    assert diagnose(a * (1 - a), expected, context).key == "missing_upstream"


def test_variants_of_a_compound_quantity():
    expected, slipped = np.array([0.3, 0.5, 0.9]), np.array([0.2, 0.5, 0.9])
    found = diagnose(slipped, expected, {"variants": {"derivative_at_output": slipped}})
    assert found.key == "derivative_at_output" and "wrong place" in found.sentence
    assert diagnose(slipped, expected, {"variants": {"unknown pattern": slipped}}) is None


def test_every_key_is_a_known_pattern():
    assert set(PATTERNS) >= {"factor", "sign", "transpose", "wrong_axis", "one_row", "neighbour_layer",
                             "missing_path", "derivative_at_output", "derivative_at_input",
                             "missing_local_derivative"}


# --- silent when nothing fits -----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_random_wrong_answers_get_no_diagnosis(seed):
    """Unrelated values, small perturbations, odd factors: none is claimed as a pattern."""
    rng, n, d, m = _case(seed)
    expected, dout = rng.normal(size=(n, m)), rng.normal(size=(n, m))
    z, upstream = rng.normal(size=(n, m)), rng.normal(size=(n, m))
    context = {
        "batch_size": n, "terms": rng.normal(size=(n, m)),
        "neighbours": {"layer 1": rng.normal(size=(d, m)), "layer 3": rng.normal(size=(m, d))},
        "paths": {"one": dout, "other": expected - dout},
        "upstream": upstream, "local": rng.uniform(size=(n, m)), "pre": z, "post": _sigmoid(z),
        "derivative": lambda v: _sigmoid(v) * (1 - _sigmoid(v)), "output_form": lambda v: v * (1 - v),
        "variants": {"missing_path": rng.normal(size=(n, m))},
    }
    wrong = [
        rng.normal(size=(n, m)),  # unrelated
        expected + rng.normal(scale=1e-3, size=(n, m)),  # almost right
        expected * (1.0 + rng.uniform(0.1, 0.9)),  # an odd factor
        expected * rng.uniform(0.5, 2.0, size=(n, m)),  # no constant factor
        np.abs(expected),  # some entries right, some flipped
        expected[::-1].copy(),  # rows in another order
        rng.normal(size=(m, n)),  # the transposed shape, unrelated values
        np.zeros((n, m)),
    ]
    for index, answer in enumerate(wrong):
        for given in ({}, context):
            assert diagnose(answer, expected, given) is None, (seed, index, bool(given))


def test_check_close_names_the_pattern_and_keys_the_mistake():
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    with pytest.raises(checks.Mistake) as raised:
        checks.check_close(-expected, expected, "dx")
    assert "opposite sign" in str(raised.value) and raised.value.key == "diagnosis:sign"
    with pytest.raises(checks.Mistake) as raised:
        checks.check_close(expected * 2, expected, "dx", mistakes={"you doubled it": expected * 2})
    assert raised.value.key == "you doubled it" and "constant factor" not in str(raised.value)
    with pytest.raises(checks.Mistake) as raised:
        checks.check_close(expected + 0.5, expected, "dx")
    assert raised.value.key is None and "expected" in str(raised.value)
    square = np.arange(1.0, 10.0).reshape(3, 3)
    with pytest.raises(checks.Mistake) as raised:
        checks.check_close(-square, square, "dx")
    assert "opposite sign" in str(raised.value) and "transposed" not in str(raised.value)  # same shape: no hint


# --- uncaught exceptions from learner code ----------------------------------------------

LEARNER = '''
import numpy as np

def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout @ w
    return dx, x.T @ dout, dout.sum(axis=0)

def backward_loop(weights, hs, delta):
    grads = []
    for i in reversed(range(len(weights))):
        grads.append(hs[i].T @ delta)
        delta = delta @ weights[i - 1].T
    return grads

def forward_loop(weights, x):
    for i in range(len(weights)):
        x = x @ weights[i + 1]
    return x

def add_bias(x, b):
    return x + b

def pick(values):
    return values[10]
'''


def _learner_functions():
    linecache.cache["<learner cell>"] = (len(LEARNER), None, LEARNER.splitlines(True), "<learner cell>")
    namespace: dict = {}
    exec(compile(LEARNER, "<learner cell>", "exec"), namespace)
    return namespace


def _raised(call, test_cell: str = "call()"):
    try:
        exec(compile(test_cell, "<test cell>", "exec"), {"call": call})
    except Exception as error:  # noqa: BLE001 - what a test cell would get
        # The engine's own frame (here this function's) is the grader's code, not a cell: drop it.
        return error.with_traceback(error.__traceback__.tb_next)
    raise AssertionError("no exception")


def test_a_matmul_that_does_not_fit_names_operands_shapes_and_the_fix():
    learner, rng = _learner_functions(), np.random.default_rng(0)
    x, w, b, dout = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(5, 4))
    error = _raised(lambda: learner["affine_backward"](dout, (x, w, b)))
    assert should_explain(error)
    sentence = checks.explain_uncaught(error)
    for words in ("in affine_backward", "`dout @ w`", "(5, 4)", "(3, 4)", "dx has the shape of x, (5, 3)",
                  "`dout @ w.T`"):
        assert words in sentence, sentence


def test_a_loop_using_the_next_layers_weights_is_called_off_by_one():
    learner, rng = _learner_functions(), np.random.default_rng(1)
    weights = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(2, 1))]
    hs = [rng.normal(size=(6, 3)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))]
    error = _raised(lambda: learner["backward_loop"](weights, hs, rng.normal(size=(6, 1))))
    sentence = checks.explain_uncaught(error)
    assert "off by one" in sentence and "weights[i - 1].T" in sentence, sentence
    too_far = checks.explain_uncaught(_raised(lambda: learner["forward_loop"](weights[:2], hs[0])))
    assert "weights[i + 1]" in too_far and "off by one" in too_far, too_far


def test_broadcasts_and_other_errors_are_told_in_a_sentence():
    learner = _learner_functions()
    sentence = checks.explain_uncaught(_raised(lambda: learner["add_bias"](np.ones((5, 4)), np.ones((4, 5)))))
    assert "do not broadcast" in sentence and "b.T would fit" in sentence
    other = _raised(lambda: learner["pick"]([1, 2]))
    told = checks.explain_uncaught(other)
    assert "index 10 of values, which has 2 entries" in told and "off by one" not in told, told


def test_errors_of_the_test_cell_itself_and_named_mistakes_are_left_alone():
    assert not should_explain(_raised(None, "[][1]"))  # raised in the test's own code
    assert not should_explain(_raised(lambda: checks.check_true(False, "no")))
    assert checks.explain_uncaught(ValueError("plain")) == "plain"  # no traceback at all


# --- in the engines, and in the learner's report ------------------------------------------


@pytest.mark.slow
def test_the_kernel_explains_an_uncaught_learner_error_as_the_in_process_engine_does():
    """A test cell's uncaught exception from learner code is a sentence in both engines, word for word."""
    import test_step_03_manual_backprop as step03
    from grading_support import grade_answers, solution_answers

    wrong = next(w for w in step03.WRONG_ANSWERS if "weights[i - 1]" in w.code)
    answers = {**solution_answers(step03.ASSIGNMENT), wrong.grade_id: wrong.code}
    in_process = grade_answers(step03.ASSIGNMENT, answers, only=wrong.grade_id)
    kernel = grade_answers(step03.ASSIGNMENT, answers, in_process=False, only=wrong.grade_id)
    assert [(r.grade_id, r.points, r.message) for r in kernel.results] == [
        (r.grade_id, r.points, r.message) for r in in_process.results]
    failed = [r.message for r in kernel.results if not r.passed]
    assert failed and all("your code failed in mlp_loss_and_grads" in m and "off by one" in m for m in failed)


def test_the_report_points_to_the_lesson_and_says_how_to_replay():
    from autograder import seeds
    from autograder.grading import Report, TestResult
    from autograder.selfcheck import format_report

    report = Report(notebook="/work/03_manual_backprop.ipynb", results=[
        TestResult("test_affine_backward_hidden", 0.0, 2.0, f"Mistake: db is wrong. {seeds.replay_hint(42)}"),
        TestResult("test_affine_forward", 1.0, 1.0)])
    text = format_report(report)
    assert "read: lessons/03_manual_backprop.ipynb#4.-Backward-pass,-one-step-at-a-time" in text
    assert "check_my_work('03_manual_backprop', seed=42)" in text and "--seed 42" in text
    assert text.count("read:") == 1  # a passing test needs no reading
