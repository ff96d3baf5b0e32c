"""Every graded function has a wrong answer that only the general diagnosis names (issue 15).

A step's listed mistakes (``mistakes=`` in its test cells) name the slips the author foresaw;
:mod:`autograder.diagnosis` names the usual slips nobody listed. Each step's corpus holds, for
every graded function, at least one realistic wrong answer marked ``diagnosed=True``: no listed
mistake covers it, and the diagnosis must name it (``assert_loses_points_with_message`` checks
the words). This test checks that no graded function lacks one, except those below.
"""

import importlib

import pytest
from grading_support import solution_answers

from autograder import course

STEP_TESTS = {
    "01_chain_rule": "test_step_01_chain_rule",
    "02_computational_graphs": "test_step_02_computational_graphs",
    "03_manual_backprop": "test_step_03_manual_backprop",
    "04_activation_derivatives": "test_step_04_activation_derivatives",
    "05_gradient_checking": "test_step_05_gradient_checking",
    "06_pytorch_autograd": "test_step_06_pytorch_autograd",
    "07_vanishing_gradients": "test_step_07_vanishing_gradients",
    "08_capstone": "test_step_08_capstone",
}

#: Graded functions without such an answer, each with the reason. The diagnosis compares a
#: number with a number: a function whose answer is no computed array (a function, rows chosen
#: from the data, random draws, one of its arguments) or whose test checks a behaviour (a loss
#: that falls) gives it nothing to compare; and where every realistic slip it could name is
#: already a listed mistake, the listed words name it better, so no unlisted slip remains.
EXEMPT = {
    # a function that returns a function: the tests check what the returned function gives at
    # some points, and every realistic slip there is a listed mistake (f' at x, no inner factor)
    ("01_chain_rule", "compose_derivative"): "returns a function, not numbers",
    # 5 - x, 1 / x: the realistic slip is the operands swapped, whose value and whose slope's
    # sign the tests list; there is no other factor or sign to get wrong
    ("02_computational_graphs", "Value_reflected"): "its slips (operands swapped) are all listed",
    # the network's slips are structural (a tanh on the last layer, no bias, a parameter listed
    # twice or not at all): listed, or told by counting the parameters
    ("02_computational_graphs", "MLP"): "structural slips, listed or counted",
    ("02_computational_graphs", "train_mlp"): "a training run: tests check behaviour, not a value",
    # the step trains a network: its tests check that the loss falls and that the arguments
    # (hidden, lr, seed) are used, never one value a slip could turn into another
    ("03_manual_backprop", "train_xor"): "a training run: tests check behaviour, not a value",
    # an in-place update returning None: a slip (a + for a -) is a listed mistake, and a
    # factor on the step is a factor on lr, which the tests tell as a wrong update already
    ("03_manual_backprop", "sgd_step"): "updates its argument in place and returns None",
    # a mask of slopes (1 or 0, 1 or alpha): a slip changes which entries get which slope (z >= 0,
    # a forgotten alpha, np.sign: all listed), never the whole by a factor, a sign or an axis
    ("04_activation_derivatives", "relu_grad"): "a 0/1 mask: slips move entries, all listed",
    ("04_activation_derivatives", "leaky_relu_grad"): "a mask of 1 and alpha: slips move entries, all listed",
    # every factor and sign slip of dp (the 1/n, the sign, the logit's gradient (p - y) / n) is
    # listed; the rest of the step (clipping p at 0 and 1) is checked by behaviour, not by value
    ("04_activation_derivatives", "binary_cross_entropy"): "its factor and sign slips are all listed",
    # a module's structure (two nn.Linear layers, a tanh between): its slips (another activation,
    # one after the last layer, none) are all listed; none scales or flips the output
    ("06_pytorch_autograd", "TwoLayerNet"): "structural slips, all listed",
    # calls the optimizer it is given: the slips are in the order of zero_grad, backward and step
    # (listed: leaked gradients, parameters that did not move, the loss after the update)
    ("06_pytorch_autograd", "train_step"): "slips in the order of calls, all listed",
    # reads the gradient at h from the loss it is given: the slips are where it is read (before
    # the tanh) and what is differentiated (the outputs' sum): listed; a factor would need a
    # loss scaled by hand, which nobody writes when loss_fn is given
    ("06_pytorch_autograd", "hidden_gradient"): "slips in where the gradient is read, all listed",
    # the tests measure the standard deviation of random draws, within 3 %: the diagnosis names a
    # factor only when it fits exactly, which a sampled statistic never does
    ("07_vanishing_gradients", "xavier_init"): "checked by a sampled std, never an exact value",
    ("07_vanishing_gradients", "he_init"): "checked by a sampled std, never an exact value",
    # returns one element of the list it is given: a slip picks another element (the largest
    # spread, a ratio for a spread: told by check_true), not a transformed value
    ("07_vanishing_gradients", "most_even_gain"): "returns one of its arguments",
    # y = x + relu(x @ W): the realistic slips drop the identity, the relu or move it (all listed);
    # none of them scales, flips or transposes y as a whole
    ("07_vanishing_gradients", "residual_forward"): "its slips drop or move a path, all listed",
    # the slips are in the common scale (always applied, upside down, per array, 1 / norm: all
    # listed); any other scale is no usual factor of the right one
    ("07_vanishing_gradients", "clip_by_global_norm"): "its slips are in the scale, all listed",
    # out = gamma * x_hat + beta: a slip inside x_hat (N - 1, axis 1, eps outside: listed) is no
    # factor or sign of out, because beta shifts it
    ("07_vanishing_gradients", "batchnorm_forward"): "beta hides any factor or sign of x_hat; slips listed",
    # a permutation of the rows, a list of batches, a dict of random draws: the slips are which rows
    # go where (not shuffled, leaked, mismatched, the last batch lost) or which parameters exist,
    # told by the tests' own checks; no value there is a transformed right value
    ("08_capstone", "train_val_split"): "rows chosen, not values computed",
    ("08_capstone", "minibatches"): "rows chosen, not values computed",
    ("08_capstone", "init_network"): "random draws and parameter names",
    # the network composes the learner's own layers (each with its diagnosed slip above); the
    # composition's slips (a ReLU after the last layer, no ReLU backward, a summed loss, batch
    # statistics in the wrong mode, the running averages' weights) are all listed
    ("08_capstone", "network_loss_and_grads"): "composes the layers; its own slips are listed",
    ("08_capstone", "network_predict"): "composes the layers; its own slips are listed",
    # the update's slips (lr twice, leaked gradients, clipping per array or not at all) are listed,
    # and any other one changes every later loss in no fixed pattern
    ("08_capstone", "training_step"): "slips in the update, all listed",
    ("08_capstone", "train_network"): "a training run: tests check behaviour, not a value",
}


def _corpus(assignment: str):
    return importlib.import_module(STEP_TESTS[assignment]).WRONG_ANSWERS


def _graded(assignment: str) -> list[str]:
    return list(solution_answers(assignment))


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_every_graded_function_has_a_wrong_answer_only_the_diagnosis_names(assignment):
    diagnosed = {wrong.grade_id for wrong in _corpus(assignment) if wrong.diagnosed}
    lacking = [name for name in _graded(assignment)
               if name not in diagnosed and (assignment, name) not in EXEMPT]
    assert not lacking, f"{assignment}: no wrong answer marked diagnosed=True for {lacking}"


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_every_exemption_is_a_graded_function_without_a_diagnosed_answer(assignment):
    graded = set(_graded(assignment))
    diagnosed = {wrong.grade_id for wrong in _corpus(assignment) if wrong.diagnosed}
    exempt = {name for step, name in EXEMPT if step == assignment}
    assert exempt <= graded, f"{assignment}: exempts functions it does not grade: {sorted(exempt - graded)}"
    assert not exempt & diagnosed, f"{assignment}: {sorted(exempt & diagnosed)} have a diagnosed answer now"


def test_every_step_has_its_corpus_here():
    assert sorted(STEP_TESTS) == course.assignment_ids()
