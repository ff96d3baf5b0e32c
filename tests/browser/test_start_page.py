"""The start page, as a learner first sees it: it opens, and it links every lesson and exercise."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from autograder import course

from . import jupyterlab as lab
from .conftest import save_screenshot

START_PAGE = f"{course.LESSONS_DIR}/00_start_here.ipynb"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (course.REPO_ROOT / START_PAGE).is_file(), reason=f"{START_PAGE} is not written yet"),
]


def course_notebooks() -> set[str]:
    """Every lesson and exercise a learner should be able to reach from the start page."""
    lessons = {f"{course.LESSONS_DIR}/{p.name}" for p in course.lesson_notebooks() if p.name != "00_start_here.ipynb"}
    exercises = {
        p.relative_to(course.REPO_ROOT).as_posix()
        for p in (course.REPO_ROOT / course.EXERCISES_DIR).glob("*/*.ipynb")
        if ".backup-" not in p.name
    }
    return lessons | exercises


def linked_paths(panel) -> list[str]:
    """Server paths of the notebooks the rendered markdown links to.

    JupyterLab resolves a relative link such as ``../exercises/x/x.ipynb`` to ``/files/exercises/...``.
    """
    hrefs = panel.locator(".jp-RenderedMarkdown a[href]").evaluate_all("links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urllib.parse.urlparse(href)
        match = re.match(r"^/files/(.+\.ipynb)$", urllib.parse.unquote(url.path))
        if match:
            paths.append(match.group(1))
    return paths


def test_start_page_links_every_lesson_and_exercise_and_the_links_open(page, lab_server, console):
    """Every lesson and exercise is linked, and clicking a lesson link and an exercise link opens
    each as a notebook tab, kernel ready."""
    panel = lab.open_notebook(page, START_PAGE)
    save_screenshot(page, "start_page")
    linked = linked_paths(panel)

    missing = sorted(course_notebooks() - set(linked))
    assert not missing, f"the start page does not link {missing}"
    dangling = sorted(path for path in set(linked) if not (lab_server.root / path).is_file())
    assert not dangling, f"the start page links notebooks that do not exist: {dangling}"

    first_lesson = next(p for p in linked if p.startswith(f"{course.LESSONS_DIR}/"))
    first_exercise = next(p for p in linked if p.startswith(f"{course.EXERCISES_DIR}/"))
    for target in (first_lesson, first_exercise):
        start_page_tab = page.locator(".lm-TabBar-tab", has_text="00_start_here.ipynb")
        start_page_tab.click()
        name = target.rsplit("/", 1)[-1]
        link = panel.locator(f'.jp-RenderedMarkdown a[href*="/files/{target}"]').first
        link.scroll_into_view_if_needed()
        link.click()
        page.locator(".lm-TabBar-tab.lm-mod-current", has_text=name).wait_for()
        opened = lab.wait_for_notebook(page)
        assert opened.locator(".jp-Cell").count() > 0, f"{target} opened empty"
    save_screenshot(page, "start_page_link_opened_exercise")
    assert not console.errors(lab.HARMLESS_CONSOLE_ERRORS), f"browser console errors: {console.errors()}"
