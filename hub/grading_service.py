"""The grading service: a JupyterHub-managed service that grades a learner's notebook with every test.

Started by the hub (hub/jupyterhub_config.py, service ``grading``) as root, so that each grading
kernel runs as a throwaway user (autograder/sandbox.py); configured by the environment variables
of :mod:`autograder.service.config`. Learners authenticate with a hub token (their server's
``JUPYTERHUB_API_TOKEN``, as the check cell sends it) that carries the scope
``access:services!service=grading``: JupyterHub's own ``HubAuth`` checks it.

    POST {prefix}api/checks        {"assignment": ..., "notebook": <the .ipynb file's text>}
                                   -> 202 {"id", "state", "position", "estimate_seconds", ...}
                                   -> 429 the hourly cap, and when the next check is allowed
    GET  {prefix}api/checks/<id>   -> the check's state, queue position, estimate, report (own checks only)
    GET  {prefix}api/status        -> workers, queued and running checks, seconds per check

Nothing here writes to the learner's files or to the exchange: a check is never a submission.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuthenticated
from tornado import web
from tornado.ioloop import IOLoop

from autograder import sandbox
from autograder.service.config import MAX_NOTEBOOK_BYTES, PREFIX, REQUIRE_JAIL_ENV, ServiceConfig
from autograder.service.store import CapReached, Store
from autograder.service.workers import WorkerPool

log = logging.getLogger("backprop-grading")


class Api(HubAuthenticated, web.RequestHandler):
    """Token authentication through the hub; API errors as JSON, never a login page."""

    def initialize(self, service) -> None:
        self.service = service

    def learner(self) -> str:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            raise web.HTTPError(403, "a learner's hub token with access to the grading service is needed")
        return user["name"]

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.finish({"error": message})

    def check_state(self, check: dict) -> dict:
        store, pool = self.service["store"], self.service["pool"]
        state = {"id": check["id"], "assignment": check["assignment"], "state": check["state"],
                 "report": check["report"], "checks_per_hour": store.checks_per_hour,
                 "checks_left": store.checks_left(check["learner"])}
        position = store.position(check["id"])
        if position is not None:
            per_check, workers = store.seconds_per_check(), len(pool.workers)
            rounds = (position + pool.busy) // workers + 1
            state.update(position=position, estimate_seconds=round(rounds * per_check, 1))
        return state


class Checks(Api):
    def post(self) -> None:
        learner = self.learner()
        if len(self.request.body) > MAX_NOTEBOOK_BYTES + 4096:
            raise web.HTTPError(413, f"the notebook is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB")
        try:
            body = json.loads(self.request.body)
            assignment, notebook = str(body["assignment"]), str(body["notebook"])
        except (ValueError, KeyError, TypeError) as error:
            raise web.HTTPError(400, "send {\"assignment\": ..., \"notebook\": ...} as JSON") from error
        config = self.service["config"]
        if config.master(assignment) is None:
            raise web.HTTPError(404, f"{assignment!r} is not an assignment of this course")
        store = self.service["store"]
        try:
            check_id = store.submit(learner, assignment, notebook.encode())
        except CapReached as cap:
            self.set_status(429)
            self.set_header("Retry-After", str(max(1, int(cap.next_allowed - time.time()))))
            self.finish({"error": str(cap), "checks_per_hour": cap.cap, "next_allowed": cap.next_allowed})
            return
        self.service["pool"].wake.set()
        log.info("check %s: %s, %s, queued", check_id[:8], learner, assignment)
        self.set_status(202)
        self.finish(self.check_state(store.get(check_id, learner)))


class Check(Api):
    def get(self, check_id: str) -> None:
        check = self.service["store"].get(check_id, self.learner())
        if check is None:  # someone else's check looks exactly like one that does not exist
            raise web.HTTPError(404, "no such check")
        self.finish(self.check_state(check))


class Status(Api):
    def get(self) -> None:
        self.learner()
        store, pool = self.service["store"], self.service["pool"]
        counts = store.counts()
        self.finish({"workers": len(pool.workers), "queued": counts.get("queued", 0),
                     "running": counts.get("running", 0), "checks_per_hour": store.checks_per_hour,
                     "seconds_per_check": round(store.seconds_per_check(), 2)})


def make_app(service: dict, prefix: str) -> web.Application:
    args = {"service": service}
    return web.Application([
        (f"{prefix}api/checks", Checks, args),
        (f"{prefix}api/checks/([A-Za-z0-9_-]+)", Check, args),
        (f"{prefix}api/status", Status, args),
    ])


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="[grading %(asctime)s] %(message)s")
    config = ServiceConfig.from_env()
    if config.require_jail and not sandbox.can_jail():
        # A service that strangers call never runs their code outside the jail (no network, the
        # course hidden): better no service (the check cell then runs the visible tests) than that.
        log.error("bubblewrap cannot jail a grading kernel here (apt-get install bubblewrap; on Kubernetes, "
                  "unprivileged user namespaces): not starting. Set %s=0 only to try the service out.",
                  REQUIRE_JAIL_ENV)
        return 1
    config.state_dir.mkdir(parents=True, exist_ok=True)
    config.state_dir.chmod(0o700)  # learners' notebooks wait here: closed to every other user
    store = Store(config.state_dir / "checks.sqlite", config.checks_per_hour)
    recovered = store.recover()
    pool = WorkerPool(store, config).start()
    service = {"config": config, "store": store, "pool": pool}
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://0.0.0.0:{config.port}"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", PREFIX)
    make_app(service, prefix).listen(url.port or config.port, address=url.hostname or "0.0.0.0")
    log.info("grading service on %s%s: %d workers, %d checks per learner per hour, %d checks recovered",
             url.geturl(), prefix, config.workers, config.checks_per_hour, recovered)

    def stop(*_) -> None:
        pool.stop()
        IOLoop.current().add_callback_from_signal(IOLoop.current().stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    IOLoop.current().start()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
