"""Where each graded function's idea is taught: one table, graded function -> lesson section.

A failed test points the learner to the section that teaches what went wrong: a path with the
heading's anchor in the text report (``lessons/03_manual_backprop.ipynb#2.-Forward-pass``), a
link in JupyterLab, and the section of each of the class's common mistakes in the
instructor's report. JupyterLab gives every rendered heading the anchor ``#`` + its text with
spaces as ``-`` (:func:`anchor`); ``tests/test_lessons_links.py`` checks that every entry names a
real heading of a real lesson.
"""

from __future__ import annotations

import re
from pathlib import Path

from .course import REPO_ROOT

LESSONS_DIR = "lessons"

_CHAIN = "01_chain_rule"
_GRAPHS = "02_computational_graphs"
_MANUAL = "03_manual_backprop"
_ACTIVATIONS = "04_activation_derivatives"
_GRADCHECK = "05_gradient_checking"
_AUTOGRAD = "06_pytorch_autograd"
_VANISHING = "07_vanishing_gradients"
_CAPSTONE = "08_capstone"

_BACKWARD_03 = (_MANUAL, "4. Backward pass, one step at a time")
_LOCAL_02 = (_GRAPHS, "2. Local derivatives: each node knows only its own")
_INIT_07 = (_VANISHING, "3. Initialisation: keep the variance of every layer the same")
_CUSTOM_06 = (_AUTOGRAD, "8. Custom autograd Functions")
_FUSED_04 = (_ACTIVATIONS, "Why fusing is stable")
_NUMERICAL_05 = (_GRADCHECK, "1. Two ways to estimate a derivative")

