"""The autograd lab of lesson 06: step through ``loss.backward()`` and watch ``.grad`` fill in.

A small PyTorch network (``Linear(2, 3) -> tanh -> Linear(3, 1)``, float64, four XOR points)
has four parameters. ``loss.backward()`` writes their gradients in reverse order, last layer
first; the lab records each write (a post-accumulate-grad hook on every parameter) and lets
the learner step through them. Pressing "loss.backward()" again *without* "optimizer.zero_grad()"
adds a second copy of the same gradient: ``.grad`` accumulates, and the right panel shows every
parameter's ``.grad`` as a multiple of the gradient of one call.

In a lesson::

    from backprop_lab.autograd_lab import AutogradLab

    AutogradLab()

Testable without a browser: ``lab.backward_button.click()``, ``lab.zero_grad_button.click()``,
``lab.progress.value = k``; read :meth:`AutogradLab.plotted_data` and ``lab.status.value``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
from torch import nn

from . import mlp
from .lab import Lab
from .svgfig import SvgFigure

PARAMETERS = ("0.weight", "0.bias", "2.weight", "2.bias")


def small_network(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()


class AutogradLab(Lab):
    """Buttons for ``loss.backward()`` and ``optimizer.zero_grad()``, a slider through the last backward."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(SvgFigure(1000, 300))
        self.model = small_network(seed)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.X, self.y = torch.tensor(mlp.XOR_X), torch.tensor(mlp.XOR_Y)
        self.names = dict(self.model.named_parameters())
        self.one_call = self._one_call_gradients()
        #: .grad of every parameter (None before its first write) after each write of the last backward call.
        self.snapshots: list[dict[str, np.ndarray | None]] = []
        self.writes: list[str] = []  # the parameters in the order the last backward() wrote them
        self.calls = 0  # backward() calls since the last zero_grad()
        self.backward_button = widgets.Button(description="loss.backward()", button_style="primary")
        self.zero_grad_button = widgets.Button(description="optimizer.zero_grad()")
        self.progress = widgets.IntSlider(0, min=0, max=len(PARAMETERS), description="writes shown",
                                          continuous_update=False, style={"description_width": "initial"})
        self.backward_button.on_click(lambda _: self.backward())
        self.zero_grad_button.on_click(lambda _: self.zero_grad())
        self.watch(self.progress)
        self.panels = {}
        left = 60
        for name in PARAMETERS:
            shape = tuple(self.names[name].shape)
            rows, columns = shape if len(shape) == 2 else (1, shape[0])
            self.panels[name] = self.figure.panel(left, 40, 36 * columns, 36 * rows, title=name)
            self.panels[name].xticks, self.panels[name].yticks = [], []
            left += 36 * columns + 50
        self.ratio_axes = self.figure.panel(640, 40, 330, 200, title=".grad / gradient of one call",
                                            ylabel="multiple", xlabel="parameter")
        self.backward(initial=True)

    def controls(self) -> list[widgets.Widget]:
        return [self.backward_button, self.zero_grad_button, self.progress]

    def rows(self) -> list[widgets.Widget]:
        return [widgets.HBox([self.backward_button, self.zero_grad_button, self.progress]), self.status]

    def _one_call_gradients(self) -> dict[str, np.ndarray]:
        """What one backward() call adds, computed apart (torch.autograd.grad writes no .grad)."""
        loss = nn.functional.mse_loss(self.model(self.X), self.y)
        grads = torch.autograd.grad(loss, [self.names[name] for name in PARAMETERS])
        return {name: g.detach().numpy().copy() for name, g in zip(PARAMETERS, grads, strict=True)}

    def _grads_now(self) -> dict[str, np.ndarray | None]:
        return {name: None if p.grad is None else p.grad.detach().numpy().copy()
                for name, p in self.names.items()}

    def backward(self, initial: bool = False) -> None:
        """Run the forward pass and ``loss.backward()``, recording ``.grad`` after each parameter's write."""
        self.snapshots, self.writes = [self._grads_now()], []
        hooks = [p.register_post_accumulate_grad_hook(lambda p, name=name: self._record(name))
                 for name, p in self.names.items()]
        try:
            loss = nn.functional.mse_loss(self.model(self.X), self.y)
            loss.backward()
        finally:
            for hook in hooks:
                hook.remove()
        self.calls += 1
        self.loss = float(loss.detach())
        if self.progress.value == len(PARAMETERS) and not initial:
            self.update()  # the slider does not move: redraw here
        self.progress.value = len(PARAMETERS)
        if initial:
            self.update()

    def _record(self, name: str) -> None:
        self.writes.append(name)
        self.snapshots.append(self._grads_now())

    def zero_grad(self) -> None:
        """``optimizer.zero_grad()``: every .grad becomes None (PyTorch 2's default, set_to_none=True)."""
        self.optimizer.zero_grad()
        self.calls = 0
        self.snapshots, self.writes = [self._grads_now()], []
        self.update()

    def shown(self) -> dict[str, np.ndarray | None]:
        """.grad of every parameter as the lab shows it: after ``progress`` writes of the last backward."""
        step = min(self.progress.value, len(self.snapshots) - 1)
        return self.snapshots[step]

    def draw(self) -> None:
        grads = self.shown()
        scale = max(float(np.abs(g).max()) for g in self.one_call.values()) * max(self.calls, 1)
        for name, panel in self.panels.items():
            panel.series.clear()
            panel.texts.clear()
            g = grads[name]
            rows, columns = self.one_call[name].reshape(-1, self.one_call[name].shape[-1]).shape
            if g is None:
                panel.image("grad", np.full((rows, columns), np.nan), (0, columns, 0, rows), "RdBu_r", -1, 1,
                            bad=(235, 235, 235, 255))
                panel.text(0.5, 0.5, "None", size=11, colour="#666")
            else:
                grid = np.atleast_2d(g)
                panel.image("grad", grid[::-1], (0, columns, 0, rows), "RdBu_r", -scale, scale)
                for (row, col), value in np.ndenumerate(grid):
                    panel.text((col + 0.5) / columns, 1 - (row + 0.5) / rows, f"{value:.2f}", size=9,
                               colour="white" if abs(value) > 0.6 * scale else "black")
            panel.set_limits((0, columns), (0, rows))
            written = name in self.writes[: self.progress.value]
            panel.title_colour = "#1a7f37" if written else "black"
        ratios = self.multiples(grads)
        axes = self.ratio_axes
        axes.series.clear()
        axes.bars("multiple", np.arange(1, 5), np.nan_to_num(ratios), width=0.6, colour="C0")
        axes.set_limits((0.4, 4.6), (0, max(3.0, float(np.nanmax(ratios, initial=0)) + 0.5)))
        axes.xticks = [(i + 1, name) for i, name in enumerate(PARAMETERS)]
        axes.yticks = [(k, str(k)) for k in range(int(axes.ylim[1]) + 1)]
        self.status.value = self._sentence(grads)

    def multiples(self, grads: dict[str, np.ndarray | None]) -> np.ndarray:
        """Each parameter's .grad as a multiple of one call's gradient (0 for None)."""
        out = []
        for name in PARAMETERS:
            g, one = grads[name], self.one_call[name]
            out.append(0.0 if g is None else float(np.vdot(g, one) / np.vdot(one, one)))
        return np.array(out)

    def _sentence(self, grads) -> str:
        step = min(self.progress.value, len(self.writes))
        order = " → ".join(self.writes) if self.writes else "nothing yet"
        if self.calls == 0:
            return "After <code>optimizer.zero_grad()</code> every <code>.grad</code> is <code>None</code>."
        head = (f"backward() call {self.calls} since the last zero_grad(), showing {step} of {len(self.writes)} "
                f"writes (order: {order}). ")
        if self.calls > 1:
            return head + ("<b style='color:#cf222e'>.grad accumulates: this call brings it to "
                           f"{self.calls} × the gradient; call optimizer.zero_grad() before each backward()</b>")
        return head + "<b style='color:#1a7f37'>.grad holds exactly one gradient</b>"

    def plotted_data(self) -> dict[str, np.ndarray]:
        """Each parameter's .grad as shown (nan for None), and ``multiple``: .grad / one call's gradient."""
        data = {name: panel.series["grad"].style["values"][::-1] for name, panel in self.panels.items()}
        data["multiple"] = self.ratio_axes.series["multiple"].y
        return data
