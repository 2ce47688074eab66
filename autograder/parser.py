"""The parser of ``elv``: each sub-command's arguments, and its help: what it reads, what it writes or
overwrites, and an example (``elv grade --help``)."""

from __future__ import annotations

import argparse
import os

from elvkit.validate import add_arguments as add_validate_arguments

__all__ = ["build"]

#: sub-command -> (what it reads and writes, an example)
ABOUT = {
    "list": ("Reads the course's solutions/<id>/ folders; writes nothing.", "elv list"),
    "release": ("Reads solutions/<id>/ (the percent script and its student_files/); writes assignments/<id>/ "
                "(replaced) and the instructor's solution notebook solutions/<id>/<name>.ipynb. With --check "
                "it writes nothing and fails when the committed release is stale or leaks.",
                "elv release 01_stereo\n  elv release --check"),
    "grade": ("Reads SUBMISSIONS (a folder, an LMS's zip, or one notebook) and --roster; writes RESULTS/: "
              "grades.csv, gradebook.db, report.html, summary.txt/json, histogram.png, feedback/, autograded/, "
              "journal.jsonl (and collected/ for a zip). A rerun keeps the results of unchanged submissions and "
              "rewrites the outputs; a RESULTS folder of another assignment is refused. Nothing is written when "
              "an option, the database or the scheduler is wrong.",
              "elv grade 01_stereo submissions/ --out results/01_stereo --roster roster.csv \\\n"
              "      --deadline 2026-12-01T23:59 --late-per-day 10\n"
              "  elv grade 01_stereo submissions/ --out results/01_stereo --student alice --regrade"),
    "validate": ("Reads NOTEBOOK; runs it in a fresh kernel in a temporary folder (in the grader's sandbox); "
                 "writes nothing. Exit status 0: ready to submit; 1: something to fix.",
                 "elv validate assignments/01_stereo/stereo.ipynb"),
    "export": ("Reads RESULTS/grades.csv (final scores, late penalties included); writes --out (overwritten) "
               "in your LMS's import layout: Canvas (Student, ID, SIS User ID, SIS Login ID, Section, then the "
               "assignment) or Brightspace (OrgDefinedId, '<item> Points Grade', End-of-Line Indicator). "
               "Students without an LMS id are left out and named.",
               "elv export results/01_stereo --lms canvas --out canvas-a1.csv --column 'Assignment 1 (123456)'"),
    "formgrade": ("Reads RESULTS (written by elv grade); writes RESULTS/nbgrader/nbgrader_config.py and the TAs' "
                  "copies of the graded notebooks under RESULTS/nbgrader/autograded/ (each written answer followed "
                  "by its model answer and rubric), then serves nbgrader's formgrader until Ctrl-C. The scores "
                  "and comments TAs enter go into the gradebook; the next `elv grade` run on RESULTS puts them in "
                  "grades.csv, the feedback pages and Gradescope's results.",
                  "elv formgrade results/01_stereo --port 8890\n"
                  "  elv grade 01_stereo submissions/ --out results/01_stereo   # again: the TAs' scores counted"),
    "gradescope": ("Reads the course (the toolkit, the assignment's script, spec and release); writes the zip "
                   "--out (overwritten) to upload as a Gradescope programming assignment's autograder.",
                   "elv gradescope 01_stereo --out stereo-autograder.zip"),
    "publish": ("Reads the committed releases, elvkit/ and data/registry.toml; writes OUT, emptied first but "
                "for its .git and .venv. With --check it writes nothing and lists what would change.",
                "elv publish ../elv-students --check\n  elv publish ../elv-students"),
    "new": ("Writes solutions/ID/ (a new folder: an existing one is refused) and its release assignments/ID/.",
            'elv new 03_ncuts --title "Assignment 3: Normalized Cuts"'),
    "lecture": ("Reads solutions/<id>/lecture.py of the topic (of every topic without TOPIC); writes the demo notebooks "
                "to a temporary folder (removed on exit) and serves them with Voila on 127.0.0.1 until Ctrl-C, behind a "
                "random token that the printed address carries (the browser it opens is signed in); a demo's slow first "
                "computation is kept in ~/.cache/elvkit/lecture (ELVKIT_LECTURE_CACHE).",
                "elv lecture stereo\n  elv lecture flow --port 9000 --no-browser\n  elv lecture      # every topic"),
    "slides": ("Reads solutions/<id>/lecture.py; runs every demo once at its default values; writes --out (default "
               "<topic>-slides.html, overwritten): one self-contained reveal.js file.",
               "elv slides stereo --out stereo-lecture.html"),
    "demo": ("Reads solutions/; rebuilds assignments/, then writes OUT/<id>/ (replaced): a class made of the reference, the blank "
             "release and every mistake, and its graded results.", "elv demo 01_stereo --out demo-results"),
}


