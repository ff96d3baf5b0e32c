"""Set up and start a Backprop Lab class on JupyterHub, on one machine, as root.

    python hub/classroom.py demo     # a demo class on http://127.0.0.1:8000 (make class)
    python hub/classroom.py remove   # remove the demo class: its users, homes and folders

The demo and the test suite (tests/hub/) run the same steps, in this order:

1. ``install_environment``: the class's Python environment (a venv made from Debian's
   /usr/bin/python3.11, under /opt, readable by every user) with requirements.txt, JupyterHub
   (hub/requirements.txt) and the course's own package installed *as a package*: the check
   helpers and the lesson code, never the repository, which holds the masters and solutions;
   and configurable-http-proxy from package.json (``npm ci`` into node_modules/).
2. ``ClassSettings.write``: the class folder (exchange, hub state, the per-role Jupyter
   configuration) and ``class.json``, which hub/jupyterhub_config.py reads.
3. ``create_users``: Unix accounts for the instructors, students and the grader account, each
   home private (0700), and the course folder in the grader's home (0700: masters, gradebook,
   submissions), made by ``python -m autograder init-course``.
4. ``Hub.start``: JupyterHub and the proxy on 127.0.0.1.
5. ``release`` (the demo): every assignment generated and released, as the grader account.

Everything runs as root (JupyterHub's LocalProcessSpawner switches to each user).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

HUB_DIR = Path(__file__).resolve().parent
REPO_ROOT = HUB_DIR.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a script from the checkout: the course's package beside it
from autograder.service import config as grading  # noqa: E402

CONFIG_FILE = HUB_DIR / "jupyterhub_config.py"
#: Debian's Python: every user can run it (a pyenv Python under /root is closed to them).
SYSTEM_PYTHON = Path(os.environ.get("BACKPROP_CLASS_PYTHON", "/usr/bin/python3.11"))
DEFAULT_VENV = Path(os.environ.get("BACKPROP_CLASS_VENV", "/opt/backprop-lab/venv"))
PROXY = REPO_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID = "backprop-lab"
SETTINGS_ENV = "BACKPROP_CLASS_SETTINGS"
#: nbgrader's JupyterLab plugins, and who sees them (nbgrader's "Using nbgrader with JupyterHub").
LAB_PLUGINS = {
    "students": ["formgrader", "create-assignment", "course-list"],
    "instructors": ["formgrader", "create-assignment"],
    "formgrader": ["assignment-list", "course-list"],
}
SERVER_EXTENSIONS = {
    "students": ["formgrader", "course_list"],
    "instructors": ["formgrader"],
    "formgrader": ["assignment_list", "course_list"],
}


class ClassError(RuntimeError):
    """A step of the set-up failed; the message says which and why."""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise ClassError(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


# --- 1. the environment ---------------------------------------------------------------------


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def install_environment(venv: Path = DEFAULT_VENV, log=print) -> Path:
    """The class's venv and the proxy, (re)installed only when their pins or the course's code change."""
    excluded = REPO_ROOT / "excluded-packages.txt"  # what a dependency pulls in and the course leaves out
    requirements = [REPO_ROOT / "requirements.txt", HUB_DIR / "requirements.txt", excluded]
    stamp = venv / ".backprop-class-requirements"
    wanted = _digest(requirements)
    if not (venv / "bin" / "python").exists() or not stamp.exists() or stamp.read_text() != wanted:
        log(f"installing the class's Python environment in {venv} (about a minute)")
        if not SYSTEM_PYTHON.exists():
            raise ClassError(f"{SYSTEM_PYTHON} is missing: apt-get install python3-venv (the class needs a Python "
                             "every user can read), or set BACKPROP_CLASS_PYTHON")
        venv.parent.mkdir(parents=True, exist_ok=True)
        venv.parent.chmod(0o755)
        run([str(SYSTEM_PYTHON), "-m", "venv", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(HUB_DIR / "requirements.txt")])
        run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "--yes", "-r", str(excluded)])
        stamp.write_text(wanted)
    package = _digest([p for d in ("autograder", "backprop_lab") for p in (REPO_ROOT / d).rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts] + [REPO_ROOT / "pyproject.toml"])
    package_stamp = venv / ".backprop-class-package"
    if not package_stamp.exists() or package_stamp.read_text() != package:
        log("installing the course's package (check helpers and lesson code) into the class's environment")
        with tempfile.TemporaryDirectory(prefix="backprop-class-build-") as scratch:
            build = Path(scratch)
            for name in ("autograder", "backprop_lab"):  # the package only: no source/, no solutions/
                shutil.copytree(REPO_ROOT / name, build / name, ignore=shutil.ignore_patterns("__pycache__"))
            for name in ("pyproject.toml", "README.md"):
                shutil.copy(REPO_ROOT / name, build / name)
            run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                 str(build)])
        package_stamp.write_text(package)
    # No "get notified about Jupyter news?" popup for anyone in the class.
    settings = venv / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
    install_proxy(log)
    return venv


def install_proxy(log=print) -> Path:
    """configurable-http-proxy, pinned in package.json, into the repository's node_modules/."""
    lock, installed = REPO_ROOT / "package-lock.json", REPO_ROOT / "node_modules" / ".package-lock.json"
    if not PROXY.exists() or not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        if shutil.which("npm") is None:
            raise ClassError("npm is missing: apt-get install nodejs npm (JupyterHub's proxy is a node program)")
        log("installing configurable-http-proxy (npm ci)")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO_ROOT)
    return PROXY


