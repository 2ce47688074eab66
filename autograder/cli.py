"""``elv``: the course toolkit's command line.

    elv release [ASSIGNMENT ...] [--check]     build the student releases (instructors)
    elv grade ASSIGNMENT SUBMISSIONS --out RESULTS [--jobs N]   grade a batch (TAs)
    elv demo [--out DIR]                       release, build a demo class, grade it, show the gradebook
    elv validate NOTEBOOK                      students: check a notebook the way the grader will see it
    elv gradescope ASSIGNMENT --out FILE.zip   the autograder package for Gradescope
    elv list                                   the course's assignments
    elv new ID --title TITLE                   scaffold a new assignment folder (instructors)
    elv publish OUT [--check]                  the students' distribution: notebooks and elvkit, no solutions
    elv export RESULTS --lms canvas|brightspace --out FILE   the grades in the LMS's import layout
    elv formgrade RESULTS                      TAs: grade the written answers in nbgrader's formgrader
    elv lecture [TOPIC]                        instructors: the topic's live lecture demos in the browser
    elv slides TOPIC [--out FILE]              instructors: the topic's demos as a self-contained reveal.js deck
"""

from __future__ import annotations

import argparse
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
    from .course.release import check_release, release

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
    from .grading import GradeOptions
    from .grading.policy import LatePolicy, parse_time, read_roster

    roster = read_roster(Path(args.roster)) if getattr(args, "roster", None) else None
    late = None
    if getattr(args, "deadline", None):
        late = LatePolicy(parse_time(args.deadline, "--deadline"),
                          per_day=10.0 if args.late_per_day is None else args.late_per_day,
                          cap=args.late_cap, grace_minutes=args.grace, extensions=roster or {})
    elif getattr(args, "late_per_day", None) is not None:
        raise ValueError("--late-per-day needs --deadline: the penalty counts the days after it.")
    slurm = {}
    for item in getattr(args, "slurm_option", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--slurm-option takes KEY=VALUE (a dask-jobqueue SLURMCluster keyword); got {item!r}.")
        slurm[key.strip()] = value.strip()
    return GradeOptions(jobs=args.jobs, cell_timeout=args.cell_timeout, notebook_timeout=args.timeout,
                        db_url=args.db, progress=not args.no_progress, roster=roster, late=late,
                        gradescope=getattr(args, "gradescope", False), regrade=getattr(args, "regrade", False),
                        submitted_from_mtime=getattr(args, "submitted_from_mtime", False),
                        scheduler=getattr(args, "scheduler", None), device=getattr(args, "device", None),
                        slurm=slurm, memory_mb=getattr(args, "memory", 6144) or None,
                        sandbox=getattr(args, "sandbox", "auto"), kernel_user=getattr(args, "kernel_user", None))


def _print_results(a, results, out: Path, elapsed: float) -> None:
    from .outputs.report import gradebook_table, summary_text

    print()
    print(summary_text(a, results))
    print(gradebook_table(a, results))
    print()
    count = sum(1 for r in results if r.status != "ignored")
    n = max(1, count)
    print(f"Graded {count} submission(s) in {elapsed:.1f} s ({elapsed / n:.1f} s each).")
    print(f"Gradebook, grades.csv, summary and feedback/ are in {out}/")


def _cmd_grade(args) -> int:
    from .course import get_assignment
    from .grading import STATUS_INFRA, find_submissions, grade
    from .grading.preflight import check_options, check_results_folder

    a = get_assignment(args.assignment)
    options = _grade_options(args)
    check_options(options)
    check_results_folder(Path(args.out), a.id)
    submissions, only = Path(args.submissions), list(args.student or [])
    if submissions.is_file() and submissions.suffix.lower() == ".zip":     # an LMS's bulk download
        from .grading.preflight import bind_results_folder
        from .grading.submissions import collect_zip

        bind_results_folder(Path(args.out), a.id)
        submissions = collect_zip(submissions, Path(args.out) / "collected")
        print(f"Unpacked {args.submissions} into {submissions}")
    elif submissions.is_file():         # one notebook: <student>.ipynb, or <student>/<notebook>.ipynb
        if submissions.suffix.lower() != ".ipynb":
            raise ValueError(f"{submissions} is neither a folder of submissions, a zip of them, nor a notebook "
                             "(.ipynb).")
        folder_form = submissions.name == f"{a.notebook}.ipynb" and submissions.parent.parent != submissions.parent
        only.append(submissions.parent.name if folder_form else submissions.stem)
        submissions = submissions.parent.parent if folder_form else submissions.parent
    found = find_submissions(submissions, a.notebook, a.id, options.roster)
    known = {f.student for f in found if not f.ignored} | {f.original for f in found if not f.ignored}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(f"--student {unknown[0]}: no submission of that name in {submissions} (there are: "
                         f"{', '.join(sorted(f.student for f in found if not f.ignored)[:12]) or 'none'}).")
    options.only = tuple(only)
    if not [f for f in found if not f.ignored]:
        others = "; ".join(f"{f.original}: {f.note}" for f in found)
        raise ValueError(f"no submissions in {args.submissions}: expected <student>.ipynb files or <student>/ "
                         f"folders holding {a.notebook}.ipynb" + (f" (found only {others})" if others else "") + ".")
    start = time.perf_counter()
    results = grade(a, submissions, Path(args.out), options)
    _print_results(a, results, Path(args.out), time.perf_counter() - start)
    infra = [r.student for r in results if r.status == STATUS_INFRA]
    if infra:
        print(f"{len(infra)} submission(s) could not be graded because of the grader, not the student: "
              f"{', '.join(infra)}. Rerun to grade them.", file=sys.stderr)
        return 3
    return 0


def _cmd_demo(args) -> int:
    import shutil

    from .course import assignments, get_assignment
    from .course.classroom import build_class
    from .course.release import release
    from .grading import grade
    from .isolation.sandbox import probe

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
        options = _grade_options(args)
        if options.sandbox == "auto" and not probe()[0]:
            options.sandbox = "none"        # the demo class is the course's own code: no sandbox needed to trust it
        results = grade(a, cls, results_dir, options)
        _print_results(a, results, results_dir, time.perf_counter() - start)
        from .course.classroom import corpus_table

        print()
        try:
            print(corpus_table(a, results_dir))
        except (OSError, ValueError) as exc:      # no reference row (its grading failed): the gradebook says why
            print(f"No table of the mistakes: {exc}")
    return 0


def _cmd_validate(args) -> int:
    from elvkit.validate import as_json

    from .grading.validate import validate

    v = validate(Path(args.notebook), args.assignment, cell_timeout=args.cell_timeout,
                 notebook_timeout=args.timeout)
    print(as_json(v) if args.json else v.text())
    return 0 if v.ok else 1


def _cmd_gradescope(args) -> int:
    from .course import get_assignment
    from .outputs.gradescope import build_package

    a = get_assignment(args.assignment)
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; expected the zip file to write, e.g. "
                         f"{out / f'{a.id}-autograder.zip'}")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is not a folder" +
                         (" (it is a file)." if out.parent.exists() else " (it does not exist)."))
    path = build_package(a, out, timeout=args.timeout, cell_timeout=args.cell_timeout)
    print(f"Wrote {path}: upload it as the autograder of a Gradescope programming assignment "
          f"(students submit {a.notebook}.ipynb).")
    return 0