def _about(name: str) -> dict:
    """The description and the example of a sub-command's help."""
    import textwrap

    reads, example = ABOUT[name]
    return {"description": textwrap.fill(reads, 100), "epilog": f"example:\n  {example}",
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def build(commands: dict) -> argparse.ArgumentParser:
    """The parser of ``elv``; ``commands``: sub-command -> the function that runs it."""
    from elvkit import __version__

    parser = argparse.ArgumentParser(prog="elv", description="The Embodied Learning and Vision course toolkit.")
    parser.add_argument("--version", action="version", version=f"elv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="the course's assignments and questions",
                       **_about("list"))
    p.set_defaults(func=commands["list"])

    p = sub.add_parser("release", help="build assignments/ from the solution scripts",
                       **_about("release"))
    p.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--check", action="store_true",
                   help="fail if the committed release is stale or holds a solution or hidden test")
    p.set_defaults(func=commands["release"])

    def grading_options(p):
        p.add_argument("--jobs", "-j", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                       help="notebooks graded in parallel (default: CPU cores, at most 4)")
        p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
        p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default 600)")
        p.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default: sqlite in the output folder)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument("--memory", type=int, default=6144,
                       help="MB of memory a notebook's kernel may allocate (default 6144; 0: no limit)")
        p.add_argument("--sandbox", choices=["auto", "bwrap", "user", "none"], default="auto",
                       help="keep each kernel from the grader's files: 'auto' (default) bubblewrap where it runs, "
                            "else the --kernel-user account, else refuse; 'bwrap' or 'user' insist on theirs; "
                            "'none' runs kernels with your rights (only for notebooks you trust)")
        p.add_argument("--kernel-user", metavar="NAME",
                       help="where bubblewrap cannot run (a container), run each kernel as this unprivileged "
                            "account; the grader (root) checks first that it cannot read the solutions or the "
                            "submissions")
        p.add_argument("--scheduler", help="run the notebooks on Dask: a scheduler ADDRESS (tcp://host:8786), "
                       "'local' (a LocalCluster of --jobs worker processes) or 'slurm' (--jobs Slurm jobs "
                       "through dask-jobqueue)")
        p.add_argument("--slurm-option", action="append", metavar="KEY=VALUE",
                       help="a dask-jobqueue SLURMCluster keyword, e.g. queue=gpu, account=cs123, memory=16GB")
        p.add_argument("--device", choices=["cpu", "cuda"],
                       help="where the notebooks' torch code runs (default: the GPU when there is one); with "
                            "several GPUs each local worker gets its own")

    p = sub.add_parser("grade", help="grade a folder of submitted notebooks",
                       **_about("grade"))
    p.add_argument("assignment", help="assignment id, e.g. 01_stereo")
    p.add_argument("submissions", help="folder of <student>.ipynb files or <student>/<notebook>.ipynb folders "
                                       "(or of an LMS's bulk download: Canvas names are matched to the roster's "
                                       "lms_id), a zip of them (unpacked into RESULTS/collected/), or one notebook "
                                       "(that student alone)")
    p.add_argument("--student", action="append", metavar="NAME",
                   help="grade only this student (repeatable; with --regrade, grade them again); the others keep "
                        "their earlier results in grades.csv")
    p.add_argument("--out", "-o", required=True, help="results folder")
    grading_options(p)
    p.add_argument("--roster", help="CSV with columns student, lms_id, name, email, extension: LMS ids in "
                   "grades.csv, students without a submission listed as missing, extensions honoured")
    p.add_argument("--deadline", help="ISO date-time (UTC unless a zone is given), e.g. 2026-12-01T23:59")
    p.add_argument("--late-per-day", type=float, default=None,
                   help="percent of the score lost per started day late (default 10; 100 = nbgrader's 'zero')")
    p.add_argument("--late-cap", type=float, default=100.0, help="largest late penalty in percent (default 100)")
    p.add_argument("--grace", type=float, default=0.0, help="minutes after the deadline still on time (default 0)")
    p.add_argument("--submitted-from-mtime", action="store_true",
                   help="for a submission without nbgrader's timestamp.txt, take the notebook file's modification "
                        "time as its submission time (only if the files were copied with their times kept, e.g. "
                        "cp -p or unzip); without it such a submission is flagged and loses nothing")
    p.add_argument("--regrade", action="store_true",
                   help="grade every submission again (by default a rerun keeps the results of unchanged "
                        "submissions, so an interrupted batch resumes)")
    p.add_argument("--gradescope", action="store_true",
                   help="also write Gradescope's results.json per student under RESULTS/gradescope/")
    p.set_defaults(func=commands["grade"])

    p = sub.add_parser("validate", help="check a notebook before submitting: metadata, visible tests, budget",
                       **_about("validate"))
    add_validate_arguments(p)
    p.set_defaults(func=commands["validate"])

    p = sub.add_parser("export", help="the grades of a results folder in your LMS's import layout",
                       **_about("export"))
    p.add_argument("results", help="a results folder written by elv grade")
    p.add_argument("--lms", required=True, choices=["canvas", "brightspace"], help="the LMS to import into")
    p.add_argument("--out", "-o", required=True, help="the CSV file to write (overwritten)")
    p.add_argument("--column", help="the grade column's header as your LMS names it (Canvas: 'Assignment 1 "
                                    "(123456)'; Brightspace: the grade item's name); default: the assignment's title")
    p.add_argument("--missing", choices=["blank", "zero"], default="blank",
                   help="what a roster student who submitted nothing gets: an empty cell (default; the LMS keeps "
                        "its grade) or 0")
    p.set_defaults(func=commands["export"])

    p = sub.add_parser("formgrade", help="TAs: grade the written answers of a graded batch in nbgrader's formgrader",
                       **_about("formgrade"))
    p.add_argument("results", help="a results folder written by elv grade")
    p.add_argument("--port", type=int, default=8890, help="the port to serve on (default 8890)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the address")
    p.add_argument("--db-url", help="the gradebook's SQLAlchemy URL when elv grade was given one (default: "
                                    "RESULTS/gradebook.db)")
    p.set_defaults(func=commands["formgrade"])

    p = sub.add_parser("gradescope", help="build the autograder zip for Gradescope",
                       **_about("gradescope"))
    p.add_argument("assignment", help="assignment id, e.g. 02_optical_flow")
    p.add_argument("--out", "-o", required=True, help="the zip to write")
    p.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default 600)")
    p.set_defaults(func=commands["gradescope"])

    p = sub.add_parser("publish", help="write the students' distribution: notebooks and elvkit, no solutions",
                       **_about("publish"))
    p.add_argument("out", help="the folder to write (its .git is kept), e.g. ../elv-students")
    p.add_argument("--check", action="store_true", help="only say what a publish would change in OUT")
    p.set_defaults(func=commands["publish"])

    p = sub.add_parser("new", help="scaffold a new assignment: solutions/ID/ with a script, a spec and mistakes",
                       **_about("new"))
    p.add_argument("id", help="the assignment's id: two digits, an underscore and a name, e.g. 03_ncuts")
    p.add_argument("--title", required=True, help='its title, e.g. "Assignment 3: Normalized Cuts"')
    p.add_argument("--no-release", action="store_true", help="do not build its release now")
    p.set_defaults(func=commands["new"])

    p = sub.add_parser("lecture", help="instructors: serve a topic's live lecture demos in the browser",
                       **_about("lecture"))
    p.add_argument("topic", nargs="?", help="stereo, flow, ssl, ncut, slots, or an assignment id (default: every topic)")
    p.add_argument("--port", type=int, default=None, help="the port to serve on (default 8866, or a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the address")
    p.add_argument("--device", choices=("cpu", "cuda", "mps"), help="where the demos compute (default: the GPU "
                                                                    "when there is one)")
    p.add_argument("--max-pages", type=int, default=None, help="the most demo pages (kernels) served at once "
                                                                "(default 8)")
    p.set_defaults(func=commands["lecture"])

    p = sub.add_parser("slides", help="instructors: export a topic's demos as a self-contained reveal.js deck",
                       **_about("slides"))
    p.add_argument("topic", help="stereo, flow, ssl, ncut, slots, or an assignment id")
    p.add_argument("--out", "-o", help="the HTML file to write (default <topic>-slides.html)")
    p.set_defaults(func=commands["slides"])

    p = sub.add_parser("demo", help="release, build a demo class (reference, blank, every mistake), grade it",
                       **_about("demo"))
    p.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    p.add_argument("--out", "-o", default="demo-results", help="where to write the class and results")
    grading_options(p)
    p.set_defaults(func=commands["demo"])
    return parser


