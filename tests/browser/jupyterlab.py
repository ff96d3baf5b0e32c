"""What a learner does in JupyterLab, as Playwright steps: open a notebook, run it, read it.

Waits follow ../shared/FIELD-NOTES.md: the execution indicator alone races, so "done" means
the kernel reads Idle in the status bar, no cell is queued or running, and no spinner shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import Locator, Page

NOTEBOOK = ".jp-NotebookPanel:visible"
IDLE_INDICATOR = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
RUN_TIMEOUT_MS = 120_000
OPEN_TIMEOUT_MS = 60_000

#: Output a learner sees in red. JupyterLab renders an exception's traceback and text written
#: to stderr alike, as this mime type.
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

#: Browser console errors that are not the course's fault, each with why. None are needed so far;
#: add a pattern only with the reason it is harmless.
HARMLESS_CONSOLE_ERRORS: tuple[re.Pattern, ...] = ()

_RUN_STATE_JS = """
(panel) => {
  const cells = [...panel.querySelectorAll('.jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  const sources = cells.map(c => (c.querySelector('.cm-content') || {}).textContent || '');
  const status = document.querySelector('#jp-main-statusbar');
  return {
    queued: prompts.filter(p => p.includes('*')).length,
    unrun: prompts.filter((p, i) => !/\\[\\d+\\]/.test(p) && sources[i].trim() !== '').length,
    errors: panel.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
    idle: /\\|\\s*Idle/.test(status ? status.textContent : ''),
    spinner: panel.querySelectorAll('.jp-Spinner').length,
  };
}
"""


_OPEN_JS = """
async (path) => {
  const widget = await window.jupyterapp.commands.execute('docmanager:open', {path});
  await widget.context.ready;
  await widget.sessionContext.ready;
  const session = widget.sessionContext.session;
  if (session && session.kernel) await session.kernel.info;
}
"""


def load_app(page: Page, url: str) -> None:
    """Load JupyterLab (served with ``expose_app_in_browser``) and wait until it has started."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=OPEN_TIMEOUT_MS)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.locator("#jp-main-statusbar").wait_for(timeout=OPEN_TIMEOUT_MS)


def open_notebook(page: Page, path: str) -> Locator:
    """Open a notebook (``path`` from the server's root) in the loaded JupyterLab, as the file browser
    does, and wait until its kernel is idle; returns the notebook panel.

    Loading JupyterLab itself costs the browser about 4 s of CPU; a learner does it once and then
    opens notebook after notebook in it, and so do the tests."""
    page.evaluate(_OPEN_JS, path)
    return wait_for_notebook(page)


def close_documents(page: Page) -> None:
    """Close every tab of the main area without asking to save (the tests' copies are throwaway)."""
    page.evaluate("() => { for (const widget of [...window.jupyterapp.shell.widgets('main')]) widget.dispose(); }")


def wait_for_notebook(page: Page) -> Locator:
    panel = page.locator(NOTEBOOK).last
    panel.locator(".jp-Cell").first.wait_for(timeout=OPEN_TIMEOUT_MS)
    panel.locator(IDLE_INDICATOR).wait_for(timeout=OPEN_TIMEOUT_MS)
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\|\s*Idle")).wait_for(timeout=OPEN_TIMEOUT_MS)
    return panel


def menu(page: Page, top: str, item: str) -> None:
    """Click a main-menu entry, as a learner does: ``menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def run_state(panel: Locator) -> dict:
    return panel.evaluate(_RUN_STATE_JS)


def wait_until_run(page: Page, panel: Locator, every_cell: bool = True, timeout_ms: int = RUN_TIMEOUT_MS) -> dict:
    """Wait until nothing is queued or running and the kernel is idle.

    With ``every_cell``, also until every non-empty code cell has run (or an error stopped the run).
    """
    page.wait_for_function(
        f"""([panel, everyCell]) => {{
            const s = ({_RUN_STATE_JS})(panel);
            const finished = !everyCell || s.unrun === 0 || s.errors > 0;
            return s.queued === 0 && s.idle && s.spinner === 0 && finished;
        }}""",
        arg=[panel.element_handle(), every_cell],
        timeout=timeout_ms,
        polling=250,
    )
    return run_state(panel)


def run_all(page: Page, panel: Locator) -> dict:
    menu(page, "Run", "Run All Cells")
    # Prompts switch to [*] as soon as the cells are queued; then wait for the end of the run.
    return wait_until_run(page, panel)


def error_outputs(scope: Locator) -> list[str]:
    """The text of every red output (exception or stderr) under ``scope``, widgets' outputs included."""
    texts = scope.locator(ERROR_OUTPUT).all_inner_texts()
    broken_widgets = scope.get_by_text(re.compile(r"Error displaying widget|Failed to display Jupyter Widget")).count()
    return [t.strip()[-600:] for t in texts] + ["a widget failed to display"] * broken_widgets


def log_console_entries(page: Page) -> list[str]:
    """What the log console holds: where a widget callback's exception goes when it is not
    raised inside an ``Output`` widget. The status bar shows a count only when there is something."""
    status_item = page.locator(".jp-LogConsoleStatusItem")
    if status_item.count() == 0 or "lm-mod-hidden" in (status_item.get_attribute("class") or ""):
        return []
    status_item.click()
    entries = page.locator(".jp-LogConsolePanel .jp-OutputArea-output")
    entries.first.wait_for()
    return [text.strip()[-600:] for text in entries.all_inner_texts()]


def code_cells(panel: Locator) -> list[Locator]:
    return panel.locator(".jp-CodeCell").all()


def cell_containing(panel: Locator, text: str) -> Locator:
    """The code cell whose source contains ``text``."""
    return panel.locator(".jp-CodeCell").filter(has=panel.page.locator(".cm-content", has_text=text)).first


# -- widgets -----------------------------------------------------------------------------------
#: A lab's controls; a quiz is a radio group with a "Check" button and is not a lab.
SLIDER = ".widget-slider:not(.widget-vslider)"
DROPDOWN = ".widget-dropdown"
TOGGLE_BUTTONS = ".widget-toggle-buttons"
CHECKBOX = ".widget-checkbox"
BUTTON = "button.widget-button"
QUIZ = ".widget-vbox:has(.widget-radio-box):has(button:text-is('Check'))"

_FIGURE_JS = """
(cell) => {
  const out = cell.querySelector('.jp-Cell-outputArea');
  if (!out) return {images: [], text: ''};
  const images = [...out.querySelectorAll('img')].map(i => i.getAttribute('src') || '');
  const parts = [...out.querySelectorAll('.widget-html-content, .widget-output .jp-RenderedText, svg')];
  return {images, text: parts.map(p => p.tagName === 'svg' ? p.outerHTML : p.textContent).join('\\n')};
}
"""


@dataclass
class Figure:
    """What a lab shows: its images' sources and its other drawn or written content."""

    images: list[str] = field(default_factory=list)
    text: str = ""

    def changed_from(self, before: Figure) -> bool:
        if before.images or self.images:
            return self.images != before.images
        return self.text != before.text


def figure_of(cell: Locator) -> Figure:
    return Figure(**cell.evaluate(_FIGURE_JS))


def lab_cells(panel: Locator) -> list[Locator]:
    """Code cells whose output holds lab controls (sliders, dropdowns, toggle buttons, checkboxes)."""
    controls = f"{SLIDER}, {DROPDOWN}, {TOGGLE_BUTTONS}, {CHECKBOX}"
    return panel.locator(".jp-CodeCell").filter(has=panel.page.locator(f".jp-Cell-outputArea :is({controls})")).all()


def wait_for_new_figure(page: Page, cell: Locator, before: Figure, what: str, timeout_ms: int = 30_000) -> Figure:
    """Wait until the cell's figure differs from ``before`` and the kernel is idle again."""
    try:
        page.wait_for_function(
            f"""([cell, before]) => {{
                const now = ({_FIGURE_JS})(cell);
                if (before.images.length || now.images.length) {{
                    return now.images.length > 0 && JSON.stringify(now.images) !== JSON.stringify(before.images);
                }}
                return now.text !== before.text;
            }}""",
            arg=[cell.element_handle(), {"images": before.images, "text": before.text}],
            timeout=timeout_ms,
            polling=100,
        )
    except Exception as error:  # noqa: BLE001 - re-raised with what the learner did
        shown = "\n---\n".join(error_outputs(cell))
        message = f"the figure did not change after {what}" + (f"; the cell shows:\n{shown}" if shown else "")
        raise AssertionError(message) from error
    settle(page)
    return figure_of(cell)


def settle(page: Page) -> None:
    """Wait for the kernel to finish handling a widget event (redraws run in the kernel)."""
    page.locator(NOTEBOOK).last.locator(IDLE_INDICATOR).wait_for(timeout=RUN_TIMEOUT_MS)
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\|\s*Idle")).wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_timeout(150)


def slider_state(handle: Locator) -> tuple[float, float, float]:
    """(value, min, max) of a noUiSlider handle, from its ARIA attributes."""
    value, low, high = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    return value, low, high


def move_slider_with_keyboard(page: Page, slider: Locator) -> str:
    handle = slider.locator(".noUi-handle").first
    value, _, high = slider_state(handle)
    key = "ArrowLeft" if value >= high else "ArrowRight"
    handle.focus()
    page.keyboard.press(key)
    return key


def move_slider_with_mouse(page: Page, slider: Locator) -> str:
    """Drag the handle a quarter of the track towards the side with more room."""
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-base").first.bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    room_right = track["x"] + track["width"] - x
    dx = track["width"] / 4 * (1 if room_right > track["width"] / 2 else -1)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()
    return f"a drag of {dx:+.0f} px"
