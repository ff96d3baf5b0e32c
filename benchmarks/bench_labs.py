"""Every lab: how long one change takes in the kernel, and in the browser from a slider move to
the repainted figure, side by side. Target: under 50 ms in the kernel, a browser median under 100 ms.

Kernel side: the lab's ``update()`` after one control changed (recompute, redraw, render),
median and p90 over 20 changes, wall time beside CPU time (on a shared machine the wall clock
also measures everyone else's load). The depth lab runs at its heaviest settings (depth 50,
width 64, naive initialisation), the learning-rate lab at its defaults.

Browser side: JupyterLab in Chromium (Playwright, the browser tests' server and helpers), one
notebook holding every lab at the same settings. For each lab its first slider is moved with the
keyboard 20 times (right, left, ...), or, for the activation explorer, its toggle buttons are
clicked; each move is timed in the page, from the keydown (or pointerdown) to the first
animation frame after the new picture has been decoded. The kernel is left idle between moves.
Without Chromium or playwright the browser column says why it is missing.

``python -m benchmarks labs`` runs this alone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from benchmarks.timing import quietly, time_calls

MOVES = 20
KERNEL_TARGET_MS, BROWSER_TARGET_MS = 50, 100

#: Each lab: the code a lesson cell runs, and how the kernel benchmark changes one control (move i).
LABS = {
    "tangent explorer (01)": (
        "from backprop_lab.calculus import TangentExplorer\n"
        "lab = TangentExplorer(np.sin, np.cos, np.linspace(-np.pi, np.pi, 200), name='sin')",
        lambda lab, i: setattr(lab.x0, "value", round(lab.x0.value + (0.05 if i % 2 == 0 else -0.05), 2))),
    "backward stepper (02)": (
        "from backprop_lab.graphs import BackwardStepper\n"
        "lab = BackwardStepper('x = 2.0; w = -3.0; b = 6.5\\nn = x*w + b\\ny = tanh(n) * x')",
        lambda lab, i: setattr(lab.step_slider, "value", 1 if i % 2 == 0 else 0)),
    "learning-rate lab (03)": (
        "from backprop_lab.lr_lab import LearningRateLab\nlab = LearningRateLab()",
        lambda lab, i: setattr(lab.learning_rate, "value", float(np.geomspace(1e-3, 10, MOVES)[i]))),
    "activation explorer (04)": (
        "from backprop_lab.activations import ActivationExplorer\nlab = ActivationExplorer()",
        lambda lab, i: setattr(lab.selector, "value", lab.selector.options[(i + 1) % len(lab.selector.options)])),
    "gradient-check lab (05)": (
        "from backprop_lab.gradcheck_lab import GradCheckLab\nlab = GradCheckLab()",
        lambda lab, i: setattr(lab.step, "value", float(np.logspace(-13, -1, MOVES)[i]))),
    "autograd lab (06)": (
        "from backprop_lab.autograd_lab import AutogradLab\nlab = AutogradLab()",
        lambda lab, i: setattr(lab.progress, "value", i % 5)),
    "depth lab (07), depth 50, width 64": (
        "from backprop_lab.depth_lab import DepthLab\n"
        "lab = DepthLab(depth=50, width=64, activation='tanh', init='naive')",
        lambda lab, i: setattr(lab.sliders["depth"], "value", 50 - i % 2)),
}


def kernel_side(code: str, move) -> tuple[np.ndarray, np.ndarray]:
    namespace = {"np": np}
    with quietly():
        exec(code, namespace)  # noqa: S102 - the benchmark's own code, as a lesson cell runs it
    lab = namespace["lab"]
    return time_calls(lambda i: move(lab, i), MOVES)


# --- the browser ---------------------------------------------------------------------------------

_ARM_JS = """
(cell) => {
  const out = cell.querySelector('.jp-Cell-outputArea');
  const img = out.querySelector('img');
  const before = img ? img.getAttribute('src') : '';
  window.__moved = null;
  const moved = () => { if (window.__moved === null) window.__moved = performance.now(); };
  document.addEventListener('keydown', moved, {capture: true, once: true});
  document.addEventListener('pointerdown', moved, {capture: true, once: true});
  window.__painted = new Promise((resolve) => {
    const check = () => {
      const now = out.querySelector('img');
      if (now && now.getAttribute('src') !== before) {
        observer.disconnect();
        (now.decode ? now.decode() : Promise.resolve()).catch(() => {}).then(() => {
          requestAnimationFrame(() => resolve(performance.now() - window.__moved));
        });
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(out, {attributes: true, childList: true, subtree: true, attributeFilter: ['src']});
  });
}
"""


def browser_side() -> dict[str, np.ndarray] | str:
    """Milliseconds from a key press on each lab's first slider to the repainted figure."""
    try:
        from playwright.sync_api import sync_playwright

        from tests.browser import jupyterlab as jl
        from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT
        from tests.browser.server import LabServer
    except ImportError as missing:
        return f"not measured: {missing}"
    if not CHROMIUM.is_file():
        return f"not measured: no Chromium at {CHROMIUM}"
    import nbformat

    cells = [nbformat.v4.new_code_cell("import numpy as np")]
    cells += [nbformat.v4.new_code_cell(f"# {name}\n{code}\nlab") for name, (code, _) in LABS.items()]
    results: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="bench-labs-") as home:
        server = LabServer(Path(home)).start()
        try:
            kernel = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}}
            notebook = nbformat.v4.new_notebook(cells=cells, metadata=kernel)
            nbformat.write(notebook, server.root / "lessons" / "bench_labs.ipynb")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(60_000)
                    jl.load_app(page, server.lab_url())
                    panel = jl.open_notebook(page, "lessons/bench_labs.ipynb")
                    jl.run_all(page, panel)
                    for name in LABS:
                        results[name] = _time_moves(page, jl.cell_containing(panel, f"# {name}"), jl)
                finally:
                    browser.close()
        finally:
            server.stop()
    return results


