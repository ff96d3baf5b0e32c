"""Binder readiness: environment.yml is the pip pins in conda form, and it provides every import.

conda cannot be solved on these machines, so this checks what can be checked offline:
- environment.yml pins exactly the versions requirements.txt pins (pytorch is conda's torch),
  with a CPU-only torch, from conda-forge, for a Python that pyproject.toml accepts;
- every module the course imports (lessons, assignment masters, backprop_lab, autograder) is the
  standard library, the course's own package, or installed by a pinned runtime package or one
  of their dependencies; a dev-only package (pytest, playwright...) does not count: Binder lacks it;
- postBuild installs the course without pulling dependencies past environment.yml.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from autograder import course

ROOT = course.REPO_ROOT
#: pip name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch"}
#: The course's own top-level packages (installed by postBuild from this checkout).
PROJECT_PACKAGES = {"autograder", "backprop_lab"}
#: Where the course's code lives: notebooks a learner runs and the packages they import.
NOTEBOOK_DIRS = (course.LESSONS_DIR, course.SOURCE_DIR)
PACKAGE_DIRS = tuple(PROJECT_PACKAGES)


# -- the two pin files -----------------------------------------------------------------------------
def pip_pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # exact pins only: one "==" each
        assert specifier.operator == "==", f"requirements.txt must pin exactly: {line}"
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_specs() -> dict[str, tuple[str, ...]]:
    """name -> (version, build...) for each plain conda dependency of environment.yml."""
    specs = {}
    for dependency in environment()["dependencies"]:
        assert isinstance(dependency, str), f"environment.yml: pip installs belong in requirements.txt: {dependency}"
        name, *rest = dependency.split("=")
        specs[canonicalize_name(name)] = tuple(rest)
    return specs


def test_environment_pins_the_same_versions_as_requirements():
    conda = {name: spec[0] if spec else None for name, spec in conda_specs().items() if name not in ("python", "pip")}
    expected = {CONDA_NAMES.get(name, name): version for name, version in pip_pins().items()}
    missing = {name: version for name, version in expected.items() if conda.get(name) != version}
    extra = sorted(set(conda) - set(expected))
    assert not missing, f"environment.yml should pin (as requirements.txt does): {missing}"
    assert not extra, f"environment.yml pins packages requirements.txt does not: {extra}"


def test_environment_torch_is_cpu_only_from_conda_forge():
    env = environment()
    assert env["channels"][0] == "conda-forge" and "defaults" not in env["channels"], env["channels"]
    assert not {"pytorch", "nvidia"} & set(env["channels"]), "the pytorch/nvidia channels ship CUDA builds"
    version, *build = conda_specs()["pytorch"]
    assert build and build[0].startswith("cpu"), f"pin pytorch's CPU build (pytorch={version}=cpu*), not {build}"
    assert not [name for name in conda_specs() if "cuda" in name], "no CUDA packages in a CPU-only environment"


def test_environment_python_is_one_the_project_accepts():
    (python_version,) = conda_specs()["python"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(python_version), f"python={python_version} vs requires-python {requires}"
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert python_version == running, f"environment.yml has python={python_version}; the suite runs {running}"


def test_post_build_installs_only_the_course_itself():
    post_build = ROOT / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    installs = [line for line in post_build.read_text().splitlines() if re.search(r"\bpip install\b", line)]
    assert installs == ["python -m pip install --no-deps -e ."], f"postBuild may only install the course: {installs}"
    assert not (ROOT / "binder").exists(), "repo2docker ignores top-level environment.yml/postBuild if binder/ exists"


# -- imports ----------------------------------------------------------------------------------------
def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    # IPython syntax (%magics, !shell) becomes plain Python first, as the kernel would run it.
    return [TransformerManager().transform_cell("".join(c["source"])) for c in cells if c["cell_type"] == "code"]


def course_sources() -> dict[str, str]:
    """Every piece of code the course runs, by where it comes from."""
    sources = {}
    for folder in NOTEBOOK_DIRS:
        for notebook in sorted((ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in notebook.parts:
                continue
            for index, cell in enumerate(code_cells(notebook)):
                sources[f"{notebook.relative_to(ROOT)} cell {index}"] = cell
    for folder in PACKAGE_DIRS:
        for module in sorted((ROOT / folder).rglob("*.py")):
            sources[str(module.relative_to(ROOT))] = module.read_text()
    return sources


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports in ``source``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@cache
def runtime_distributions() -> frozenset[str]:
    """The pinned runtime packages and everything they depend on (extras excluded), as installed."""
    seen, todo = set(), list(pip_pins())
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return frozenset(seen)


def unprovided_imports(sources: dict[str, str]) -> dict[str, list[str]]:
    """module -> where it is imported, for modules nothing pinned provides."""
    providers = metadata.packages_distributions()
    missing: dict[str, list[str]] = {}
    for where, source in sources.items():
        for module in imported_modules(source):
            if module in sys.stdlib_module_names or module in PROJECT_PACKAGES or module == "__future__":
                continue
            distributions = {canonicalize_name(d) for d in providers.get(module, [])}
            if not distributions & runtime_distributions():
                missing.setdefault(module, []).append(where)
    return missing


def test_every_import_the_course_makes_is_provided_by_the_pins():
    sources = course_sources()
    assert any(where.startswith(course.LESSONS_DIR) for where in sources), "no lesson code found"
    missing = unprovided_imports(sources)
    assert not missing, "imported but not provided by requirements.txt / environment.yml:\n" + "\n".join(
        f"  {module}: {', '.join(places[:3])}" for module, places in sorted(missing.items())
    )


@pytest.mark.parametrize(
    "source, module",
    [
        # installed here, but only by requirements-dev.txt: Binder would lack them
        ("import psycopg2", "psycopg2"),
        ("from pytest import approx", "pytest"),
        ("from playwright.sync_api import sync_playwright", "playwright"),
        ("%matplotlib inline\nimport statsmodels.api", "statsmodels"),  # not installed at all
    ],
)
def test_import_check_catches_a_module_binder_would_lack(source, module):
    sources = {"example": TransformerManager().transform_cell(source)}
    assert module in unprovided_imports(sources)


def test_import_check_accepts_provided_modules():
    source = "import numpy, torch\nfrom IPython.display import display\nfrom . import quiz\nimport json"
    assert unprovided_imports({"example": source}) == {}


# -- what the environments leave out ---------------------------------------------------------------
def excluded_packages() -> list[str]:
    """The names in excluded-packages.txt (the Makefile's uv --excludes, and the class's venv)."""
    lines = (ROOT / "excluded-packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_excluded_packages_are_not_installed():
    """`make` leaves them out of a fresh venv and uninstalls them from an older one."""
    assert excluded_packages() == ["rfc3987-syntax"]
    installed = []
    for name in excluded_packages():
        with contextlib.suppress(metadata.PackageNotFoundError):
            installed.append(f"{name}=={metadata.version(name)}")
    assert not installed, f"installed although excluded-packages.txt leaves them out: {installed}"


#: What rfc3987-syntax checks in jsonschema: JSON Schema's formats "iri" and "iri-reference".
IRI_FORMAT = re.compile(r"""["']?format["']?\s*:\s*["']?iri(-reference)?\b""")


@pytest.mark.parametrize("package", ["nbformat", "nbgrader", "jupyter_events", "jupyter_server", "jupyterlab",
                                     "jupyterhub"])
def test_no_schema_the_course_relies_on_asks_for_an_iri_format(package):
    """Without rfc3987-syntax jsonschema leaves these two formats unchecked; no schema uses them."""
    folder = Path(__import__(package).__file__).parent
    schemas = [p for suffix in ("*.json", "*.yaml", "*.yml") for p in folder.rglob(suffix)]
    assert schemas or package in ("nbgrader", "jupyterhub"), f"no schema found under {folder}"
    asking = [str(p.relative_to(folder)) for p in schemas if IRI_FORMAT.search(p.read_text(errors="replace"))]
    assert not asking, f"{package}: these schemas check an iri format, which needs rfc3987-syntax: {asking}"


def test_the_iri_pattern_finds_an_iri_format():
    """The scan above can fail: it finds the format in both spellings."""
    assert IRI_FORMAT.search('{"type": "string", "format": "iri"}')
    assert IRI_FORMAT.search("format: iri-reference")
    assert not IRI_FORMAT.search('{"format": "uri"}')
