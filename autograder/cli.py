"""``python -m autograder``: the course's command line."""

from __future__ import annotations

import argparse
import sys

from . import course


def _generate(args: argparse.Namespace) -> int:
    for assignment_id in course.generate(assignments=args.assignments or None):
        print(f"generated exercises/{assignment_id} and solutions/{assignment_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser(
        "generate", help="rebuild exercises/ and solutions/ from source/ (all assignments by default)"
    )
    generate.add_argument("assignments", nargs="*", help="assignment ids, e.g. 01_chain_rule")
    generate.set_defaults(run=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except course.CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