def _cmd_export(args) -> int:
    from .outputs.lms import export

    left_out = export(Path(args.results), args.lms, Path(args.out), column=args.column, missing=args.missing)
    print(f"Wrote {args.out}: import it in {args.lms.capitalize()}'s gradebook (Grades > Import).")
    if left_out:
        print(f"Left out, without an LMS id (not on the roster): {', '.join(left_out)}", file=sys.stderr)
    return 0


def _cmd_formgrade(args) -> int:
    from .outputs.formgrade import serve

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be a TCP port between 1 and 65535; got {args.port}.")
    return serve(Path(args.results), port=args.port, open_browser=not args.no_browser, db_url=args.db_url)


def _cmd_publish(args) -> int:
    from .course.publish import check, publish

    out = Path(args.out)
    if args.check:
        changes = check(out)
        if changes:
            print(f"A publish would change {len(changes)} file(s) in {out}:")
            print("\n".join(f"  {c}" for c in changes))
            return 1
        print(f"{out} is what `elv publish` writes: nothing to change.")
        return 0
    written = publish(out)
    print(f"Wrote the student distribution to {out}/ ({len(written)} files: elvkit, the released notebooks, the "
          "data registry, a README and the set-up files; no solution, spec, mistake or grader). Push it to the "
          "students' repository, or zip it for your LMS.")
    return 0


