"""Where and as whom a submission's kernel runs while it is graded, and what it may touch.

Every graded notebook runs in a fresh **scratch directory** that holds only a copy of that
submission's folder (its notebook and the assignment's data files, never a link), with a
scrubbed environment (no database URL, no tokens: only what a kernel needs).

The kernel runs under **limits** (``prlimit``): address space (:data:`MEMORY_LIMIT_BYTES`), CPU
seconds, processes and threads, and the size of any file it writes.

It runs in a **jail** (bubblewrap, ``bwrap``, the sandbox Flatpak uses) when the machine has it:
the whole file system read-only, the scratch directory the only place it can write, no network
(a network namespace of its own: its loopback is its own, and the kernel's IPC sockets live in
the scratch directory), and the course's own files hidden behind empty folders: the course root
(gradebook, submissions), the exchange, and the repository's ``source/``, ``solutions/``,
``lessons/``, ``backprop_lab/`` and ``tests/``. Of the grader's own package only the modules the
kernel runs are left (:data:`KERNEL_MODULES`: the judge's agent, step 06's harness); the check
helpers and the tests' reference code hold answers (a numerical gradient, the capstone's network)
and run in the judge only. A graded answer can therefore neither import nor read the course's
own code, nor forge a submission in the exchange, nor reach the network.

When the grader runs as root, the kernel also runs as an **unprivileged user**: a numeric uid
of its own, different for every notebook graded, with no supplementary groups
(``setpriv --reuid --regid --clear-groups``). The course root is also made inaccessible to other
users before grading. Processes the kernel leaves behind are killed by uid when the notebook is
done. The kernel talks to the grader over IPC sockets inside the scratch directory, never over
a TCP port another local user could reach.

Without root (an instructor grading under their own account) the kernel runs as the grader's
user, still jailed and limited where bubblewrap can run unprivileged (user namespaces). Without
bubblewrap it is only confined to a scratch copy: grade untrusted classes as root in a container
or CI job with bubblewrap installed (``apt-get install bubblewrap``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.utils import run_sync
from jupyter_core.utils import ensure_async
from traitlets import Dict, DottedObjectName, Integer, List, Type, Unicode

from .course import (
    CPU_LIMIT_SECONDS,
    FILE_SIZE_LIMIT_BYTES,
    GRADING_ENV,
    MEMORY_LIMIT_BYTES,
    PROCESS_LIMIT,
    REPO_ROOT,
)

#: Sandbox uids are drawn from this range, far above any real account.
UID_RANGE = (1_500_000_000, 1_900_000_000)


@functools.cache
def can_switch_user() -> bool:
    """Root, setpriv, and a kernel that really starts as another user (probed once per process).

    The probe imports what a grading kernel needs as a throwaway uid: it fails when the Python
    installation or this package cannot be read by other users (then kernels run as the
    grader's own user, see the module docstring).
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    uid = fresh_uid()
    probe = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
             sys.executable, "-c", "import ipykernel, autograder.checks"]
    try:
        result = subprocess.run(probe, cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": "/"}, capture_output=True,
                                timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        kill_processes_of(uid)
    return result.returncode == 0


@functools.cache
def can_jail() -> bool:
    """bubblewrap is installed and can make a jail here (probed once per process)."""
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--die-with-parent", "--", "/bin/true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


#: The repository's folders that hold the course's answers and reference code.
COURSE_CODE = ("source", "solutions", "lessons", "backprop_lab", "exercises", "tests", "benchmarks", ".git")


def hidden_paths(course_root: str = "", exchange: str = "") -> list[str]:
    """What a grading kernel must not see: the course's answers, reference code and records."""
    paths = [str(REPO_ROOT / name) for name in COURSE_CODE]
    paths += [path for path in (course_root, exchange) if path]
    return [path for path in paths if os.path.isdir(path)]


def limits_command() -> list[str]:
    return ["prlimit", f"--as={MEMORY_LIMIT_BYTES}", f"--cpu={CPU_LIMIT_SECONDS}", f"--nproc={PROCESS_LIMIT}",
            f"--fsize={FILE_SIZE_LIMIT_BYTES}", "--"]


#: The grader's modules a grading kernel imports: the judge's agent (and the module that tells a
#: learner's error as a sentence) and step 06's harness. The rest of the package is hidden from it.
KERNEL_MODULES = ("__init__.py", "judge_agent.py", "explain.py", "torch_harness.py")
PACKAGE = os.path.dirname(os.path.abspath(__file__))


def package_view() -> list[str]:
    """bubblewrap's arguments that leave the kernel only :data:`KERNEL_MODULES` of this package."""
    command = ["--tmpfs", PACKAGE]
    for name in KERNEL_MODULES:
        command += ["--ro-bind", os.path.join(PACKAGE, name), os.path.join(PACKAGE, name)]
    return command


def jail_command(scratch: str, hidden: list[str], switch_user: bool) -> list[str]:
    """bubblewrap's arguments: read-only system, writable scratch, no network, course files hidden.

    ``switch_user``: bubblewrap runs as root and lets ``setpriv``, inside the jail, become the
    throwaway user (a real uid outside too, so no file of root's is ever the kernel's own).
    """
    # /tmp stays as it is, read-only (the course may live under it); the kernel's TMPDIR is its scratch.
    command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--unshare-ipc", "--die-with-parent"]
    for path in hidden:
        command += ["--tmpfs", path]
    # Root's home is hidden too; a Python installed under it (pyenv) is put back, read-only.
    command += ["--tmpfs", "/root"]
    python = os.path.realpath(sys.base_prefix)
    if python.startswith("/root/"):
        command += ["--ro-bind", python, python]
    command += package_view()
    if switch_user:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return [*command, "--bind", scratch, scratch, "--chdir", os.path.join(scratch, "work"), "--"]


def confined(command: list[str], scratch: str, uid: int | None, hidden: list[str]) -> list[str]:
    """``command`` under the limits, in the jail (when bubblewrap can), as ``uid`` (when given)."""
    user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] if uid is not None else []
    jail = jail_command(scratch, hidden, switch_user=uid is not None) if can_jail() else []
    return [*limits_command(), *jail, *user, *command]


