"""JupyterHub configuration of a Backprop Lab class on one machine (real Unix users).

`hub/classroom.py` writes the class's settings (``class.json``) and starts JupyterHub with this
file and ``BACKPROP_CLASS_SETTINGS`` pointing at them; nothing here is specific to the demo.
The pieces are the ones JupyterHub and nbgrader document for one machine:

- PAM authenticates the machine's own accounts; only the class's users are allowed in;
- LocalProcessSpawner (JupyterHub's default, the hub runs as root) starts each user's JupyterLab
  as that user, in their home, from the class's Python environment (readable by everyone);
- configurable-http-proxy (npm, pinned in package.json) is the only thing the browser talks to;
- the formgrader runs as a hub-managed service named after the course, as a dedicated grader
  account that owns the course folder; only the JupyterHub group ``formgrade-<course>`` may open
  it ("Using nbgrader with JupyterHub", one class, several graders; JupyterHub roles give the
  group access to the service);
- nbgrader's JupyterHubAuthPlugin maps the groups ``nbgrader-<course>`` (students) and
  ``formgrade-<course>`` (instructors) to courses, and the exchange path includes the course,
  so a second course is one more service, grader account and pair of groups;
- the grading service (``grading``, hub/grading_service.py) grades a learner's check with every
  test, hidden ones included, and answers with the report only: the course's students and
  instructors may call it, through their server's token; its names, port and limits come from
  autograder/service/config.py, as the Kubernetes manifests' do (deploy/k8s/).
"""

import json
import os
from pathlib import Path

from autograder.service import config as grading

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

settings = json.loads(Path(os.environ["BACKPROP_CLASS_SETTINGS"]).read_text())
root = Path(settings["root"])
venv_bin = Path(settings["venv"]) / "bin"
path = f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"

c.JupyterHub.ip = settings["ip"]
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.JupyterHub.db_url = f"sqlite:///{root / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(root / "hub" / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(root / "hub" / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = str(root / "hub" / "proxy.pid")
if settings.get("ssl_cert"):
    c.JupyterHub.ssl_cert = settings["ssl_cert"]
    c.JupyterHub.ssl_key = settings["ssl_key"]

# --- who may log in ------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(settings["instructors"]) | set(settings["students"])
c.PAMAuthenticator.open_sessions = False  # no systemd-logind session per server on a small box

# --- each user's JupyterLab -----------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
instructors = set(settings["instructors"])


def _config_path(spawner):
    """Students and instructors see different nbgrader panels (nbgrader's table of extensions)."""
    role = "instructors" if spawner.user.name in instructors else "students"
    return str(root / "etc" / role)


c.Spawner.environment = {
    "PATH": path,
    "JUPYTER_CONFIG_PATH": _config_path,
    "JUPYTER_PLATFORM_DIRS": "1",
    # The check cell sends the saved notebook here (autograder/service/client.py).
    grading.URL_ENV: f"http://127.0.0.1:{settings['grading_port']}{grading.PREFIX}",
}

# --- the course: formgrader service, groups and roles ---------------------------------------
course_id = settings["course_id"]
grader = settings["grader"]
c.JupyterHub.load_groups = {
    # The grader account is in the group too, as nbgrader's docs have it: the formgrader asks the
    # hub which courses its user (the grader account) teaches. It has no password: nobody logs in as it.
    f"formgrade-{course_id}": {"users": [*sorted(instructors), grader]},
    f"nbgrader-{course_id}": {"users": sorted(settings["students"])},
}
c.JupyterHub.services = [
    {
        "name": course_id,  # nbgrader: the service's name MUST be the course id
        "url": f"http://127.0.0.1:{settings['service_port']}",
        "command": [str(venv_bin / "jupyterhub-singleuser")],
        "user": grader,
        "cwd": settings["course_dir"],
        "environment": {
            "PATH": path,
            "HOME": settings["grader_home"],
            "JUPYTER_CONFIG_PATH": str(root / "etc" / "formgrader"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTERHUB_DEFAULT_URL": "/lab",
        },
        "oauth_no_confirm": True,
    },
    {
        # The grading service runs as root: each grading kernel then runs as a throwaway user, jailed
        # (autograder/sandbox.py); the course folder (masters, gradebook) and the exchange are hidden from it.
        "name": grading.SERVICE_NAME,
        "url": f"http://127.0.0.1:{settings['grading_port']}",
        "command": [str(venv_bin / "python"), settings["grading_service"]],
        "cwd": settings["grading_state"],
        "environment": {
            "PATH": path,
            "JUPYTER_PLATFORM_DIRS": "1",
            **grading.ServiceConfig(
                state_dir=Path(settings["grading_state"]), masters=Path(settings["course_dir"]) / "source",
                port=settings["grading_port"], workers=settings["grading_workers"] or grading.default_workers(),
                checks_per_hour=settings["checks_per_hour"], course_root=settings["course_dir"],
                exchange=str(root / "exchange")).to_env(),
        },
    },
    # No process: its token (root's file, 0600) lets root's scripts manage the class's users and tokens.
    {"name": "class-admin", "api_token": Path(settings["admin_token_file"]).read_text().strip()},
]
c.JupyterHub.load_roles = [
    # Instructors open the formgrader; nobody else does.
    {"name": f"formgrade-{course_id}", "groups": [f"formgrade-{course_id}"],
     "scopes": [f"access:services!service={course_id}"]},
    # The formgrader asks the hub who is in the course, and adds students to it.
    {"name": f"grader-{course_id}", "services": [course_id],
     "scopes": ["list:users", "read:users", "list:groups", "read:groups", f"groups!group=nbgrader-{course_id}"]},
    # The course's students and instructors check their work with the grading service...
    {"name": f"grading-{course_id}", "groups": [f"nbgrader-{course_id}", f"formgrade-{course_id}"],
     "scopes": [grading.ACCESS_SCOPE]},
    # nbgrader's JupyterHubAuthPlugin, in each user's server, reads that user's groups; the check cell
    # calls the grading service with the server's token (which holds no more than its owner may do).
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", "read:users:groups!user",
                                 "read:users:name!user", grading.ACCESS_SCOPE]},
    {"name": "class-admin", "services": ["class-admin"],
     "scopes": ["admin:users", "admin:groups", "tokens", "list:users", "read:users"]},
]