# --- 2. the class folder --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ClassSettings:
    """One class on one machine: its folder, ports, accounts and course."""

    root: Path
    instructors: list[str]
    students: list[str]
    grader: str = f"grader-{COURSE_ID}"
    course_id: str = COURSE_ID
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    service_port: int = 9999
    #: The grading service (autograder/service, hub/grading_service.py): its port, the checks each
    #: learner may ask for per hour, and its workers (0: sized to the machine).
    grading_port: int = grading.DEFAULT_PORT
    checks_per_hour: int = grading.DEFAULT_CHECKS_PER_HOUR
    grading_workers: int = 0
    venv: Path = DEFAULT_VENV
    ssl_cert: str | None = None
    ssl_key: str | None = None
    #: Login passwords of the instructors and students (set with chpasswd; never written to disk).
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_cert else "http"
        return f"{scheme}://{self.ip}:{self.port}"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def settings_file(self) -> Path:
        return self.root / "hub" / "class.json"

    @property
    def grader_home(self) -> Path:
        return Path("/home") / self.grader

    @property
    def course_dir(self) -> Path:
        """The instructors' course folder: masters, gradebook, submissions (private to the grader)."""
        return self.grader_home / self.course_id

    @property
    def admin_token_file(self) -> Path:
        """The token of the hub's ``class-admin`` service (root only): scripts that manage the class's
        users and tokens through the hub's REST API use it (the grading service's load test does)."""
        return self.root / "hub" / "admin-api-token"

    @property
    def grading_state(self) -> Path:
        """The grading service's queue and log (root only: learners' notebooks wait there)."""
        return self.root / "grading"

    def users(self) -> list[str]:
        return [*self.instructors, *self.students]

    def write(self) -> Path:
        """The class folder and its settings for hub/jupyterhub_config.py."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        (self.root / "hub").mkdir(exist_ok=True)
        (self.root / "hub").chmod(0o700)  # the hub's database and cookie secret
        self.exchange.mkdir(exist_ok=True)
        self.exchange.chmod(0o777)  # nbgrader: everyone writes to the exchange
        for role in LAB_PLUGINS:
            _write_role_config(self, role)
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items() if k != "passwords"}
        data.update(proxy=str(PROXY), course_dir=str(self.course_dir), grader_home=str(self.grader_home),
                    grading_state=str(self.grading_state), grading_service=str(HUB_DIR / "grading_service.py"),
                    admin_token_file=str(self.admin_token_file))
        self.grading_state.mkdir(exist_ok=True)
        self.grading_state.chmod(0o700)
        if not self.admin_token_file.exists():
            self.admin_token_file.write_text(secrets.token_hex(32))
        self.admin_token_file.chmod(0o600)
        self.settings_file.write_text(json.dumps(data, indent=2))
        return self.settings_file


GLOBAL_NBGRADER_CONFIG = '''\
# nbgrader's global configuration for this class ("Using nbgrader with JupyterHub": the hub's
# groups say who takes and who teaches which course; the exchange keeps courses apart).
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
'''

FORMGRADER_NBGRADER_CONFIG = '''
# The grader account's course (the service named {course_id!r} serves it).
from pathlib import Path

from autograder.pipelines import nbgrader_config

c.merge(nbgrader_config(Path({course_dir!r})))
c.CourseDirectory.root = {course_dir!r}
c.CourseDirectory.course_id = {course_id!r}
'''


def _write_role_config(settings: ClassSettings, role: str) -> None:
    """JUPYTER_CONFIG_PATH of a role: nbgrader's settings and which of its panels the role sees."""
    folder = settings.root / "etc" / role
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "jupyter_server_config.d").mkdir(exist_ok=True)
    config = GLOBAL_NBGRADER_CONFIG.format(exchange=str(settings.exchange))
    if role == "formgrader":
        config += FORMGRADER_NBGRADER_CONFIG.format(course_dir=str(settings.course_dir), course_id=settings.course_id)
    (folder / "nbgrader_config.py").write_text(config)
    disabled = {f"@jupyter/nbgrader:{plugin}": True for plugin in LAB_PLUGINS[role]}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}, indent=2))
    extensions = {f"nbgrader.server_extensions.{name}": False for name in SERVER_EXTENSIONS[role]}
    (folder / "jupyter_server_config.d" / "backprop-class.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": extensions}}, indent=2))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


