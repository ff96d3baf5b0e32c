"""``python -m autograder``: the course's command line.

Learners:
  check NOTEBOOK... | --all   grade your exercises with every test, hidden ones included
  fresh NOTEBOOK              a clean copy of an exercise (the old one is kept, timestamped)
Instructors:
  init-course DIR --exchange DIR   a course folder with the nbgrader configuration
  grade [ASSIGNMENT...]            autograde a whole class in parallel
  generate [ASSIGNMENT...]         rebuild exercises/ and solutions/ from source/
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from . import authoring, course


def _generate(args: argparse.Namespace) -> int:
    for assignment_id in authoring.generate(assignments=args.assignments or None):
        print(f"generated exercises/{assignment_id} and solutions/{assignment_id}")
    return 0


# --- check ------------------------------------------------------------------------------


def assignment_of(notebook: Path) -> str:
    """The assignment a learner's notebook belongs to: its file name, as in exercises/."""
    if not notebook.is_file():
        raise course.CourseError(f"{notebook} does not exist")
    return _known_exercise(notebook)


def _known_exercise(notebook: Path) -> str:
    known = course.assignment_ids()
    if notebook.stem not in known:
        raise course.CourseError(
            f"{notebook.name} is not one of the course's exercises ({', '.join(known)}): "
            "use the exercise's own file name, e.g. exercises/01_chain_rule/01_chain_rule.ipynb"
        )
    return notebook.stem


def _report_json(report, assignment_id: str) -> dict:
    return {
        "notebook": report.notebook,
        "assignment": assignment_id,
        "score": report.score,
        "max_score": report.max_score,
        "full_marks": report.error is None and report.max_score > 0 and report.score == report.max_score,
        "error": report.error,
        "notes": report.notes,
        "problems": [problem.record() for problem in report.problems],
        "tests": [{**asdict(result), "passed": result.passed} for result in report.results],
    }


def _check(args: argparse.Namespace) -> int:
    from .grading import grade_notebook
    from .selfcheck import format_report

    notebooks = [Path(p) for p in args.notebooks]
    if args.all:
        notebooks += [course.exercise_notebook(a) for a in course.assignment_ids()]
    if not notebooks:
        raise course.CourseError("name a notebook to check, or use --all")
    assignments = [assignment_of(notebook) for notebook in notebooks]  # fail early, before any grading
    reports, everything_passed = [], True
    for number, (notebook, assignment_id) in enumerate(zip(notebooks, assignments, strict=True), start=1):
        started = time.perf_counter()
        if len(notebooks) > 1:
            print(f"[{number}/{len(notebooks)}] checking {notebook} ...", file=sys.stderr, flush=True)
        report = grade_notebook(notebook, course.source_notebook(assignment_id), seed=args.seed, only=args.only)
        entry = _report_json(report, assignment_id)
        everything_passed &= entry["full_marks"]
        reports.append(entry)
        if not args.json:
            print(f"== {notebook} ({time.perf_counter() - started:.1f} s)")
            print(format_report(report))
    total = {"score": sum(r["score"] for r in reports), "max_score": sum(r["max_score"] for r in reports)}
    if args.json:
        print(json.dumps({"full_marks": everything_passed, **total, "notebooks": reports}, indent=2))
    elif len(reports) > 1:
        print(f"== all {len(reports)} notebooks: {total['score']:g} / {total['max_score']:g}")
    return 0 if everything_passed else 1


# --- fresh ------------------------------------------------------------------------------


def _fresh(args: argparse.Namespace) -> int:
    target = Path(args.notebook)
    if target.suffix != ".ipynb":  # an assignment id: its notebook in exercises/
        target = course.REPO_ROOT / course.EXERCISES_DIR / args.notebook / f"{args.notebook}.ipynb"
    _known_exercise(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.stem}.{time.strftime('%Y-%m-%d_%H-%M-%S')}{target.suffix}")
        target.rename(kept)
    authoring.fresh_exercise(target.stem, target)
    print(f"a fresh copy of {target.stem} is in {target}")
    if kept:
        print(f"your previous work is kept in {kept}")
    return 0


# --- instructors ------------------------------------------------------------------------


def _init_course(args: argparse.Namespace) -> int:
    config = authoring.init_course(Path(args.directory), Path(args.exchange), args.db_url)
    print(f"course folder ready: {config.parent} (configuration: {config.name}); run nbgrader commands from there")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .classroom import grade_class

    root = Path(args.root)
    if not (root / "submitted").is_dir():
        raise course.CourseError(f"{root.resolve()} has no submitted/ folder: run `nbgrader collect` first")
    overrides = {"HardenedExecute": {"seed": args.seed}} if args.seed is not None else None
    summary = grade_class(
        root, args.assignments, args.student, workers=args.workers, db_url=args.db_url, progress=not args.json,
        overrides=overrides,
    )
    from .misconceptions import REPORT_NAME, write_html

    report = write_html(summary.mistakes, root / REPORT_NAME)
    if args.json:
        print(json.dumps({"seconds": summary.seconds, "workers": summary.workers,
                          "outcomes": [o.record() for o in summary.outcomes],
                          "mistakes": summary.mistakes.rows(), "mistakes_report": str(report)}, indent=2))
    else:
        print(summary.text())
        print(f"the class's common mistakes, with their lesson sections: {report}")
    return 0 if not summary.failed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="grade your exercise notebooks with every test (hidden ones too)")
    check.add_argument("notebooks", nargs="*", help="e.g. exercises/01_chain_rule/01_chain_rule.ipynb")
    check.add_argument("--all", action="store_true", help="check every exercise in exercises/")
    check.add_argument("--json", action="store_true", help="print a machine-readable report")
    check.add_argument("--only", metavar="FUNCTION",
                       help="check one function quickly: its tests and everything before them")
    check.add_argument("--seed", type=int, help="replay a failing hidden test: give every test the seed it reported")
    check.set_defaults(run=_check)

    fresh = commands.add_parser("fresh", help="a clean copy of an exercise; the old one is kept, timestamped")
    fresh.add_argument("notebook", help="the exercise notebook, or an assignment id like 01_chain_rule")
    fresh.set_defaults(run=_fresh)

    init = commands.add_parser("init-course", help="an instructor's course folder for nbgrader")
    init.add_argument("directory")
    init.add_argument("--exchange", required=True, help="nbgrader's exchange directory (shared by everyone)")
    init.add_argument("--db-url", help="gradebook URL (default: SQLite gradebook.db in the course folder)")
    init.set_defaults(run=_init_course)

    grade = commands.add_parser("grade", help="autograde collected submissions in parallel, exactly as nbgrader")
    grade.add_argument("assignments", nargs="*", help="assignment ids (default: every collected one)")
    grade.add_argument("--root", default=".", help="the course folder (default: here)")
    grade.add_argument("--student", action="append", default=[], help="only this student (repeatable)")
    grade.add_argument("--workers", type=int, help="parallel graders (default: one per core)")
    grade.add_argument("--db-url", help="gradebook URL (default: the course folder's SQLite gradebook)")
    grade.add_argument("--json", action="store_true", help="print a machine-readable summary")
    grade.add_argument("--seed", type=int, help="give every test this seed (to replay what a student reported)")
    grade.set_defaults(run=_grade)

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
