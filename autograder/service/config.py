"""The grading service's names, ports, paths and limits: the one place they are written.

The hub's configuration (hub/jupyterhub_config.py), the service itself, the check cell, and the
Kubernetes manifests (deploy/k8s/, checked by tests/test_deploy_k8s.py) all take them from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..course import MEMORY_LIMIT_BYTES

#: The hub service's name: learners reach it at /services/grading/.
SERVICE_NAME = "grading"
PREFIX = f"/services/{SERVICE_NAME}/"
#: Where the service listens (on 127.0.0.1 on one machine, on the pod's port on Kubernetes).
DEFAULT_PORT = 10101
#: The scope a learner (and their server's token) needs to call the service.
ACCESS_SCOPE = f"access:services!service={SERVICE_NAME}"

# Environment variables. URL_ENV is set in every learner's server by the hub (Spawner.environment);
# the others configure the service process.
URL_ENV = "BACKPROP_GRADING_URL"
PORT_ENV = "BACKPROP_GRADING_PORT"
STATE_ENV = "BACKPROP_GRADING_STATE"
MASTERS_ENV = "BACKPROP_GRADING_MASTERS"
WORKERS_ENV = "BACKPROP_GRADING_WORKERS"
CAP_ENV = "BACKPROP_GRADING_CHECKS_PER_HOUR"
COURSE_ROOT_ENV = "BACKPROP_GRADING_COURSE_ROOT"
EXCHANGE_ENV = "BACKPROP_GRADING_EXCHANGE"
#: "0" lets the service grade where bubblewrap cannot jail a kernel (never for a class: see docs).
REQUIRE_JAIL_ENV = "BACKPROP_GRADING_REQUIRE_JAIL"
SERVICE_ENV_NAMES = (PORT_ENV, STATE_ENV, MASTERS_ENV, WORKERS_ENV, CAP_ENV, COURSE_ROOT_ENV, EXCHANGE_ENV,
                     REQUIRE_JAIL_ENV)

#: Checks each learner may ask for in any hour, unless the instructor sets another cap.
DEFAULT_CHECKS_PER_HOUR = 30
#: The largest notebook a learner may send (a saved exercise is tens of kilobytes).
MAX_NOTEBOOK_BYTES = 8 * 1024**2
#: A check that has not come back from its worker after this long counts as a dead worker.
JOB_TIMEOUT_SECONDS = 300
#: Each check is tried at most this often when the worker grading it dies.
MAX_ATTEMPTS = 2
#: Memory the service needs beside its workers' kernels (the web app, the workers' own Python).
SERVICE_OVERHEAD_BYTES = 1024**3

# Paths inside the Kubernetes pod (deploy/k8s/). The pod's kernels run as the service's own user
# (no root there), so everything private lives under the course root, which the jail hides: the
# masters (mounted read-only) and the queue (a volume of its own).
CONTAINER_COURSE_ROOT = "/srv/backprop-lab"
CONTAINER_MASTERS_DIR = f"{CONTAINER_COURSE_ROOT}/source"
CONTAINER_STATE_DIR = f"{CONTAINER_COURSE_ROOT}/grading"
#: The pod's user (not root) and its only writable places beside the queue.
CONTAINER_UID = 10101
CONTAINER_TMP = "/tmp"


def default_workers(cpus: int | None = None, memory_bytes: int | None = None) -> int:
    """One worker per core, as many as the machine's memory holds at the kernel's limit each."""
    cpus = cpus or len(os.sched_getaffinity(0))
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    by_memory = max(1, (memory_bytes - SERVICE_OVERHEAD_BYTES) // MEMORY_LIMIT_BYTES)
    return max(1, min(cpus, by_memory))


def memory_needed(workers: int) -> int:
    """What a service with ``workers`` workers may use: each kernel at its limit, plus the service."""
    return workers * MEMORY_LIMIT_BYTES + SERVICE_OVERHEAD_BYTES


@dataclass
class ServiceConfig:
    """How one grading service runs (from its environment: :meth:`from_env`)."""

    state_dir: Path
    masters: Path
    port: int = DEFAULT_PORT
    workers: int = field(default_factory=default_workers)
    checks_per_hour: int = DEFAULT_CHECKS_PER_HOUR
    #: The course folder (gradebook, submissions) and the exchange: hidden from grading kernels.
    course_root: str = ""
    exchange: str = ""
    #: Refuse to start where a grading kernel could not be jailed (autograder.sandbox.can_jail).
    require_jail: bool = True

    @classmethod
    def from_env(cls, env: dict | None = None) -> ServiceConfig:
        env = os.environ if env is None else env
        return cls(state_dir=Path(env.get(STATE_ENV, CONTAINER_STATE_DIR)),
                   masters=Path(env.get(MASTERS_ENV, CONTAINER_MASTERS_DIR)),
                   port=int(env.get(PORT_ENV, DEFAULT_PORT)),
                   workers=int(env.get(WORKERS_ENV) or default_workers()),
                   checks_per_hour=int(env.get(CAP_ENV, DEFAULT_CHECKS_PER_HOUR)),
                   course_root=env.get(COURSE_ROOT_ENV, ""), exchange=env.get(EXCHANGE_ENV, ""),
                   require_jail=env.get(REQUIRE_JAIL_ENV, "1") != "0")

    def to_env(self) -> dict[str, str]:
        return {STATE_ENV: str(self.state_dir), MASTERS_ENV: str(self.masters), PORT_ENV: str(self.port),
                WORKERS_ENV: str(self.workers), CAP_ENV: str(self.checks_per_hour),
                COURSE_ROOT_ENV: self.course_root, EXCHANGE_ENV: self.exchange,
                REQUIRE_JAIL_ENV: "1" if self.require_jail else "0"}

    def master(self, assignment: str) -> Path | None:
        """The master of ``assignment``, or None when there is no such assignment."""
        if not assignment or "/" in assignment or assignment.startswith("."):
            return None
        path = self.masters / assignment / f"{assignment}.ipynb"
        return path if path.is_file() else None
