"""``elv``: the course toolkit's command line.

    elv release [ASSIGNMENT ...] [--check]     build the student releases (instructors)
    elv grade ASSIGNMENT SUBMISSIONS --out RESULTS [--jobs N]   grade a batch (TAs)
    elv demo [--out DIR]                       release, build a demo class, grade it, show the gradebook
    elv list                                   the course's assignments
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _cmd_list(args) -> int:
    from .course import assignments

    for a in assignments():
        print(f"{a.id:16s} {a.notebook}.ipynb   {a.title}")
        for q, title in a.questions.items():
            print(f"{'':16s}   {q}: {title}")
    return 0


def _cmd_release(args) -> int:
    from .release import check_release, release

    ids = args.assignment or None
    if args.check:
        problems = check_release(ids)
        if problems:
            print("The committed release is not what the solution scripts build:", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            print("Run `elv release` and commit assignments/.", file=sys.stderr)
            return 1
        print("assignments/ is up to date and holds no solution or hidden test.")
        return 0
    release(ids)
    return 0


def _grade_options(args):
    from .grade import GradeOptions

    return GradeOptions(jobs=args.jobs, cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                        db_url=args.db, progress=not args.no_progress)


def _print_results(a, results, out: Path, elapsed: float) -> None:
    from .report import gradebook_table, summary_text

    print()
    print(summary_text(a, results))
    print(gradebook_table(a, results))
    print()
    n = max(1, len(results))
    print(f"Graded {len(results)} submission(s) in {elapsed:.1f} s ({elapsed / n:.1f} s each).")
    print(f"Gradebook, grades.csv, summary and feedback/ are in {out}/")


def _cmd_grade(args) -> int:
    from .course import get_assignment
    from .grade import STATUS_INFRA, grade

    from .grade import find_submissions

    a = get_assignment(args.assignment)
    if not find_submissions(Path(args.submissions), a.notebook, a.id):
        print(f"elv: no submissions in {args.submissions}: expected <student>.ipynb files or <student>/ "
              f"folders holding {a.notebook}.ipynb.", file=sys.stderr)
        return 1
    start = time.perf_counter()
    results = grade(a.id, Path(args.submissions), Path(args.out), _grade_options(args))
    _print_results(a, results, Path(args.out), time.perf_counter() - start)
    infra = [r.student for r in results if r.status == STATUS_INFRA]
    if infra:
        print(f"{len(infra)} submission(s) could not be graded because of the grader, not the student: "
              f"{', '.join(infra)}. Rerun to grade them.", file=sys.stderr)
        return 3
    return 0


def _cmd_demo(args) -> int:
    import shutil

    from .classroom import build_class
    from .course import assignments, get_assignment
    from .grade import grade
    from .release import release

    chosen = [get_assignment(args.assignment)] if args.assignment else assignments()
    release([a.id for a in chosen])
    out = Path(args.out)
    for a in chosen:
        cls = out / a.id / "submissions"
        results_dir = out / a.id / "results"
        shutil.rmtree(out / a.id, ignore_errors=True)
        roster = build_class(a, cls)
        print(f"\nDemo class for {a.id}: {len(roster)} students")
        for student, what in roster.items():
            print(f"  {student:32s} {what}")
        start = time.perf_counter()
        results = grade(a.id, cls, results_dir, _grade_options(args))
        _print_results(a, results, results_dir, time.perf_counter() - start)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from elvkit import __version__

    parser = argparse.ArgumentParser(prog="elv", description="The Embodied Learning and Vision course toolkit.")
    parser.add_argument("--version", action="version", version=f"elv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="the course's assignments and questions")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("release", help="build assignments/ from the solution scripts")
    p.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--check", action="store_true",
                   help="fail if the committed release is stale or holds a solution or hidden test")
    p.set_defaults(func=_cmd_release)

    def grading_options(p):
        p.add_argument("--jobs", "-j", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                       help="notebooks graded in parallel (default: CPU cores, at most 4)")
        p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
        p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default 600)")
        p.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default: sqlite in the output folder)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    p.add_argument("assignment", help="assignment id, e.g. 01_stereo")
    p.add_argument("submissions", help="folder of <student>.ipynb files or <student>/<notebook>.ipynb folders")
    p.add_argument("--out", "-o", required=True, help="results folder")
    grading_options(p)
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("demo", help="release, build a demo class (reference, blank, every mistake), grade it")
    p.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    p.add_argument("--out", "-o", default="demo-results", help="where to write the class and results")
    grading_options(p)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        print(f"--jobs must be at least 1; got {args.jobs}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ImportError as exc:
        print(f"elv: {exc}. The grading tools are an extra of the package: pip install -e '.[grader]'",
              file=sys.stderr)
        return 2
    except (KeyError, FileNotFoundError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"elv: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