# --- 3. accounts and the course folder ------------------------------------------------------


def user_exists(name: str) -> bool:
    return subprocess.run(["id", "-u", name], capture_output=True, check=False).returncode == 0


def create_user(name: str, password: str | None = None, shell: str = "/bin/bash") -> None:
    if not user_exists(name):
        run(["useradd", "--create-home", "--shell", shell, name])
    Path("/home", name).chmod(0o700)  # each home is private to its owner
    if password:
        run(["chpasswd"], input=f"{name}:{password}\n")


def create_users(settings: ClassSettings) -> None:
    for name in settings.users():
        settings.passwords.setdefault(name, secrets.token_urlsafe(12))
        create_user(name, settings.passwords[name])
    create_user(settings.grader, shell="/usr/sbin/nologin")  # runs the formgrader; nobody logs in as it
    create_course_folder(settings)


def create_course_folder(settings: ClassSettings) -> Path:
    """``python -m autograder init-course`` in the grader's home, owned by the grader, mode 0700."""
    if not (settings.course_dir / "nbgrader_config.py").exists():
        sys.path.insert(0, str(REPO_ROOT))
        from autograder.authoring import init_course

        init_course(settings.course_dir, settings.exchange)
    run(["chown", "-R", f"{settings.grader}:{settings.grader}", str(settings.course_dir)])
    settings.course_dir.chmod(0o700)
    return settings.course_dir


