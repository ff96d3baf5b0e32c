"""``python -m autograder.service log``: the instructor's log of every check the grading service ran.

    python -m autograder.service log --state /srv/backprop-class/grading [--hours 24] [--learner NAME] [--json]

Who asked, when, for which assignment, and the score (as root: the state folder is root's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import STATE_ENV, ServiceConfig
from .store import Store


def _when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else "-"


def show_log(args: argparse.Namespace) -> int:
    database = Path(args.state) / "checks.sqlite"
    if not database.is_file():
        print(f"no checks yet: {database} does not exist", file=sys.stderr)
        return 1
    store = Store(database, checks_per_hour=0)
    rows = store.log(since=time.time() - args.hours * 3600 if args.hours else 0.0, learner=args.learner)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'asked at':<19}  {'learner':<20} {'assignment':<28} {'state':<7} score")
    for row in rows:
        score = f"{row['score']:g} / {row['max_score']:g}" if row["score"] is not None else "-"
        print(f"{_when(row['created']):<19}  {row['learner']:<20} {row['assignment']:<28} {row['state']:<7} {score}")
    print(f"{len(rows)} checks")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.service", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    log = commands.add_parser("log", help="every check: who, when, which assignment, the score")
    log.add_argument("--state", default=str(ServiceConfig.from_env().state_dir),
                     help=f"the service's state folder (default: ${STATE_ENV} or the container's)")
    log.add_argument("--hours", type=float, default=0, help="only the last HOURS hours")
    log.add_argument("--learner", help="only this learner's checks")
    log.add_argument("--json", action="store_true", help="as JSON")
    log.set_defaults(run=show_log)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
