"""Drawing computational graphs with matplotlib, and stepping through their backward pass.

Lesson 02 draws every graph with matplotlib alone: no graphviz, no system package, so it works
on a fresh machine and on Binder. The layout is a simple layered one (inputs on the left, the
output on the right, each node one column right of its deepest input), with a few sweeps of
the barycentre heuristic to keep edges from crossing.

* :func:`draw_graph` draws a graph with ``data`` and ``grad`` on every node.
* :class:`BackwardStepper` is a widget that replays the backward pass one node at a time:
  the visit order, the gradient arriving at the current node's children, and accumulation on a
  shared node. A learner can type their own program into it. Tests drive it without a browser::

      stepper = BackwardStepper("x = 2; y = -1; z = x*y + x")
      stepper.next_button.click()
      stepper.step_slider.value    # 1
      stepper.grads()              # {"x": ..., "y": ..., "z": ...} at this step
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .graph_engine import BackwardStep, Value, backward_steps, build_graph, topological_order, users
from .lab import Lab

BOX_WIDTH, BOX_HEIGHT = 0.74, 0.62  # in layout units: one row per node
COLUMN_SPACING = 1.3  # layout units from one layer to the next
INCHES_PER_UNIT, MAX_WIDTH = 1.5, 16.0
COLOURS = {
    "input": "#dbe9f6",
    "constant": "#eeeeee",
    "operation": "#fff8e1",
    "current": "#ffb74d",
    "receiving": "#c8e6c9",
    "accumulating": "#ef9a9a",
}
DEFAULT_PROGRAM = "x = 2.0; w = -3.0; b = 6.5\nn = x*w + b\ny = tanh(n) * x"


# --- layout ---------------------------------------------------------------------------


def node_layers(root: Value) -> dict[Value, int]:
    """Column of each node: one right of its deepest input; leaves sit just left of their first user."""
    nodes = topological_order(root)
    layer: dict[Value, int] = {}
    for node in nodes:
        layer[node] = 1 + max((layer[child] for child in node.children), default=-1)
    used_by = users(root)
    for node in nodes:
        if not node.children and used_by[id(node)]:
            layer[node] = min(layer[user] for user in used_by[id(node)]) - 1
    lowest = min(layer.values())
    return {node: column - lowest for node, column in layer.items()}


class _Bend:
    """A waypoint of an edge that spans several layers: it takes a row in each layer it crosses."""


@dataclass
class Layout:
    """Where each node sits, and the waypoints each edge (child id, parent id) runs through."""

    positions: dict[Value, tuple[float, float]]
    routes: dict[tuple[int, int], list[tuple[float, float]]]


def layered_layout(root: Value, sweeps: int = 6) -> Layout:
    """A layered (Sugiyama-style) layout: x is a node's layer, rows ordered to avoid crossings.

    An edge that spans several layers gets a waypoint in each layer between its ends, so it runs
    between the boxes instead of behind them; rows are then ordered by the barycentre of their
    neighbours, sweeping left to right and back a few times.
    """
    layer: dict[object, int] = dict(node_layers(root))
    columns: dict[int, list[object]] = defaultdict(list)
    for node in topological_order(root):
        columns[layer[node]].append(node)
    neighbours: dict[object, list[object]] = defaultdict(list)
    chains: dict[tuple[int, int], list[object]] = {}
    for node in topological_order(root):
        for child in dict.fromkeys(node.children):  # x * x: one drawn edge
            chain = [child]
            for column in range(layer[child] + 1, layer[node]):
                bend = _Bend()
                layer[bend] = column
                columns[column].append(bend)
                chain.append(bend)
            chain.append(node)
            for a, b in zip(chain, chain[1:], strict=False):
                neighbours[a].append(b)
                neighbours[b].append(a)
            chains[(id(child), id(node))] = chain
    row = {item: float(i) for items in columns.values() for i, item in enumerate(items)}

    def barycentre(item: object) -> float:
        return sum(row[m] for m in neighbours[item]) / len(neighbours[item]) if neighbours[item] else row[item]

    for sweep in range(sweeps):
        for column in sorted(columns, reverse=sweep % 2 == 1):
            columns[column].sort(key=barycentre)
            for i, item in enumerate(columns[column]):
                row[item] = float(i)
    xy = {item: (COLUMN_SPACING * layer[item], (len(columns[layer[item]]) - 1) / 2 - row[item]) for item in layer}
    positions = {node: xy[node] for node in layer if isinstance(node, Value)}
    routes = {edge: [xy[item] for item in chain] for edge, chain in chains.items()}
    _spread_arrivals(routes)
    return Layout(positions, routes)


def _spread_arrivals(routes: dict[tuple[int, int], list[tuple[float, float]]], gap: float = 0.14) -> None:
    """Let the arrows into one box arrive at different heights, top input at the top."""
    into: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for edge in routes:
        into[edge[1]].append(edge)
    for edges in into.values():
        edges.sort(key=lambda edge: -routes[edge][-2][1])
        for i, edge in enumerate(edges):
            x, y = routes[edge][-1]
            routes[edge][-1] = (x, y + ((len(edges) - 1) / 2 - i) * gap)


# --- drawing --------------------------------------------------------------------------


def node_names(root: Value) -> dict[Value, str]:
    """A short name per node: its label, or v1, v2, ... for unlabelled operations (inputs first)."""
    names, count = {}, 0
    for node in topological_order(root):
        if not node.label and node.children:
            count += 1
        names[node] = node.label or (f"v{count}" if node.children else node.name)
    return names


def node_text(node: Value, name: str, grad: float | None) -> str:
    """The label drawn on a node: its name and operation, its data and its grad (a dash: none yet)."""
    title = f"{name} = {node.op}" if node.op else name
    grad_text = "–" if grad is None else f"{grad:.4g}"
    return f"{title}\ndata {node.data:.4g}\ngrad {grad_text}"


def _fill(node: Value, root: Value) -> str:
    if node.children or node is root:
        return COLOURS["operation"]
    return COLOURS["input"] if node.label and not _is_number(node.label) else COLOURS["constant"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class Highlight:
    """What one backward step looks like: the visited node, who receives, who accumulates."""

    current: Value | None = None
    receiving: tuple[Value, ...] = ()
    accumulating: tuple[Value, ...] = ()
    edge_notes: dict[tuple[int, int], str] | None = None  # (child id, parent id) -> text


def draw_graph(
    root: Value,
    ax: plt.Axes | None = None,
    grads: dict[Value, float | None] | None = None,
    highlight: Highlight | None = None,
    title: str | None = None,
) -> plt.Axes:
    """Draw ``root``'s graph on ``ax``: one box per node with its data and grad, arrows input -> op.

    ``grads`` overrides the gradient shown per node (None shows a dash: not arrived yet); by
    default each node's ``.grad`` is shown. ``highlight`` colours one backward step.
    """
    layout = layered_layout(root)
    if ax is None:
        _, ax = plt.subplots(figsize=graph_figsize(layout))
    highlight = highlight or Highlight()
    ax.clear()
    ax.set_axis_off()
    ax.set_position([0.0, 0.0, 1.0, 1.0 - 0.3 / ax.figure.get_figheight()])  # all the room but the title's
    (left, right), (bottom, top) = _extent(layout)
    ax.set_xlim(left - BOX_WIDTH, right + BOX_WIDTH)
    ax.set_ylim(bottom - BOX_HEIGHT, top + BOX_HEIGHT)
    font_size = _font_size(ax)
    for (child_id, parent_id), route in layout.routes.items():
        note = (highlight.edge_notes or {}).get((child_id, parent_id))
        _draw_edge(ax, route, note)
    names = node_names(root)
    for index, node in enumerate(topological_order(root)):
        grad = node.grad if grads is None else grads.get(node)
        text = node_text(node, names[node], grad)
        style = _node_style(node, root, highlight)
        _draw_node(ax, text, layout.positions[node], style, font_size, gid=f"node-{index}")
    if title:
        ax.set_title(title, fontsize=9, loc="left", x=0.01)
    return ax


def _extent(layout: Layout) -> tuple[tuple[float, float], tuple[float, float]]:
    points = [*layout.positions.values(), *(p for route in layout.routes.values() for p in route)]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return (min(xs), max(xs)), (min(ys), max(ys))


def graph_figsize(layout: Layout) -> tuple[float, float]:
    """Figure size in inches: 1.5 in per layout unit across (room for 14 characters per box), at most 16 in."""
    (left, right), (bottom, top) = _extent(layout)
    width = INCHES_PER_UNIT * (right - left + 2 * BOX_WIDTH)
    height = 0.3 + 1.0 * (top - bottom + 2 * BOX_HEIGHT)
    return min(width, MAX_WIDTH), min(height, 12.0)


def _font_size(ax: plt.Axes) -> float:
    """8 pt when the figure has its natural size; smaller when a wide graph was squeezed."""
    left, right = ax.get_xlim()
    inches_per_unit = ax.figure.get_figwidth() * ax.get_position().width / (right - left)
    return min(8.0, max(4.5, 8.0 * inches_per_unit / INCHES_PER_UNIT))


def _node_style(node: Value, root: Value, highlight: Highlight) -> dict:
    if node is highlight.current:
        return {"facecolor": COLOURS["current"], "edgecolor": "black", "linewidth": 2.0}
    if node in highlight.accumulating:
        return {"facecolor": COLOURS["accumulating"], "edgecolor": "#b71c1c", "linewidth": 2.5}
    if node in highlight.receiving:
        return {"facecolor": COLOURS["receiving"], "edgecolor": "#1b5e20", "linewidth": 1.5}
    return {"facecolor": _fill(node, root), "edgecolor": "#555555", "linewidth": 1.0}


def _draw_node(ax: plt.Axes, text: str, xy: tuple[float, float], style: dict, font_size: float, gid: str) -> None:
    x, y = xy
    box = FancyBboxPatch(
        (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT, boxstyle="round,pad=0.02,rounding_size=0.08",
        **style,
    )
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", fontsize=font_size, family="monospace", gid=gid)


def _draw_edge(ax: plt.Axes, route: list[tuple[float, float]], note: str | None) -> None:
    """An arrow from the child's box to the parent's box, through the route's waypoints."""
    points = list(route)
    points[0] = (points[0][0] + BOX_WIDTH / 2, points[0][1])
    points[-1] = (points[-1][0] - BOX_WIDTH / 2, points[-1][1])
    colour, width = ("#c62828", 2.2) if note else ("#777777", 1.0)
    if len(points) > 2:
        ax.plot([x for x, _ in points[:-1]], [y for _, y in points[:-1]], color=colour, lw=width, zorder=0.5)
    tail, head = points[-2], points[-1]
    ax.add_patch(FancyArrowPatch(tail, head, arrowstyle="-|>", mutation_scale=10, color=colour, lw=width))
    if note:
        first, second = points[-2], points[-1]
        ax.text((first[0] + second[0]) / 2, (first[1] + second[1]) / 2, note, fontsize=7, color=colour,
                ha="center", va="center", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colour, "lw": 0.6})


