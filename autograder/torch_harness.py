"""Step 06's harness: runs in the learner's kernel and turns torch objects into data.

The judge (:mod:`autograder.judge`) runs step 06's test cells in the grader's process, where the
learner's classes and functions exist only as proxies. Torch objects cannot cross (a tensor's
graph, a module, an optimizer live in one process), so these functions do, in the kernel, what a
test would do with the learner's code: build tensors, modules and optimizers from arrays, call the
learner's ``autograd.Function``, module or function, and answer with **arrays, numbers and type
names**. The test cells compare those answers with values they compute themselves.

The set-up cell imports these functions; in the judge they are proxies for the kernel's (see
:meth:`autograder.judge.Judge.run_trusted`), as the learner's names are.

Nothing here is trusted. Learner code can replace any of these functions; what the replacement
answers is simply the learner's answer, checked like any other. This module holds no expected
value and makes no comparison.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: Marks this module's functions as the kernel's in the judge (autograder.judge).
RUNS_IN_KERNEL = True

#: The losses a test may ask for, by name.
LOSSES = {"MSELoss": nn.MSELoss, "BCELoss": nn.BCELoss, "CrossEntropyLoss": nn.CrossEntropyLoss}
#: The layers a test's network may have, by name.
LAYERS = {"Linear": nn.Linear, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "ReLU": nn.ReLU}


def as_data(value):
    """A tensor or a numpy array as a numpy array, None as None; anything else as None too (its
    type's name goes with it: :func:`type_name`)."""
    if type(value) is np.ndarray:
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    return None


def type_name(value) -> str:
    return type(value).__name__


def _tensor(array, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array), requires_grad=requires_grad)


def _arrays(model: nn.Module) -> dict:
    """The model's parameters as data (name: array)."""
    return {name: as_data(p) for name, p in model.named_parameters()}


def _holding(model: nn.Module, state: dict) -> nn.Module:
    """``model`` with its parameters set to ``state`` (name: array)."""
    model.load_state_dict({name: _tensor(value) for name, value in state.items()})
    return model


def run_function(function, inputs: list, grad_out) -> dict:
    """``function.apply`` on float64 tensors made from ``inputs``, then its backward called
    directly (through the output's graph node) with ``grad_out``.

    Answers ``output`` (an array), ``output_type`` and ``dtype``; then ``grads`` and
    ``grad_types``, one entry per gradient backward returned (an array, or None for what is not a
    tensor), and ``returned_tuple``. No graph node (an output that is not a tensor, or detached
    from its inputs): no gradients."""
    tensors = [_tensor(array, requires_grad=True) for array in inputs]
    output = function.apply(*tensors)
    answer = {"output": as_data(output), "output_type": type_name(output),
              "dtype": str(getattr(output, "dtype", "")), "grads": [], "grad_types": [], "returned_tuple": False}
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        return answer
    grads = output.grad_fn.apply(_tensor(grad_out))
    answer["returned_tuple"] = isinstance(grads, tuple)
    grads = grads if isinstance(grads, tuple) else (grads,)
    answer.update(grads=[as_data(grad) if isinstance(grad, torch.Tensor) else None for grad in grads],
                  grad_types=[type_name(grad) for grad in grads])
    return answer


def gradcheck(function, inputs: list) -> bool:
    """``torch.autograd.gradcheck`` of ``function.apply`` at float64 tensors made from ``inputs``."""
    tensors = tuple(_tensor(array, requires_grad=True) for array in inputs)
    return bool(torch.autograd.gradcheck(function.apply, tensors, raise_exception=False))


def _built(module_class, sizes: list, seed: int):
    torch.manual_seed(seed)
    return module_class(*sizes).double()


def module_parameters(module_class, sizes: list, seed: int) -> dict:
    """Build ``module_class(*sizes).double()`` after ``torch.manual_seed(seed)``.

    Answers ``init_error`` (the message of an AttributeError in ``__init__``, else None) and
    ``parameters`` (name: array)."""
    try:
        model = _built(module_class, sizes, seed)
    except AttributeError as error:
        return {"init_error": str(error), "parameters": {}}
    return {"init_error": None, "parameters": _arrays(model)}


