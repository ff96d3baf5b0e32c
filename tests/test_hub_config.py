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


def services(hub_config) -> dict:
    return {service["name"]: service for service in hub_config.JupyterHub.services}


def test_only_the_instructors_group_opens_the_formgrader_service(hub_config):
    service = services(hub_config)["backprop-lab"]
    assert service["user"] == "grader-backprop-lab"
    groups = hub_config.JupyterHub.load_groups
    assert groups["formgrade-backprop-lab"]["users"] == ["teach", "grader-backprop-lab"]
    assert groups["nbgrader-backprop-lab"]["users"] == ["ann", "bob"]
    access = [role for role in hub_config.JupyterHub.load_roles
              if any(scope == "access:services!service=backprop-lab" for scope in role.get("scopes", []))]
    assert access == [{"name": "formgrade-backprop-lab", "groups": ["formgrade-backprop-lab"],
                       "scopes": ["access:services!service=backprop-lab"]}]


def test_the_course_and_its_servers_may_call_the_grading_service_and_nobody_else(hub_config):
    from autograder.service import config as grading

    scope = "access:services!service=grading"
    assert scope == grading.ACCESS_SCOPE
    holders = {role["name"]: role for role in hub_config.JupyterHub.load_roles if scope in role.get("scopes", [])}
    assert set(holders) == {"grading-backprop-lab", "server"}
    # A server's token holds no more than its owner may do: only the course's groups get through.
    assert holders["grading-backprop-lab"]["groups"] == ["nbgrader-backprop-lab", "formgrade-backprop-lab"]
    assert "users" not in holders["grading-backprop-lab"] and "services" not in holders["grading-backprop-lab"]


def test_the_grading_service_runs_with_the_class_settings_and_learners_servers_know_where(hub_config, tmp_path):
    from autograder.service import config as grading

    settings = json.loads((tmp_path / "class" / "hub" / "class.json").read_text())
    service = services(hub_config)["grading"]
    assert "user" not in service  # root: each grading kernel then runs as a throwaway user
    assert service["url"] == f"http://127.0.0.1:{settings['grading_port']}"
    assert service["command"][-1].endswith("hub/grading_service.py")
    env = grading.ServiceConfig.from_env(service["environment"])
    assert env.port == settings["grading_port"] == grading.DEFAULT_PORT
    assert env.masters == Path(settings["course_dir"]) / "source"
    assert env.course_root == settings["course_dir"] and env.exchange == str(tmp_path / "class" / "exchange")
    assert env.checks_per_hour == grading.DEFAULT_CHECKS_PER_HOUR and env.workers >= 1
    assert env.state_dir == tmp_path / "class" / "grading" and (env.state_dir.stat().st_mode & 0o777) == 0o700
    url = hub_config.Spawner.environment[grading.URL_ENV]
    assert url == f"http://127.0.0.1:{settings['grading_port']}/services/grading/"


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