def node_labels(ax: plt.Axes) -> list[str]:
    """The text drawn on each node of a graph drawn by :func:`draw_graph` (one per node)."""
    return [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("node-")]


# --- the backward stepper -------------------------------------------------------------


def describe_step(step_index: int, step: BackwardStep, names: dict[Value, str]) -> str:
    """What happens at one step of the backward pass, in words (HTML)."""
    name = html.escape(names[step.node])
    if step_index == 0:
        return f"<b>Seed.</b> d{name}/d{name} = 1: the output's gradient is 1."
    if not step.contributions:
        return f"<b>Visit {name}</b> (grad {step.upstream:.4g}): an input, nothing to pass on. Its gradient is final."
    lines = [f"<b>Visit {name}</b>: its gradient {step.upstream:.4g} is final (every user has passed theirs)."]
    for c in step.contributions:
        child = html.escape(names[c.child])
        line = (f"{child}.grad += {step.upstream:.4g} × {c.local:.4g} (local d{name}/d{child}) = "
                f"{c.before:.4g} + {c.amount:.4g} = <b>{c.after:.4g}</b>")
        if c.accumulates:
            line += " <span style='color:#b71c1c'>← accumulates: this node is used more than once</span>"
        lines.append(line)
    return "<br>".join(lines)


class BackwardStepper(Lab):
    """Replay the backward pass of a graph one node at a time.

    ``step_slider`` (0 = seed the output's gradient, then one step per visited node),
    ``prev_button``/``next_button`` move it; ``expression`` holds the program being drawn (type
    your own and press Enter). ``figure`` is redrawn at every step; ``status`` explains the step
    and ``order`` shows the visit order with the current node in bold. :meth:`plotted_data` gives
    the text on every node box as drawn now.
    """

    def __init__(self, program: str | Value = DEFAULT_PROGRAM) -> None:
        super().__init__(Figure())
        self.expression = widgets.Textarea(
            value=program if isinstance(program, str) else "", description="program",
            layout={"width": "95%", "height": "4.5em"}, continuous_update=False,
        )
        self.step_slider = widgets.IntSlider(value=0, min=0, max=0, description="step", continuous_update=True)
        self.prev_button = widgets.Button(description="◀ Prev", layout={"width": "6em"})
        self.next_button = widgets.Button(description="Next ▶", layout={"width": "6em"})
        self.order = widgets.HTML()
        self.ax = self.figure.subplots()
        self.prev_button.on_click(lambda _: self._move(-1))
        self.next_button.on_click(lambda _: self._move(+1))
        self.watch(self.step_slider)
        self.expression.observe(lambda _: self.load(self.expression.value), names="value")
        self.load(program)

    # --- state ---
    def load(self, program: str | Value) -> None:
        """Build the graph of ``program`` (text or a Value) and go back to step 0."""
        try:
            self.root = program if isinstance(program, Value) else build_graph(program)[0]
        except (SyntaxError, NameError, TypeError, ValueError, ZeroDivisionError, OverflowError) as error:
            self.status.value = f"<span style='color:#b00'>Cannot build this graph: {html.escape(str(error))}</span>"
            return
        self.steps = backward_steps(self.root)
        self.names = node_names(self.root)
        self.figure.set_size_inches(*graph_figsize(layered_layout(self.root)))
        # A program has a handful of steps: draw them all now, so that a move only swaps pictures.
        self._pictures: dict[int, bytes] = {}
        with self.step_slider.hold_trait_notifications():
            self.step_slider.max = len(self.steps) - 1
            self.step_slider.value = 0
        for index in reversed(range(len(self.steps))):
            self.step_slider.value = index
        self.update()

    def _move(self, delta: int) -> None:
        self.step_slider.value = min(max(self.step_slider.value + delta, 0), self.step_slider.max)

    @property
    def current_step(self) -> BackwardStep:
        return self.steps[self.step_slider.value]

    @property
    def highlighted(self) -> Value:
        """The node being visited at the current step."""
        return self.current_step.node

    def shown_grads(self) -> dict[Value, float | None]:
        """Each node's gradient after the current step; None where no gradient has arrived yet."""
        arrived = {id(self.root)}
        for step in self.steps[1 : self.step_slider.value + 1]:
            arrived.update(id(c.child) for c in step.contributions)
        return {node: (grad if id(node) in arrived else None) for node, grad in self.current_step.grads_after.items()}

    def grads(self) -> dict[Value, float]:
        """Each node's gradient after the current step (0.0 where none arrived yet)."""
        return dict(self.current_step.grads_after)

    # --- drawing ---
    def highlight(self) -> Highlight:
        step, index = self.current_step, self.step_slider.value
        if index == 0:
            return Highlight(current=step.node)
        notes: dict[tuple[int, int], str] = {}
        for c in step.contributions:  # x * x passes gradient twice along one drawn edge
            key = (id(c.child), id(step.node))
            notes[key] = f"{notes[key]} " if key in notes else ""
            notes[key] += f"{c.amount:+.3g}"
        return Highlight(
            current=step.node,
            receiving=tuple(c.child for c in step.contributions),
            accumulating=tuple(c.child for c in step.contributions if c.accumulates),
            edge_notes=notes,
        )

    def visit_order_html(self) -> str:
        names = ["seed"] + [html.escape(self.names[step.node]) for step in self.steps[1:]]
        current = self.step_slider.value
        mark = f"<b style='background:{COLOURS['current']}'>{{}}</b>"
        shown = [mark.format(n) if i == current else n for i, n in enumerate(names)]
        return "visit order: " + " → ".join(shown)

    def controls(self) -> list[widgets.Widget]:
        return [self.expression, self.prev_button, self.step_slider, self.next_button]

    def update(self) -> None:
        """Draw the current step; its picture was rendered when the program was loaded (the
        rendering is two thirds of a move's cost)."""
        index = self.step_slider.value
        self.draw()
        if index not in self._pictures:
            self._pictures[index] = self.render()
        self.image.value = self._pictures[index]

    def draw(self) -> None:
        index = self.step_slider.value
        draw_graph(self.root, self.ax, grads=self.shown_grads(), highlight=self.highlight(),
                   title=f"backward pass, step {index} of {len(self.steps) - 1}")
        self.order.value = self.visit_order_html()
        self.status.value = describe_step(index, self.current_step, self.names)

    def plotted_data(self) -> dict[str, list[str]]:
        """The text drawn on each node box (``labels``: name, data, grad), inputs first."""
        return {"labels": node_labels(self.ax)}

    def rows(self) -> list[widgets.Widget]:
        buttons = widgets.HBox([self.prev_button, self.step_slider, self.next_button])
        return [self.expression, buttons, self.order, self.status]