def as_user(settings: ClassSettings, user: str, command: list[str], cwd: Path, role: str,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user``, with the environment the hub gives that user's server."""
    home = Path("/home") / user
    env = {"PATH": f"{settings.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "USER": user,
           "JUPYTER_CONFIG_PATH": str(settings.root / "etc" / role), "JUPYTER_PLATFORM_DIRS": "1", "LANG": "C.UTF-8"}
    command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]
    if check:
        return run(command, cwd=cwd, env=env)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def as_grader(settings: ClassSettings, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """A command in the course folder as the grader account, as an instructor types it in the formgrader's terminal."""
    return as_user(settings, settings.grader, [str(a) for a in args], settings.course_dir, "formgrader", check)


def release(settings: ClassSettings, assignments: list[str]) -> None:
    nbgrader = str(settings.venv / "bin" / "nbgrader")
    for assignment in assignments:
        as_grader(settings, nbgrader, "generate_assignment", assignment, "--force")
        as_grader(settings, nbgrader, "release_assignment", assignment, "--force")


def remove_users(names: list[str]) -> None:
    """Stop whatever the accounts still run, then delete them with their homes."""
    import psutil

    for name in names:
        if not user_exists(name):
            continue
        uid = int(run(["id", "-u", name]).stdout)
        procs = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
        for process in procs:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(procs, timeout=10)
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


# --- 4. the hub -----------------------------------------------------------------------------


class Hub:
    """JupyterHub (and the proxy it starts) for a class; stopped with everything it started."""

    def __init__(self, settings: ClassSettings) -> None:
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.log_path = settings.root / "hub" / "jupyterhub.log"

    def start(self, timeout: float = 90) -> Hub:
        env = {"PATH": f"{self.settings.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               SETTINGS_ENV: str(self.settings.settings_file), "JUPYTER_PLATFORM_DIRS": "1"}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(self.settings.venv / "bin" / "jupyterhub"), "-f", str(CONFIG_FILE)],
            cwd=self.settings.root / "hub", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClassError(f"JupyterHub exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.settings.url}/hub/api",
                                                                        timeout=5) as response:
                if response.status == 200:
                    return self
            time.sleep(0.5)
        self.stop()
        raise ClassError(f"JupyterHub did not answer on {self.settings.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM: JupyterHub stops the users' servers, the formgrader service and the proxy."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid_file in ("proxy.pid",):  # the proxy outlives a hub that was killed
            path = self.settings.root / "hub" / pid_file
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(path.read_text()), signal.SIGTERM)


def set_up(settings: ClassSettings, log=print) -> ClassSettings:
    """Steps 1-3: everything but starting the hub."""
    if os.geteuid() != 0:
        raise ClassError("a class on one machine is set up as root (it creates Unix accounts, and the hub "
                         "starts each user's server as that user)")
    install_environment(settings.venv, log)
    settings.write()
    log(f"creating the accounts: instructors {', '.join(settings.instructors)}; "
        f"students {', '.join(settings.students)}; grader account {settings.grader}")
    create_users(settings)
    protect_checkout(log)
    return settings


#: The checkout's folders that hold answers: the masters (hidden tests), the solutions, the suite
#: (its right and wrong answers) and the history of all of them.
ANSWER_FOLDERS = ("source", "solutions", "tests", ".git")


def protect_checkout(log=print) -> None:
    """Close the checkout's answers to other users. The rest stays readable: a grading kernel runs
    as a throwaway user and imports ``autograder`` (and may use the checkout's venv) from here."""
    for name in ANSWER_FOLDERS:
        folder = REPO_ROOT / name
        if folder.is_dir() and folder.stat().st_mode & 0o007:
            log(f"closing {folder} to other users (chmod o-rwx): it holds answers")
            folder.chmod(folder.stat().st_mode & ~0o007)


# --- the demo -------------------------------------------------------------------------------

DEMO_ROOT = Path("/srv/backprop-class")
DEMO = {"instructors": ["demo-instructor"], "students": ["demo-student1", "demo-student2"]}


def demo_settings(port: int) -> ClassSettings:
    """The demo on ``port``; the hub, the proxy's API and the formgrader on free ports of 127.0.0.1."""
    return ClassSettings(root=DEMO_ROOT, port=port, hub_port=free_port(), proxy_api_port=free_port(),
                         service_port=free_port(), grading_port=free_port(), **DEMO)


def _assignments() -> list[str]:
    return sorted(p.name for p in (REPO_ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())


def demo(args: argparse.Namespace) -> int:
    settings = set_up(demo_settings(args.port))
    hub = Hub(settings)
    try:
        hub.start()
        print("releasing the course's assignments")
        release(settings, _assignments())
        print(f"\nThe class is running on {settings.url}/ (Ctrl+C stops it). Log in as:")
        for name in settings.users():
            role = "instructor" if name in settings.instructors else "student"
            print(f"  {name:<18} password {settings.passwords[name]:<20} ({role})")
        print(f"Instructors grade in {settings.url}/services/{settings.course_id}/formgrader ;"
              f" the hub's log is {hub.log_path}")
        print("Remove the demo class (users, homes, folders) with: python hub/classroom.py remove")
        while hub.process.poll() is None:
            time.sleep(1)
        print(hub.log_tail())
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        hub.stop()


def remove(args: argparse.Namespace) -> int:
    settings = demo_settings(8000)
    remove_users([*settings.users(), settings.grader])
    shutil.rmtree(settings.root, ignore_errors=True)
    print(f"removed the demo class: its accounts and {settings.root}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python hub/classroom.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("demo", help="set up and start the demo class on 127.0.0.1")
    start.add_argument("--port", type=int, default=8000)
    start.set_defaults(run=demo)
    commands.add_parser("remove", help="remove the demo class").set_defaults(run=remove)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also in a log file
    try:
        return args.run(args)
    except ClassError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
