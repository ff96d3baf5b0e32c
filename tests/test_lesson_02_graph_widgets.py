"""Lesson 02's graph drawing, backward stepper and engine, tested without a browser.

The stepper is driven through its widgets (buttons, slider, program box) and judged by what it
draws: the node labels and colours of its matplotlib figure. Gradients are checked against
central differences computed here, not against the engine that produced them.
"""

import re

import matplotlib
import pytest

matplotlib.use("Agg")

from backprop_lab.graph_engine import (  # noqa: E402
    Value,
    backward_steps,
    breadth_first_order,
    build_graph,
    edge_count,
    evaluate,
    final_grads,
    forward_mode_gradient,
    gradient_by_paths,
    input_values,
    numerical_derivative,
    reverse_mode_gradient,
    topological_order,
)
from backprop_lab.graphs import (  # noqa: E402
    COLOURS,
    BackwardStepper,
    draw_graph,
    layered_layout,
    node_labels,
    node_names,
)

SHARED = "x = 2.0; w = -3.0; b = 6.5\nn = x*w + b\ny = tanh(n) * x"  # x is used twice


def box_colour(ax, index: int) -> tuple[float, ...]:
    """Face colour of the box behind node label ``index`` (boxes are drawn before their labels)."""
    boxes = [p for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    return tuple(boxes[index].get_facecolor())


def node_index(root: Value, node: Value) -> int:
    return topological_order(root).index(node)


# --- drawing ----------------------------------------------------------------------------


def test_the_drawing_has_one_label_per_node_with_its_data_and_grad():
    out, _ = build_graph(SHARED)
    out.backward()
    ax = draw_graph(out)
    labels = node_labels(ax)
    nodes = topological_order(out)
    assert len(labels) == len(nodes) == 7  # x w * b n tanh y: one box for x although it is used twice
    names = node_names(out)
    for label, node in zip(labels, nodes, strict=True):
        assert label.startswith(names[node])
        assert f"data {node.data:.4g}" in label
        assert f"grad {node.grad:.4g}" in label


def test_the_layout_puts_every_input_left_of_its_user_and_no_two_nodes_in_one_place():
    out, _ = build_graph("a = 1.5; b = a*a; c = 2/b - exp(a) + 3*b; d = tanh(c) * a")
    layout = layered_layout(out)
    for node in topological_order(out):
        for child in node.children:
            assert layout.positions[child][0] < layout.positions[node][0]
    assert len(set(layout.positions.values())) == len(layout.positions)
    # an edge that skips layers runs through one waypoint per layer it crosses
    for route in layout.routes.values():
        xs = [x for x, _ in route]
        assert xs == sorted(xs) and len(route) >= 2


# --- the stepper ------------------------------------------------------------------------


def test_stepping_moves_the_highlight_and_redraws_the_figure():
    stepper = BackwardStepper(SHARED)
    seen_nodes, pictures, labels = [], [], []
    for _ in range(4):
        seen_nodes.append(stepper.highlighted)
        pictures.append(stepper.image.value)  # the PNG the lab shows
        labels.append(stepper.plotted_data()["labels"])
        stepper.next_button.click()
    assert stepper.step_slider.value == 4
    assert seen_nodes[0] is seen_nodes[1] is stepper.root  # seed, then visit the output
    assert seen_nodes[2] is not seen_nodes[1] and seen_nodes[3] is not seen_nodes[2]
    assert len(set(pictures)) == 4, "each step must change the drawing"
    assert labels[0] != labels[1], "visiting the output must deliver gradient to its inputs' labels"
    current = node_index(stepper.root, stepper.highlighted)
    assert box_colour(stepper.ax, current) == matplotlib.colors.to_rgba(COLOURS["current"])

    stepper.prev_button.click()
    stepper.prev_button.click()
    assert stepper.step_slider.value == 2
    assert stepper.highlighted is seen_nodes[2]
    assert stepper.image.value == pictures[2]


def test_the_buttons_stop_at_both_ends():
    stepper = BackwardStepper("a = 1.0; b = a * 2")
    stepper.prev_button.click()
    assert stepper.step_slider.value == 0
    for _ in range(20):
        stepper.next_button.click()
    assert stepper.step_slider.value == stepper.step_slider.max == len(backward_steps(stepper.root)) - 1


def test_the_visit_order_is_shown_with_the_current_node_marked():
    stepper = BackwardStepper(SHARED)
    stepper.step_slider.value = 3
    names = node_names(stepper.root)
    items = stepper.order.value.removeprefix("visit order: ").split(" → ")
    expected = ["seed"] + [names[node] for node in reversed(topological_order(stepper.root))]
    assert [re.sub("<[^>]+>", "", item) for item in items] == expected
    assert [i for i, item in enumerate(items) if item.startswith("<b")] == [3]
    assert items[3].endswith(f">{names[stepper.highlighted]}</b>")


def test_the_stepper_final_state_equals_the_gradients():
    stepper = BackwardStepper(SHARED)
    stepper.step_slider.value = stepper.step_slider.max
    out, nodes = build_graph(SHARED)
    out.backward()
    ours = dict(zip([node_names(stepper.root)[n] for n in topological_order(stepper.root)],
                    [stepper.grads()[n] for n in topological_order(stepper.root)], strict=True))
    engine = {node_names(out)[n]: n.grad for n in topological_order(out)}
    assert ours == pytest.approx(engine, rel=1e-12)
    for name in input_values(SHARED):  # and both agree with central differences
        assert ours[name] == pytest.approx(numerical_derivative(SHARED, name), rel=1e-6)
    for label, node in zip(node_labels(stepper.ax), topological_order(stepper.root), strict=True):
        assert f"grad {stepper.grads()[node]:.4g}" in label


def test_a_gradient_that_has_not_arrived_is_drawn_as_a_dash():
    stepper = BackwardStepper(SHARED)
    labels = node_labels(stepper.ax)
    root_index = node_index(stepper.root, stepper.root)
    assert "grad 1" in labels[root_index]
    assert all(label.endswith("grad –") for i, label in enumerate(labels) if i != root_index)


def test_a_shared_node_is_highlighted_when_its_gradient_accumulates():
    stepper = BackwardStepper(SHARED)
    x = next(node for node in topological_order(stepper.root) if node.label == "x")
    x_index = node_index(stepper.root, x)
    arrivals = [i for i, step in enumerate(stepper.steps) if any(c.child is x for c in step.contributions)]
    assert len(arrivals) == 2, "x is used twice, so it receives gradient twice"
    stepper.step_slider.value = arrivals[0]
    assert box_colour(stepper.ax, x_index) == matplotlib.colors.to_rgba(COLOURS["receiving"])
    assert "accumulates" not in stepper.status.value
    stepper.step_slider.value = arrivals[1]
    assert box_colour(stepper.ax, x_index) == matplotlib.colors.to_rgba(COLOURS["accumulating"])
    assert "accumulates" in stepper.status.value
    first, second = stepper.steps[arrivals[0]], stepper.steps[arrivals[1]]
    received = [c.amount for step in (first, second) for c in step.contributions if c.child is x]
    assert stepper.grads()[x] == pytest.approx(sum(received))


def test_typing_a_program_rebuilds_the_graph_and_a_bad_one_says_why():
    stepper = BackwardStepper(SHARED)
    stepper.step_slider.value = 3
    stepper.expression.value = "p = 0.5; q = p * p * p"
    assert stepper.step_slider.value == 0
    assert stepper.step_slider.max == len(stepper.steps) - 1
    assert any(label.startswith("p\n") for label in node_labels(stepper.ax))
    stepper.step_slider.value = stepper.step_slider.max
    p = next(node for node in topological_order(stepper.root) if node.label == "p")
    assert stepper.grads()[p] == pytest.approx(3 * 0.5**2)

    before = node_labels(stepper.ax)
    stepper.expression.value = "p = 0.5; q = undefined_name * p"
    assert "Cannot build this graph" in stepper.status.value and "undefined_name" in stepper.status.value
    assert node_labels(stepper.ax) == before  # the last good graph stays


@pytest.mark.parametrize("program", ["__import__('os').system('true')", "x = 1; x.data", "x = 1; [x]", "y = lambda: 1"])
def test_programs_are_parsed_not_executed(program):
    with pytest.raises(SyntaxError):
        build_graph(program)


# --- the engine the lesson counts work with -------------------------------------------


def test_breadth_first_order_gives_a_wrong_gradient_on_a_shared_node():
    program = "x = 0.5; y = -1.2; z = 0.8; h = x*y; L = tanh(h) + tanh(tanh(h*z))"
    out, nodes = build_graph(program)
    right = final_grads(backward_steps(out))
    wrong = final_grads(backward_steps(out, order=breadth_first_order(out)))
    assert right[nodes["x"]] == pytest.approx(numerical_derivative(program, "x"), rel=1e-6)
    assert abs(wrong[nodes["x"]] - right[nodes["x"]]) > 0.1


def test_forward_mode_reverse_mode_and_the_path_sum_agree_and_their_work_is_counted():
    program = "a = 0.3; b = -0.7; c = 1.1; d = a*b + sigmoid(a*c) - b/c; e = d * d + exp(-a)"
    out, nodes = build_graph(program)
    inputs = [nodes[name] for name in "abc"]
    forward, forward_work = forward_mode_gradient(out, inputs)
    reverse, reverse_work = reverse_mode_gradient(out, inputs)
    paths = [gradient_by_paths(out, node)[0] for node in inputs]
    numeric = [numerical_derivative(program, name) for name in "abc"]
    assert forward == pytest.approx(reverse, rel=1e-12) and paths == pytest.approx(reverse, rel=1e-12)
    assert reverse == pytest.approx(numeric, rel=1e-6)
    assert reverse_work == edge_count(out)
    assert forward_work == len(inputs) * edge_count(out)


def test_the_path_sum_doubles_its_work_per_ladder_layer():
    def ladder(depth):
        x = v = Value(0.3)
        for _ in range(depth):
            v = v.tanh() + v * 0.5
        return x, v

    counts = [gradient_by_paths(*reversed(ladder(depth)))[1] for depth in (4, 5, 6)]
    assert counts[1] / counts[0] > 2 and counts[2] / counts[1] > 2
    assert [edge_count(ladder(depth)[1]) for depth in (4, 5, 6)] == [20, 25, 30]


def test_a_program_runs_the_same_on_values_floats_and_torch():
    torch = pytest.importorskip("torch")
    program = "x = 0.4; y = 1.7; z = relu(x - y) + log(y) * tanh(x) / (1 + x**2)"
    out, nodes = build_graph(program)
    out.backward()
    functions = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}
    torch_out, torch_nodes = evaluate(
        program, functions, lambda number, _: torch.tensor(number, dtype=torch.float64, requires_grad=True)
    )
    torch_out.backward()
    assert out.data == pytest.approx(torch_out.item(), rel=1e-12)
    for name in "xy":
        assert nodes[name].grad == pytest.approx(torch_nodes[name].grad.item(), rel=1e-12)