def _time_moves(page, cell, jl) -> np.ndarray:
    """Move the lab's first slider with the keyboard (a lab without one: click its toggle buttons)."""
    cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    outputs = cell.locator(".jp-Cell-outputArea")
    sliders = outputs.locator(jl.SLIDER)
    timings = []
    for _ in range(MOVES):
        cell.evaluate(_ARM_JS)
        if sliders.count():
            handle = sliders.first.locator(".noUi-handle").first
            value, _, high = jl.slider_state(handle)
            handle.focus()
            page.keyboard.press("ArrowLeft" if value >= high else "ArrowRight")
        else:
            outputs.locator(f"{jl.TOGGLE_BUTTONS} button:not(.mod-active)").first.click()
        timings.append(page.evaluate("window.__painted"))
        jl.settle(page)
    return np.array(timings)


def _figures(ms: np.ndarray) -> str:
    return f"median {np.median(ms):6.1f} p90 {np.percentile(ms, 90):6.1f}"


def main() -> None:
    kernel = {}
    for name, (code, move) in LABS.items():
        kernel[name] = tuple(seconds * 1e3 for seconds in kernel_side(code, move))
    browser = browser_side()
    print(f"{MOVES} changes per lab; ms. Targets: kernel < {KERNEL_TARGET_MS} ms per change, "
          f"browser median < {BROWSER_TARGET_MS} ms (slider move to repainted figure)")
    header = f"{'lab':<36} {'kernel CPU':>21}  {'kernel wall':>21}  {'browser (move -> paint)':>23}"
    print(header)
    print("-" * len(header))
    for name, (wall, cpu) in kernel.items():
        seen = _figures(browser[name]) if isinstance(browser, dict) else "-"
        verdict = "ok" if np.median(cpu) < KERNEL_TARGET_MS else "OVER"
        print(f"{name:<36} {_figures(cpu)}  {_figures(wall)}  {seen}  kernel {verdict}")
    if not isinstance(browser, dict):
        print(f"browser side {browser}")


if __name__ == "__main__":
    main()
