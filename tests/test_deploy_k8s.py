"""The Kubernetes configuration (deploy/) parses and agrees with the one-machine class.

Nothing here can run a cluster. What is checked: every manifest is valid YAML of known kinds,
and the grading service's Deployment, Service and NetworkPolicy, the chart's values and the
images use the ports, paths, environment variables, scopes and limits that
autograder/service/config.py and hub/jupyterhub_config.py use on one machine.
"""

from __future__ import annotations

import re

import pytest
import yaml
from traitlets.config import Config

from autograder import course
from autograder.service import config as grading

DEPLOY = course.REPO_ROOT / "deploy"
UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def manifests(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if doc]


def find(kind: str, name: str = "grading") -> dict:
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in manifests(path.name):
            if doc.get("kind") == kind and doc["metadata"]["name"] == name:
                return doc
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def quantity(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i)", str(text)).groups()
    return int(number) * UNITS[unit]


@pytest.fixture(scope="module")
def container() -> dict:
    (container,) = find("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


@pytest.fixture(scope="module")
def env(container) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_every_manifest_parses_and_has_a_kind():
    files = sorted((DEPLOY / "k8s").glob("*.yaml"))
    assert {f.name for f in files} >= {"values.yaml", "grading.yaml", "storage.yaml", "gradebook.yaml",
                                       "formgrader.yaml", "seccomp-profile.yaml"}
    for path in files:
        docs = manifests(path.name)
        assert docs, path
        if path.name != "values.yaml":
            assert all(doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name") for doc in docs), path


def test_the_grading_service_uses_the_local_port_paths_and_environment(container, env):
    assert [p["containerPort"] for p in container["ports"]] == [grading.DEFAULT_PORT]
    assert set(grading.SERVICE_ENV_NAMES) - {grading.EXCHANGE_ENV} <= set(env), "a setting the service reads is unset"
    service = grading.ServiceConfig.from_env(env)
    assert service.port == grading.DEFAULT_PORT
    assert str(service.state_dir) == grading.CONTAINER_STATE_DIR
    assert str(service.masters) == grading.CONTAINER_MASTERS_DIR
    assert service.course_root == grading.CONTAINER_COURSE_ROOT and service.require_jail
    # The kernels run as the service's own user there: what is private must be under the hidden course root.
    assert grading.CONTAINER_STATE_DIR.startswith(grading.CONTAINER_COURSE_ROOT + "/")
    assert grading.CONTAINER_MASTERS_DIR.startswith(grading.CONTAINER_COURSE_ROOT + "/")
    assert service.checks_per_hour == grading.DEFAULT_CHECKS_PER_HOUR
    assert env["JUPYTERHUB_SERVICE_NAME"] == grading.SERVICE_NAME
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == grading.PREFIX
    assert env["JUPYTERHUB_SERVICE_URL"].endswith(f":{grading.DEFAULT_PORT}")
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[grading.CONTAINER_MASTERS_DIR]["readOnly"] is True
    assert {grading.CONTAINER_STATE_DIR, grading.CONTAINER_TMP} <= set(mounts)
    (svc_port,) = find("Service")["spec"]["ports"]
    assert svc_port["port"] == svc_port["targetPort"] == grading.DEFAULT_PORT


def test_the_grading_pods_are_locked_down_and_sized_for_their_workers(container, env):
    pod = find("Deployment")["spec"]["template"]["spec"]
    assert find("Deployment")["spec"]["replicas"] >= 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == grading.CONTAINER_UID != 0
    assert pod["securityContext"]["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost")
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"] and "add" not in security["capabilities"]
    workers = int(env[grading.WORKERS_ENV])
    limits = container["resources"]["limits"]
    assert quantity(limits["memory"]) == grading.memory_needed(workers)  # each kernel at the sandbox's limit
    assert int(limits["cpu"]) == workers
    assert re.search(rf"USER\s+{grading.CONTAINER_UID}\b", (DEPLOY / "docker" / "grading.Dockerfile").read_text())


def test_the_grading_pods_reach_nothing_but_the_hubs_api():
    policy = find("NetworkPolicy")["spec"]
    assert policy["podSelector"] == find("Deployment")["spec"]["selector"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    targets = [(rule["to"][0]["podSelector"]["matchLabels"], [p["port"] for p in rule["ports"]])
               for rule in policy["egress"]]
    assert targets == [({"component": "hub"}, [8081]), ({"k8s-app": "kube-dns"}, [53, 53])]
    (ingress,) = policy["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [grading.DEFAULT_PORT]


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory) -> Config:
    """hub/jupyterhub_config.py, read as JupyterHub reads it (tests/test_hub_config.py does the same)."""
    from hub.conftest import classroom

    settings = classroom.ClassSettings(root=tmp_path_factory.mktemp("class"), instructors=["teach"],
                                       students=["ann"], grader="grader-backprop-lab")
    config = Config()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(classroom.SETTINGS_ENV, str(settings.write()))
        exec(compile(classroom.CONFIG_FILE.read_text(), str(classroom.CONFIG_FILE), "exec"),
             {"get_config": lambda: config})
    return config


def test_the_charts_values_give_the_same_services_roles_and_check_url(local_hub):
    values = manifests("values.yaml")[0]
    services = values["hub"]["services"]
    local_services = {s["name"]: s for s in local_hub.JupyterHub.services}
    assert {course.COURSE_ID, grading.SERVICE_NAME} <= set(services) & set(local_services)
    assert services[grading.SERVICE_NAME]["url"] == f"http://grading:{grading.DEFAULT_PORT}"
    local_roles = {role["name"]: role for role in local_hub.JupyterHub.load_roles}
    for name, role in values["hub"]["loadRoles"].items():
        assert sorted(role["scopes"]) == sorted(local_roles[name]["scopes"]), name
        assert role.get("groups") == local_roles[name].get("groups"), name
    assert set(values["hub"]["loadGroups"]) == set(local_hub.JupyterHub.load_groups)
    url = values["singleuser"]["extraEnv"][grading.URL_ENV]
    assert url == f"http://grading:{grading.DEFAULT_PORT}{grading.PREFIX}"
    assert local_hub.Spawner.environment[grading.URL_ENV].endswith(f"{grading.PREFIX}")
    (egress,) = values["singleuser"]["networkPolicy"]["egress"]
    assert egress["to"][0]["podSelector"] == find("Deployment")["spec"]["selector"]
    assert [p["port"] for p in egress["ports"]] == [grading.DEFAULT_PORT]


def test_the_images_are_built_from_the_course_pins():
    singleuser = (DEPLOY / "docker" / "singleuser.Dockerfile").read_text()
    assert "environment.yml" in singleuser and "hub/requirements.txt" in singleuser
    service = (DEPLOY / "docker" / "grading.Dockerfile").read_text()
    assert "hub/requirements.txt" in service and "bubblewrap" in service
    assert "source" not in re.findall(r"^COPY (\S+)", service, re.MULTILINE)  # no masters in the image
    values = manifests("values.yaml")[0]
    mounts = {m["mountPath"] for m in values["singleuser"]["storage"]["extraVolumeMounts"]}
    assert mounts == {"/srv/nbgrader/exchange"}
    claims = {doc["metadata"]["name"]: doc for doc in manifests("storage.yaml")}
    assert claims["backprop-exchange"]["spec"]["accessModes"] == ["ReadWriteMany"]
    (postgres,) = find("StatefulSet", "gradebook")["spec"]["template"]["spec"]["containers"]
    assert postgres["image"].startswith("postgres:")