def fresh_uid() -> int:
    """A uid no account and no other grading kernel uses."""
    return random.SystemRandom().randrange(*UID_RANGE)


def protect_course_root(root: str | os.PathLike) -> None:
    """Take every permission from "other" users on the course root (gradebook, submissions)."""
    path = Path(root)
    if path.is_dir():
        mode = path.stat().st_mode
        if mode & stat.S_IRWXO:
            path.chmod(mode & ~stat.S_IRWXO)


def make_scratch(source_dir: str | os.PathLike | None, uid: int | None) -> Path:
    """A private directory holding a copy of ``source_dir``, owned by ``uid`` when given."""
    scratch = Path(tempfile.mkdtemp(prefix="backprop-lab-kernel-"))
    work = scratch / "work"
    work.mkdir()
    if source_dir and Path(source_dir).is_dir():
        copy_regular_files(Path(source_dir), work)
    for name in ("home", "runtime", "tmp"):
        (scratch / name).mkdir()
    _copy_font_cache(scratch / "home" / "matplotlib")
    if uid is not None:
        for path in [scratch, *scratch.rglob("*")]:
            os.lchown(path, uid, uid)
    scratch.chmod(0o700)
    return scratch


def copy_regular_files(source: Path, target: Path, max_files: int = 1000) -> list[str]:
    """Copy the regular files and folders under ``source``; never follow or copy a link, a device
    or a pipe. Returns what was left out, and why."""
    left_out = []
    copied = 0
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative = Path(folder).relative_to(source)
        for name in sorted(dirs):
            if os.path.islink(os.path.join(folder, name)):
                left_out.append(f"{relative / name}: a link")
                dirs.remove(name)
            else:
                (target / relative / name).mkdir()
        for name in sorted(files):
            path = Path(folder) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                left_out.append(f"{relative / name}: {'a link' if stat.S_ISLNK(info.st_mode) else 'not a file'}")
            elif copied >= max_files:
                left_out.append(f"{relative / name}: more than {max_files} files")
            else:
                shutil.copyfile(path, target / relative / name, follow_symlinks=False)
                copied += 1
    return left_out