def _cmd_lecture(args) -> int:
    import shutil
    import tempfile

    from . import lecture
    from .servers import run_until_stopped

    chosen = [lecture.find_topic(args.topic)] if args.topic else lecture.topics()
    if not chosen:
        raise ValueError("the course has no lecture demos yet: add solutions/<id>/lecture.py (see `elv new`).")
    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be a TCP port between 1 and 65535; got {args.port}.")
    pages = lecture.MAX_KERNELS if args.max_pages is None else args.max_pages
    if pages < 1:
        raise ValueError(f"--max-pages must be at least 1; got {pages}.")
    try:
        import voila  # noqa: F401
    except ImportError:
        raise ImportError("the lecture demos need Voila and ipywidgets: pip install -e '.[lecture]'") from None
    import secrets

    port = args.port or lecture.free_port(8866)
    folder = Path(tempfile.mkdtemp(prefix="elv-lecture-"))
    try:
        paths = [lecture.build_notebook(t, folder) for t in chosen]
        target = paths[0] if len(paths) == 1 else folder
        env = lecture.jupyter_env()
        if args.device:
            env["ELVKIT_DEVICE"] = args.device
        token = secrets.token_urlsafe(24)
        lecture.voila_config(folder, token, max_kernels=pages)
        url = lecture.lecture_url(port, token)
        names = ", ".join(t.name for t in chosen)
        print(f"Lecture demos ({names}) at\n  {url}" + ("" if len(paths) == 1 else "\n(one page per topic)"))
        print(f"The address carries this server's token: only a browser that opened it can use the demos. Each page "
              f"computes its first pictures when it opens (a few seconds); at most {pages} pages run at "
              "once. Ctrl-C stops the server.")
        sys.stdout.flush()
        if not args.no_browser:
            _open_when_up(url, port)
        # a `kill` as well as Ctrl-C stops Voila; then the notebooks are removed
        return run_until_stopped(lecture.voila_command(target, port), env=env, cwd=folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _open_when_up(url: str, port: int) -> None:
    """Open ``url`` in the user's browser once something listens on ``port`` (in a thread: the server is started
    after this returns)."""
    import socket
    import threading
    import time
    import webbrowser

    def wait_then_open():
        for _ in range(600):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    webbrowser.open(url)
                    return
            time.sleep(0.1)

    threading.Thread(target=wait_then_open, daemon=True).start()


def _cmd_slides(args) -> int:
    from . import lecture

    topic = lecture.find_topic(args.topic)
    out = Path(args.out or f"{topic.name}-slides.html")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; expected the HTML file to write, e.g. {out / f'{topic.name}-slides.html'}")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: {out.parent} is not a folder" + (" (it is a file)." if out.parent.exists() else
                                                                         " (it does not exist)."))
    n = len(lecture.load_demos(topic).DEMOS)
    print(f"Drawing the {n} demos of {topic.name} at their default values...")
    lecture.export_slides(topic, out)
    print(f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB): one file, reveal.js and the pictures inline; open it in "
          "any browser, no Python or network needed (arrow keys move between slides).")
    return 0


def _cmd_new(args) -> int:
    from .course.scaffold import new_assignment

    a = new_assignment(args.id, args.title, release=not args.no_release)
    print(f"Wrote {a.solution_dir.relative_to(a.solution_dir.parents[1])}/: {a.source.name} (the notebook: edit it), "
          "spec.py (hidden tests), mistakes/ (the demo class's wrong answers)"
          + ("" if args.no_release else f", and its release assignments/{a.id}/") + ".")
    print("Next: write the questions, then `elv release` and `make test`; the tests, the demo and the bench "
          "find the new assignment by themselves.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``elv`` command line's parser (one sub-command per task; see :mod:`autograder.parser`)."""
    from .parser import build

    return build({"list": _cmd_list, "release": _cmd_release, "grade": _cmd_grade, "validate": _cmd_validate,
                  "export": _cmd_export, "formgrade": _cmd_formgrade, "gradescope": _cmd_gradescope, "publish": _cmd_publish, "new": _cmd_new,
                  "demo": _cmd_demo, "lecture": _cmd_lecture, "slides": _cmd_slides})


def main(argv=None) -> int:
    """Run ``elv`` with ``argv`` (the process's arguments when None); returns the exit status: 0 when all
    went well, 1 when a check failed, 2 for a usage or input error (with a one-line message), 3 when the
    grader itself could not grade some submissions."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ImportError as exc:
        message = exc.args[0] if exc.args else str(exc)
        if "pip install" not in message:
            message += ". The grading tools are an extra of the package: pip install -e '.[grader]'"
        print(f"elv: {message}", file=sys.stderr)
        return 2
    except OSError as exc:          # a file or folder of the command's: its name and the system's reason
        if exc.strerror:
            message = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
        else:
            message = exc.args[0] if exc.args else type(exc).__name__
        print(f"elv: {message}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, RuntimeError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"elv: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
