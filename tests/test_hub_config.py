"""The class's hub configuration, read as JupyterHub reads it (no hub, no root: tests/hub runs the real one).

These pin the pieces docs/class-on-jupyterhub.md promises: PAM and the local spawner, only the
class's users, the formgrader as a service named after the course that only the instructors'
group may open, and exact pins for JupyterHub and its proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def classroom():
    from hub.conftest import classroom  # hub/classroom.py, loaded as the hub tests load it

    return classroom


@pytest.fixture
def hub_config(classroom, tmp_path, monkeypatch) -> Config:
    settings = classroom.ClassSettings(root=tmp_path / "class", instructors=["teach"], students=["ann", "bob"],
                                       grader="grader-backprop-lab")
    monkeypatch.setenv(classroom.SETTINGS_ENV, str(settings.write()))
    config = Config()
    exec(compile(classroom.CONFIG_FILE.read_text(), str(classroom.CONFIG_FILE), "exec"), {"get_config": lambda: config})
    return config


def test_real_users_log_in_with_pam_and_get_their_own_server(hub_config):
    assert hub_config.JupyterHub.authenticator_class == "pam"
    assert hub_config.JupyterHub.spawner_class == "localprocess"
    assert hub_config.Authenticator.allowed_users == {"teach", "ann", "bob"}
    assert "admin_users" not in hub_config.Authenticator  # instructors cannot open students' servers
    assert hub_config.JupyterHub.ip == "127.0.0.1"


def test_only_the_instructors_group_opens_the_formgrader_service(hub_config):
    (service,) = hub_config.JupyterHub.services
    assert service["name"] == "backprop-lab" and service["user"] == "grader-backprop-lab"
    groups = hub_config.JupyterHub.load_groups
    assert groups["formgrade-backprop-lab"]["users"] == ["teach", "grader-backprop-lab"]
    assert groups["nbgrader-backprop-lab"]["users"] == ["ann", "bob"]
    access = [role for role in hub_config.JupyterHub.load_roles
              if any(scope.startswith("access:services") for scope in role.get("scopes", []))]
    assert access == [{"name": "formgrade-backprop-lab", "groups": ["formgrade-backprop-lab"],
                       "scopes": ["access:services!service=backprop-lab"]}]


def test_students_do_not_get_the_instructors_panels(classroom, hub_config, tmp_path):
    students = json.loads((tmp_path / "class" / "etc" / "students" / "labconfig" / "page_config.json").read_text())
    assert students["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    formgrader = tmp_path / "class" / "etc" / "formgrader" / "nbgrader_config.py"
    assert "CourseDirectory.course_id = 'backprop-lab'" in formgrader.read_text()


def test_jupyterhub_and_its_proxy_are_pinned_exactly():
    pins = (REPO / "hub" / "requirements.txt").read_text().split()
    assert "-r" in pins and "../requirements.txt" in pins and "jupyterhub==6.1.1" in pins
    package = json.loads((REPO / "package.json").read_text())
    assert package["dependencies"] == {"configurable-http-proxy": "5.3.0"}
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"] == "5.3.0"
