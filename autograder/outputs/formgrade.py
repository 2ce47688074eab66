"""Written answers graded by people: nbgrader's formgrader, started on a results folder.

``elv grade`` scores every test and gives a blank written answer 0; the other written answers wait for a
person. :func:`prepare` lays out what nbgrader's formgrader reads, inside ``RESULTS/nbgrader`` (the course
folder whose gradebook ``elv grade`` writes): its configuration, and each graded notebook at the path
formgrader looks for, with the instructor's model answer and rubric shown under every written answer (for
the TA only: the students' feedback pages are made from ``RESULTS/autograded``, which is left as it is).
:func:`serve` starts a Jupyter server with formgrader on it. What a TA enters goes into the gradebook; the
next ``elv grade`` run on the same folder reads it back into grades.csv, the feedback pages and
Gradescope's results (nothing is graded again).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from ..course import Assignment, get_assignment
from ..course.nbgrader_course import COURSE_ID
from ..course.notebooks import SOLUTION, grade_id, grade_meta, marked_lines, read_source, write_notebook
from ..servers import run_until_stopped
from .feedback import MARKDOWN_FILTER, make_inert

__all__ = ["prepare", "serve", "rubrics", "login_url", "RUBRIC_MARK"]

#: how the TA's copy marks the rubric cell it adds under a written answer
RUBRIC_MARK = "elv-rubric"


def rubrics(a: Assignment) -> dict:
    """grade_id -> the model answer and rubric of each written answer (the solution region of its source
    cell), as markdown."""
    out = {}
    for cell in read_source(a.source).cells:
        meta = grade_meta(cell)
        if meta.get("grade") and (meta.get("solution") or cell.cell_type != "code"):
            out[meta["grade_id"]] = "\n".join(line for line, inside in marked_lines(cell.source, SOLUTION) if inside)
    return out


def _assignment_of(results: Path) -> Assignment:
    from ..grading.preflight import MARKER

    marker = results / MARKER
    if not marker.is_file():
        raise FileNotFoundError(f"RESULTS: {results} holds no results of `elv grade` ({MARKER} is missing); "
                                "give the folder you passed to `elv grade --out`.")
    try:
        aid = json.loads(marker.read_text(encoding="utf-8"))["assignment"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"RESULTS: {marker} is not a results marker written by `elv grade` ({exc}).") from None
    return get_assignment(aid)


def prepare(results: Path, db_url: str | None = None) -> tuple[Assignment, Path, list]:
    """Lay out ``results``'s course folder for formgrader; returns (the assignment, the course folder, the
    students whose notebooks formgrader can show)."""
    import nbformat

    results = Path(results).resolve()
    a = _assignment_of(results)
    root = results / "nbgrader"
    db_url = db_url or f"sqlite:///{(results / 'gradebook.db').resolve()}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "# written by `elv formgrade`: nbgrader's formgrader on the gradebook of `elv grade`\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {db_url!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n", encoding="utf-8")
    notes = rubrics(a)
    students = []
    for graded in sorted((results / "autograded").glob(f"*/{a.notebook}.ipynb")):
        student = graded.parent.name
        nb = nbformat.read(graded, as_version=4)
        make_inert(nb)                  # formgrader shows it in the TA's signed-in browser: nothing of the student's runs
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            gid = grade_id(cell)
            if gid in notes and notes[gid].strip():
                cells.append(nbformat.v4.new_markdown_cell(
                    "**For the TA — model answer and rubric** (not in the student's notebook or feedback):\n\n"
                    + notes[gid], metadata={RUBRIC_MARK: True}))
        nb.cells = cells
        write_notebook(nb, root / "autograded" / student / a.id / f"{a.notebook}.ipynb")
        students.append(student)
    return a, root, students


def login_url(base: str, token: str, page: str) -> str:
    """The address that logs a browser in with ``token`` (a cookie, so that formgrader's own requests are
    authorised too) and opens ``page``."""
    from urllib.parse import quote

    return f"{base}/login?next={quote(page, safe='')}&token={token}"


def serve(results: Path, *, port: int = 8890, open_browser: bool = True, db_url: str | None = None) -> int:
    """Start formgrader on ``results`` and wait until it is stopped (Ctrl-C); returns the server's status."""
    a, root, students = prepare(results, db_url)
    if not students:
        raise FileNotFoundError(f"RESULTS: {results} has no graded notebooks (autograded/ is empty): run `elv grade` "
                                "first.")
    token = secrets.token_hex(16)
    url = login_url(f"http://localhost:{port}", token, f"/formgrader/gradebook/{a.id}/{a.notebook}")
    command = [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.open_browser={open_browser}",
               "--ServerApp.default_url=/formgrader", "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:     # a container's root: Jupyter asks to be told
        command.append("--allow-root")
    print(f"Formgrader for {a.id}: {len(students)} graded notebook(s). Open\n  {url}\n"
          "and grade each written answer (the model answer and rubric are shown under it). Stop with Ctrl-C, then "
          f"run the same `elv grade` command again: grades.csv, the feedback pages and Gradescope's results take "
          "the scores you gave (nothing is graded again).", flush=True)
    server_config(root / "jupyter-config", token)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / "jupyter-config"))
    return run_until_stopped(command, cwd=root, env=env)       # Ctrl-C, a kill or a closed terminal stop it


def server_config(folder: Path, token: str) -> Path:
    """``<folder>/jupyter_server_config.json`` for formgrader's server: the token (in a file only its owner reads,
    never on a command line), every markdown cell rendered through the sanitiser, the submission pages'
    Content-Security-Policy (:mod:`autograder.outputs.formgrade_csp`, a server extension), and no kernel: the
    server that shows students' notebooks to a signed-in TA cannot run code, whatever a page asks of it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"IdentityProvider": {"token": token},
              "HTMLExporter": {"filters": {"markdown2html": MARKDOWN_FILTER}},
              "ServerApp": {"jpserver_extensions": {"autograder.outputs.formgrade_csp": True},
                            "kernel_manager_class": "autograder.outputs.formgrade_csp.NoKernels"}}
    path = folder / "jupyter_server_config.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    return path