def _copy_font_cache(target: Path) -> None:
    """matplotlib builds its font list in seconds on first import: reuse the grader's."""
    target.mkdir(parents=True)
    cache = Path.home() / ".cache" / "matplotlib"
    for fontlist in cache.glob("fontlist-*.json") if cache.is_dir() else []:
        shutil.copy(fontlist, target / fontlist.name)


def kernel_env(scratch: Path) -> dict[str, str]:
    """The whole environment a grading kernel gets: nothing secret from the grader's."""
    home = scratch / "home"
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "agg",
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(home / "jupyter"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "TMPDIR": str(scratch / "tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",  # parallel graders share the cores: one thread per kernel
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"),
        GRADING_ENV: "1",
    }


def kill_processes_of(uid: int) -> None:
    """Kill whatever the sandbox uid left running (it is unique to one graded notebook)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid_line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) == uid:
            with contextlib.suppress(OSError):
                os.kill(int(status.parent.name), signal.SIGKILL)


def remove_scratch(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


async def _wait_for_ready(client, timeout: float | None = None) -> None:
    """jupyter_client's ``wait_for_ready`` without its last step, which listens to IOPub until it
    has been silent for 0.2 s: a fixed 0.2 s on every kernel start, twice per grade (nbclient's client
    and the judge's), where every reader of IOPub here takes only the messages of its own requests.

    Kept: the kernel answers ``kernel_info`` on the shell channel, and IOPub carries a message after
    it (it is connected, so no output of the first cell is lost); else the request is sent again."""
    deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
    while True:
        client.kernel_info()
        try:
            reply = await ensure_async(client.shell_channel.get_msg(timeout=1))
        except Empty:
            reply = None
        if reply is not None and reply["msg_type"] == "kernel_info_reply":
            try:
                await ensure_async(client.iopub_channel.get_msg(timeout=0.2))
            except Empty:
                pass
            else:
                client._handle_kernel_info_reply(reply)
                return
        if not await ensure_async(client.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class ReadyAsyncKernelClient(AsyncKernelClient):
    """nbclient's client of a grading kernel (:func:`_wait_for_ready`)."""

    wait_for_ready = _wait_for_ready


class ReadyBlockingKernelClient(BlockingKernelClient):
    """The judge's client of a grading kernel (:func:`_wait_for_ready`)."""

    wait_for_ready = run_sync(_wait_for_ready)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel in a scratch directory, over IPC sockets, as ``uid`` when one is given."""

    client_class = DottedObjectName("autograder.sandbox.ReadyAsyncKernelClient")
    client_factory = Type(ReadyAsyncKernelClient)

    scratch = Unicode("", help="the scratch directory of this kernel").tag(config=False)
    uid = Integer(None, allow_none=True, help="run the kernel as this uid (needs root)").tag(config=False)
    env = Dict({}, help="the kernel's whole environment").tag(config=False)
    hidden = List(Unicode(), help="folders the kernel must not see").tag(config=False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = os.path.join(self.scratch, "runtime", "kernel")
        self.connection_file = os.path.join(self.scratch, "runtime", "kernel.json")
        # An interrupt is a message the kernel turns into SIGINT for itself: a signal to the process
        # group would reach the jail's own process first, which would end the kernel.
        self.kernel_spec.interrupt_mode = "message"

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if self.uid is not None:
            os.chown(self.connection_file, self.uid, self.uid)
        return confined(command, self.scratch, self.uid, list(self.hidden))

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kw["env"] = dict(self.env)
        kw["cwd"] = os.path.join(self.scratch, "work")
        await super()._async_launch_kernel(kernel_cmd, **kw)
