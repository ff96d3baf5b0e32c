"""The course, executed, as static HTML pages: readable without Jupyter, Python or a network.

    python -m backprop_lab.static_site            # (or `make site`) -> build/site/index.html
    python -m backprop_lab.static_site --only 01_chain_rule --out /tmp/site

Each lesson is executed top to bottom (as `tests/test_notebooks.py` does) with the widgets'
state stored, then exported with nbconvert. Figures are inlined as images. A widget (a lab, a
quiz) needs a live kernel to react, so each one is also drawn as it stood when the lesson
ran: its image, its text, its choices and its sliders' values. Links between lessons point
at the pages; index.html lists every lesson.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"
DEFAULT_OUT = REPO_ROOT / "build" / "site"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_LESSON_LINK = re.compile(r'href="(\d\d_[A-Za-z0-9_]+)\.ipynb"')
_MODEL = "IPY_MODEL_"


def lesson_paths() -> list[Path]:
    """The start page and the lessons, in course order."""
    return sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def title_of(notebook) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def execute(path: Path, timeout: int = 600):
    """Run a lesson in its own folder, as Jupyter does, keeping the widgets' state."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return notebook


# --- widgets, drawn as they stood ---------------------------------------------------------


def _buffer(model: dict, key: str) -> str | None:
    for buffer in model.get("buffers", []):
        if buffer.get("path") == [key] and buffer.get("encoding") == "base64":
            return buffer["data"]
    return None


def _output_html(output: dict) -> str:
    data = output.get("data", {})
    if "image/png" in data:
        return f'<img src="data:image/png;base64,{data["image/png"]}">'
    if "text/html" in data:
        return "".join(data["text/html"])
    if output.get("output_type") == "stream" or "text/plain" in data:
        text = output.get("text") or "".join(data.get("text/plain", ""))
        return f"<pre>{html.escape(''.join(text))}</pre>"
    return ""


def widget_html(model_id: str, models: dict, depth: int = 0) -> str:
    """Static HTML for one widget and its children, from the stored widget state."""
    model = models.get(model_id)
    if model is None or depth > 20:
        return ""
    name, state = model.get("model_name", ""), model.get("state", {})
    description = html.escape(state.get("description", "") or "")
    children = "".join(
        widget_html(child[len(_MODEL):], models, depth + 1)
        for child in state.get("children", []) if isinstance(child, str) and child.startswith(_MODEL)
    )
    if name in ("VBoxModel", "BoxModel", "GridBoxModel", "TabModel", "AccordionModel"):
        return f'<div class="static-widget-box">{children}</div>'
    if name == "HBoxModel":
        return f'<div class="static-widget-box" style="display:flex;gap:1em;flex-wrap:wrap">{children}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{state.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{html.escape(state.get('value', ''))}</div>"
    if name == "ImageModel":
        data = _buffer(model, "value")
        return f'<img src="data:image/{state.get("format", "png")};base64,{data}">' if data else ""
    if name == "OutputModel":
        return "".join(_output_html(output) for output in state.get("outputs", []))
    if name in ("RadioButtonsModel", "DropdownModel", "ToggleButtonsModel", "SelectModel"):
        labels, index = state.get("_options_labels", []), state.get("index")
        items = "".join(
            f"<li>{'<b>' if i == index else ''}{html.escape(label)}{'</b> (selected)' if i == index else ''}</li>"
            for i, label in enumerate(labels)
        )
        return f"<div>{description}<ul>{items}</ul></div>"
    if name.endswith("SliderModel") or name in ("CheckboxModel", "TextModel", "TextareaModel"):
        return f"<div><i>{description or 'value'}</i>: {html.escape(str(state.get('value')))}</div>"
    if name == "ButtonModel":
        return f"<button disabled>{description}</button>"
    return children


def snapshot_widgets(notebook) -> int:
    """Give every widget output a static HTML picture of its stored state; returns how many."""
    models = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    drawn = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            picture = widget_html(view.get("model_id", ""), models)
            note = ('<p class="static-widget-note"><i>An interactive widget, shown as it stood when the lesson ran: '
                    "run the notebook to use it.</i></p>")
            output["data"] = {"text/html": f'<div class="static-widget">{note}{picture}</div>'}
            drawn += 1
    return drawn


# --- pages ----------------------------------------------------------------------------------


def render(notebook) -> str:
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return _LESSON_LINK.sub(r'href="\1.html"', body)


def index_page(entries: Sequence[tuple[str, str]]) -> str:
    items = "\n".join(
        f'    <li><a href="{html.escape(stem)}.html">{html.escape(title)}</a></li>' for stem, title in entries
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Backprop Lab: the course, executed</title>
<style>body {{ font-family: sans-serif; max-width: 44em; margin: 3em auto; line-height: 1.5 }}</style></head>
<body>
  <h1>Backprop Lab</h1>
  <p>Every lesson of the course, executed, with its figures and its labs as they stood when it ran.
  To move the sliders and answer the quizzes, open the notebooks in Jupyter (<code>make lab</code>) or on Binder.</p>
  <ol>
{items}
  </ol>
</body>
</html>
"""


def build(out: Path = DEFAULT_OUT, only: Sequence[str] | None = None, run: bool = True) -> list[Path]:
    """Write one page per lesson (all of them, or the stems in `only`) and index.html; returns the pages."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [p for p in lesson_paths() if not only or p.stem in only]
    missing = set(only or ()) - {p.stem for p in paths}
    if missing:
        raise SystemExit(f"no such lesson: {', '.join(sorted(missing))}")
    entries, pages = [], []
    for path in lesson_paths():
        entries.append((path.stem, title_of(nbformat.read(path, as_version=4))))
    for path in paths:
        print(f"building {path.name} ...", flush=True)
        notebook = execute(path) if run else nbformat.read(path, as_version=4)
        snapshot_widgets(notebook)
        page = out / f"{path.stem}.html"
        page.write_text(render(notebook), encoding="utf-8")
        pages.append(page)
    (out / "index.html").write_text(index_page(entries), encoding="utf-8")
    print(f"open {out / 'index.html'}")
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the pages (default build/site)")
    parser.add_argument("--only", nargs="*", metavar="LESSON", help="lesson stems to build, e.g. 01_chain_rule")
    parser.add_argument("--no-execute", action="store_true", help="export the notebooks as committed, unexecuted")
    args = parser.parse_args(argv)
    build(args.out, args.only, run=not args.no_execute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
