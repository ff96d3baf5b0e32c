"""`make site`: the lessons, executed and exported to static HTML with an index page, figures
inlined and every widget drawn as it stood, so the course reads without Jupyter."""

import re

import pytest

from autograder import course
from backprop_lab import static_site

LESSONS = [p.stem for p in course.lesson_notebooks()]


@pytest.fixture(scope="module")
def executed_site(tmp_path_factory):
    """Two lessons executed (the start page and lesson 01, a lab and quizzes among its cells)."""
    out = tmp_path_factory.mktemp("site")
    static_site.build(out, only=["00_start_here", "01_chain_rule"])
    return out


@pytest.mark.slow
def test_the_index_links_every_lesson_in_course_order(executed_site):
    index = (executed_site / "index.html").read_text()
    linked = re.findall(r'href="([^"]+)\.html"', index)
    assert linked == LESSONS
    assert ["00_start_here", *course.assignment_ids()] == LESSONS  # the start page, then one lesson a step


@pytest.mark.slow
def test_an_executed_lesson_shows_its_outputs_figures_and_widgets(executed_site):
    page = (executed_site / "01_chain_rule.html").read_text()
    assert "g'(2) = 42.0" in page, "the outputs of the executed cells must be in the page"
    assert page.count('src="data:image/png;base64,') >= 4, "figures and the lab's image are inlined"
    assert page.count('class="static-widget"') >= 5, "the lab and every quiz are drawn as they stood"
    assert "Traceback" not in page, "no cell may fail"
    assert 'href="02_computational_graphs.html"' in page, "links between lessons point at the pages"
    assert ".ipynb\"" not in re.sub(r'href="\.\./exercises/[^"]+"', "", page), "no lesson link left on a notebook"


def test_every_lesson_exports(tmp_path):
    """The whole course, as committed (unexecuted, so this stays fast): one page per lesson."""
    pages = static_site.build(tmp_path, run=False)
    assert [p.stem for p in pages] == LESSONS
    for page in pages:
        text = page.read_text()
        assert "<html" in text
        assert len(text) > 10_000, page.name


def test_a_widget_is_drawn_from_its_stored_state():
    models = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_q", "IPY_MODEL_r", "IPY_MODEL_s"]}},
        "q": {"model_name": "HTMLModel", "state": {"value": "<b>Which one?</b>"}},
        "r": {"model_name": "RadioButtonsModel", "state": {"_options_labels": ["a", "b"], "index": 1}},
        "s": {"model_name": "IntSliderModel", "state": {"description": "depth", "value": 10}},
    }
    html = static_site.widget_html("box", models)
    assert "<b>Which one?</b>" in html and "<b>b</b> (selected)" in html and "depth</i>: 10" in html
    assert static_site.widget_html("missing", models) == ""