#: assignment -> graded function -> (lesson, heading text as written in the lesson, without the #s).
SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    _CHAIN: {
        "compose_derivative": (_CHAIN, "2. The chain rule for one variable"),
        "dh_dx": (_CHAIN, "2. The chain rule for one variable"),
        "dz_dt": (_CHAIN, "4. Two paths: the multivariable chain rule"),
        "neuron_gradients": (_CHAIN, "5. A sigmoid neuron"),
        "least_squares_gradient": (_CHAIN, "6. Many inputs, many outputs: the Jacobian"),
    },
    _GRAPHS: {
        "Value": (_GRAPHS, "3. The backward pass, node by node"),
        "Value_mul": _LOCAL_02, "Value_sub_neg": _LOCAL_02, "Value_pow": _LOCAL_02, "Value_div": _LOCAL_02,
        "Value_exp": _LOCAL_02, "Value_tanh": _LOCAL_02, "Value_relu": _LOCAL_02, "Value_sigmoid": _LOCAL_02,
        "Value_reflected": _LOCAL_02,
        "MLP": (_GRAPHS, "5. A node used twice accumulates"),
        "train_mlp": (_GRAPHS, "3. The backward pass, node by node"),
    },
    _MANUAL: {
        "affine_forward": (_MANUAL, "2. Forward pass"),
        "affine_backward": _BACKWARD_03,
        "sigmoid_forward": (_MANUAL, "2. Forward pass"),
        "sigmoid_backward": _BACKWARD_03,
        "mse_loss": (_MANUAL, "Two conventions for squared error, and the factor 2"),
        "two_layer_loss_and_grads": _BACKWARD_03,
        "sgd_step": (_MANUAL, "6. The update, and the loss going down"),
        "mlp_loss_and_grads": (_MANUAL, "8. Any depth: the backpropagation recurrences, derived"),
        "train_xor": (_MANUAL, "7. Train XOR to convergence"),
        "relu_forward": (_ACTIVATIONS, "5. ReLU and leaky ReLU: a slope of 1, or of (almost) nothing"),
        "relu_backward": (_ACTIVATIONS, "5. ReLU and leaky ReLU: a slope of 1, or of (almost) nothing"),
        "softmax_loss": (_ACTIVATIONS, "Why fusing is stable"),
        "relu_net_loss_and_grads": (_MANUAL, "8. Any depth: the backpropagation recurrences, derived"),
    },
    _ACTIVATIONS: {
        "sigmoid_grad": (_ACTIVATIONS, "1. Six functions and their slopes"),
        "tanh_grad": (_ACTIVATIONS, "1. Six functions and their slopes"),
        "relu_grad": (_ACTIVATIONS, "5. ReLU and leaky ReLU: a slope of 1, or of (almost) nothing"),
        "leaky_relu_grad": (_ACTIVATIONS, "5. ReLU and leaky ReLU: a slope of 1, or of (almost) nothing"),
        "softmax": (_ACTIVATIONS, "6. Softmax, and the overflow that max-subtraction prevents"),
        "softmax_cross_entropy": _FUSED_04,
        "binary_cross_entropy": (_ACTIVATIONS, "The fused sigmoid + BCE gradient"),
        "softmax_backward": (_ACTIVATIONS, "6. Softmax, and the overflow that max-subtraction prevents"),
        "gelu_grad": (_ACTIVATIONS, "1. Six functions and their slopes"),
    },
    _GRADCHECK: {
        "numerical_gradient": _NUMERICAL_05,
        "relative_error": (_GRADCHECK, "4. The relative error, and why it is relative"),
        "gradient_check": (_GRADCHECK, "8. A checklist"),
        "tanh_net_grads": (_GRADCHECK, "6. The planted-bug hunt"),
        "sparse_gradient_check": (_GRADCHECK, "8. A checklist"),
    },
    _AUTOGRAD: {
        "Sigmoid": _CUSTOM_06, "Linear": _CUSTOM_06, "Softmax": _CUSTOM_06,
        "TwoLayerNet": (_AUTOGRAD, "7. `nn` and `optim`: the same loop, packaged"),
        "train_step": (_AUTOGRAD, "5. A manual SGD loop, and the same loop without `zero_grad`"),
        "autograd_two_layer_grads": (_AUTOGRAD, "9. A backward pass by hand and by autograd, to the last digit"),
        "hidden_gradient": (_AUTOGRAD, "3. What `backward()` computes"),
    },
    _VANISHING: {
        "xavier_init": _INIT_07, "he_init": _INIT_07, "gradient_profile": _INIT_07, "most_even_gain": _INIT_07,
        "layer_grad_norms": (_VANISHING, "7. The depth lab"),
        "residual_forward": (_VANISHING, "4. Residual connections: a gradient highway"),
        "residual_backward": (_VANISHING, "4. Residual connections: a gradient highway"),
        "clip_by_global_norm": (_VANISHING, "5. Exploding gradients and clipping"),
        "batchnorm_forward": (_VANISHING, "6. Batch normalisation, briefly"),
        "batchnorm_backward": (_VANISHING, "6. Batch normalisation, briefly"),
    },
    _CAPSTONE: {  # the pieces brought from earlier steps point to where they were taught
        "affine_forward": _BACKWARD_03,
        "softmax_cross_entropy": _FUSED_04,
        "numerical_gradient": _NUMERICAL_05,
        "he_init": _INIT_07,
        "train_val_split": (_CAPSTONE, "2. A validation set, and mini-batches"),
        "minibatches": (_CAPSTONE, "2. A validation set, and mini-batches"),
        "init_network": (_CAPSTONE, "4. Check the gradients, then train"),
        "network_loss_and_grads": (_CAPSTONE, "4. Check the gradients, then train"),
        "network_predict": (_CAPSTONE, "6. Batch normalisation has two modes"),
        "training_step": (_CAPSTONE, "4. Check the gradients, then train"),
        "train_network": (_CAPSTONE, "4. Check the gradients, then train"),
    },
}


def anchor(heading: str) -> str:
    """JupyterLab's anchor of a markdown heading: its rendered text, spaces as ``-``."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)  # inline code renders as its text
    text = re.sub(r"\*\*([^*]*)\*\*|\*([^*]*)\*", lambda m: m.group(1) or m.group(2), text)
    return text.strip().replace(" ", "-")


def function_of(assignment: str, test_id: str) -> str | None:
    """The graded function a test cell checks: the longest name with ``test_<name>`` as prefix."""
    names = [name for name in SECTIONS.get(assignment, {}) if test_id.startswith(f"test_{name}")]
    return max(names, key=len) if names else None


def section_of(assignment: str, test_id: str) -> str | None:
    """``lessons/NN_name.ipynb#Heading-anchor`` of the section that teaches what a test checks."""
    function = function_of(assignment, test_id)
    if function is None:
        return None
    lesson, heading = SECTIONS[assignment][function]
    return f"{LESSONS_DIR}/{lesson}.ipynb#{anchor(heading)}"


def heading_of(assignment: str, test_id: str) -> str | None:
    function = function_of(assignment, test_id)
    return SECTIONS[assignment][function][1] if function else None


def link_from(folder: Path, section: str) -> str | None:
    """``section`` as a link relative to ``folder`` (a notebook's), when that lesson is on this computer."""
    import os

    path, _, fragment = section.partition("#")
    lesson = REPO_ROOT / path
    if not lesson.is_file():
        return None
    return f"{os.path.relpath(lesson, folder)}#{fragment}"