def run_module(module_class, sizes: list, x, seed: int, sgd_steps: int = 0, target=None, lr: float = 0.1) -> dict:
    """The module built as :func:`module_parameters` builds it, run on ``x`` twice, then
    ``backward()`` of the output's sum.

    Answers ``output``, ``output_type`` and ``output_again``, and ``all_have_grads``. With
    ``sgd_steps``, also ``trained``: the parameters after that many steps of
    ``torch.optim.SGD(lr)`` on the MSE to ``target``."""
    model = _built(module_class, sizes, seed)
    x = _tensor(x)
    output = model(x)
    answer = {"output": as_data(output), "output_type": type_name(output), "output_again": as_data(model(x))}
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        answer["all_have_grads"] = False
        return answer
    output.sum().backward()
    answer["all_have_grads"] = all(p.grad is not None for p in model.parameters())
    if sgd_steps:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        target = _tensor(target)
        for _ in range(sgd_steps):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), target).backward()
            optimizer.step()
        answer["trained"] = _arrays(model)
    return answer


def sequential(layers: list, state: dict) -> nn.Sequential:
    """A float64 ``nn.Sequential`` of ``layers`` (``[["Linear", 3, 4], ["Tanh"], ...]``) holding
    the parameters ``state`` (name: array)."""
    return _holding(nn.Sequential(*(LAYERS[name](*sizes) for name, *sizes in layers)).double(), state)


def flat_parameters(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy()


def run_train_step(train_step, layers: list, state: dict, loss: str, X, y, lr: float, calls: int,
                   momentum: float = 0.0, grads: list | None = None) -> dict:
    """``calls`` calls of ``train_step(model, optimizer, loss_fn, X, y)`` on the network
    ``sequential(layers, state)`` with ``torch.optim.SGD(lr, momentum)``; ``grads`` (arrays) are
    put in the parameters' ``.grad`` first, as an earlier ``backward()`` would have.

    Answers ``losses`` (what each call returned, when it is a float, else None), ``loss_types``
    and ``parameters`` (all of them after the calls, flattened in ``model.parameters()`` order)."""
    model = sequential(layers, state)
    for parameter, grad in zip(model.parameters(), grads or [], strict=False):
        parameter.grad = _tensor(grad)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = [train_step(model, optimizer, LOSSES[loss](), _tensor(X), _tensor(y)) for _ in range(calls)]
    return {"losses": [value if type(value) is float else None for value in losses],
            "loss_types": [type_name(value) for value in losses], "parameters": flat_parameters(model)}


class TwoLayerTanh(nn.Module):
    """The tests' own two-layer network (not the learner's TwoLayerNet): fc2(tanh(fc1(x)))."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden).double(), nn.Linear(n_hidden, n_out).double()

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def two_layer_tanh(state: dict) -> TwoLayerTanh:
    """A :class:`TwoLayerTanh` holding the parameters ``state`` (its sizes read from them)."""
    n_hidden, n_in = np.shape(state["fc1.weight"])
    return _holding(TwoLayerTanh(n_in, n_hidden, np.shape(state["fc2.weight"])[0]), state)


def run_hidden_gradient(hidden_gradient, state: dict, loss: str, X, y, stale_grads: bool = False) -> dict:
    """``hidden_gradient(model, loss_fn, X, y)`` on ``two_layer_tanh(state)``; with
    ``stale_grads``, the parameters' ``.grad`` already holds the gradient of the outputs' sum.

    Answers ``dh`` (the numpy array returned, else None), ``dh_type`` (``"NoneType"`` also when
    the learner's code read a ``.grad`` that was None) and ``parameters`` (name: array, after)."""
    model = two_layer_tanh(state)
    X, y = _tensor(X), _tensor(y)
    if stale_grads:
        model(X).sum().backward()
    try:
        dh = hidden_gradient(model, LOSSES[loss](), X, y)
    except (AttributeError, TypeError) as error:
        if "NoneType" not in str(error):
            raise
        dh = None
    return {"dh": dh.copy() if type(dh) is np.ndarray else None, "dh_type": type_name(dh),
            "parameters": _arrays(model)}
