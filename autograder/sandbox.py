"""Where and as whom a submission's kernel runs while it is graded.

Every graded notebook runs in a fresh **scratch directory** that holds only a copy of that
submission's folder (its notebook and the assignment's data files), with a scrubbed
environment (no database URL, no tokens: only what a kernel needs).

When the grader runs as root, the kernel also runs as an **unprivileged user**: a numeric uid
of its own, different for every notebook graded, with no supplementary groups
(``setpriv --reuid --regid --clear-groups``). The scratch directory is the only place it can
write; the course root (gradebook, ``submitted/``, ``autograded/`` of other students) is made
inaccessible to other users before grading, so student code can neither change the gradebook
nor read another student's work. Processes the kernel leaves behind are killed by uid when the
notebook is done. The kernel talks to the grader over IPC sockets inside the scratch
directory, never over a TCP port another local user could reach.

Without root (an instructor grading under their own account) the kernel runs as the grader's
user: it is still confined to a scratch copy, but the operating system no longer stops it from
opening the grader's files. Grade untrusted classes as root (a container or CI job), or under
a dedicated account that owns nothing but the course.
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
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer, Unicode

from .course import GRADING_ENV

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
    if source_dir and Path(source_dir).is_dir():
        shutil.copytree(source_dir, work, symlinks=False)
    else:
        work.mkdir()
    for name in ("home", "runtime", "tmp"):
        (scratch / name).mkdir()
    _copy_font_cache(scratch / "home" / "matplotlib")
    if uid is not None:
        for path in [scratch, *scratch.rglob("*")]:
            os.lchown(path, uid, uid)
    scratch.chmod(0o700)
    return scratch


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


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel in a scratch directory, over IPC sockets, as ``uid`` when one is given."""

    scratch = Unicode("", help="the scratch directory of this kernel").tag(config=False)
    uid = Integer(None, allow_none=True, help="run the kernel as this uid (needs root)").tag(config=False)
    env = Dict({}, help="the kernel's whole environment").tag(config=False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = os.path.join(self.scratch, "runtime", "kernel")
        self.connection_file = os.path.join(self.scratch, "runtime", "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if self.uid is None:
            return command
        os.chown(self.connection_file, self.uid, self.uid)
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--", *command]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        kw["env"] = dict(self.env)
        kw["cwd"] = os.path.join(self.scratch, "work")
        await super()._async_launch_kernel(kernel_cmd, **kw)
