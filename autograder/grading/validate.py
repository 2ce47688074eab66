"""``elv validate NOTEBOOK``: what a student runs before submitting.

Three checks, the way the grader will see the notebook:

1. **Metadata intact**: a readable nbformat-4 notebook; every cell of the
   release that the grader needs (solution cells, test cells, read-only cells)
   is there, once, with its nbgrader metadata; test and read-only cells are
   unchanged (an edited one is restored when grading, and the edit is lost).
2. **Every visible test passes**: the notebook runs top to bottom in a fresh
   kernel in the grading budget (smoke mode), with the test cells as released.
   Hidden tests are not run here; they run when the notebook is graded.
3. **Within the grading budget**: the whole run and the slowest cell against
   the grader's limits.
"""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..course import Assignment, assignments, get_assignment, kernel_files
from ..course.notebooks import grade_id, grade_meta, has_test_code

__all__ = ["Validation", "validate", "as_json"]


@dataclass
class Validation:
    """What ``elv validate`` found: metadata problems and notes, each test cell's outcome, the run's time."""

    assignment: str
    problems: list = field(default_factory=list)        # metadata problems: strings
    notes: list = field(default_factory=list)           # metadata facts that are fine
    tests: list = field(default_factory=list)           # (grade_id, points, "pass"|"fail"|"hidden", message)
    seconds: float = 0.0
    slowest: tuple = ("", 0.0)
    status: str = ""
    message: str = ""
    cell_timeout: int = 120
    notebook_timeout: int = 600

    @property
    def failed(self) -> list:
        """The visible tests that failed."""
        return [t for t in self.tests if t[2] == "fail"]

    @property
    def within_budget(self) -> bool:
        """Whether the run ended and kept to the grader's limits (whole notebook and slowest cell)."""
        return self.status == "graded" and self.seconds <= self.notebook_timeout and \
            self.slowest[1] <= self.cell_timeout

    @property
    def ok(self) -> bool:
        """Ready to submit: metadata intact, every visible test passing, within the budget."""
        return not self.problems and not self.failed and self.within_budget

    def text(self) -> str:
        """The report a student reads in the terminal."""
        ok, bad = "  ok   ", "  FAIL "
        lines = [f"Validating against {self.assignment}", "", "Metadata"]
        lines += [f"{ok}{n}" for n in self.notes] + [f"{bad}{p}" for p in self.problems]
        lines += ["", f"Visible tests (run as the grader runs them: smoke mode, {self.cell_timeout} s a cell, "
                      f"{self.notebook_timeout} s in all)"]
        for gid, points, state, message in self.tests:
            mark = {"pass": ok, "fail": bad, "hidden": "  ...  "}[state]
            detail = "hidden test: runs when your notebook is graded" if state == "hidden" else message
            lines.append(f"{mark}{gid:34s} {points:>4g} pts  {detail}".rstrip())
        lines += ["", "Budget"]
        if self.status != "graded":
            lines.append(f"{bad}the run stopped: {self.message}")
        else:
            within = self.seconds <= self.notebook_timeout and self.slowest[1] <= self.cell_timeout
            lines.append(f"{ok if within else bad}ran in {self.seconds:.1f} s (limit {self.notebook_timeout} s); "
                         f"slowest cell {self.slowest[0] or '-'} {self.slowest[1]:.1f} s "
                         f"(limit {self.cell_timeout} s)")
        visible = [t for t in self.tests if t[2] != "hidden"]
        passed = sum(1 for t in visible if t[2] == "pass")
        lines += ["", f"{passed} of {len(visible)} visible test cells pass. " +
                  ("Ready to submit." if self.ok else "Fix what is marked FAIL before you submit.")]
        return "\n".join(lines)


def _guess_assignment(path: Path) -> Assignment:
    """The assignment whose notebook name the file's name starts with."""
    stem = path.stem
    for a in assignments():
        if stem == a.notebook or stem.startswith(a.notebook):
            return a
    names = ", ".join(f"{a.notebook}.ipynb ({a.id})" for a in assignments())
    raise KeyError(f"{path.name} is not one of the course's notebooks ({names}); name the assignment with "
                   "--assignment.")


def _check_metadata(nb, release, v: Validation) -> None:
    def cells(book):
        out = {}
        for c in book.cells:
            gid = grade_id(c)
            if gid:
                out.setdefault(gid, []).append(c)
        return out

    mine, theirs = cells(nb), cells(release)
    for gid, group in theirs.items():
        ref = group[0]
        meta = ref.metadata["nbgrader"]
        kind = "solution cell" if meta.get("solution") else ("test cell" if meta.get("grade") else "read-only cell")
        got = mine.get(gid, [])
        if not got:
            if meta.get("solution"):
                v.problems.append(f"the {kind} {gid} is missing (deleted, or its nbgrader metadata removed): "
                                  "the grader cannot find your code for it")
            else:
                v.problems.append(f"the {kind} {gid} is missing: it is added back when graded")
            continue
        if len(got) > 1:
            v.problems.append(f"the {kind} {gid} appears {len(got)} times: keep one")
        cell = got[0]
        if cell.metadata["nbgrader"].get("grade") != meta.get("grade") or \
                cell.metadata["nbgrader"].get("solution") != meta.get("solution"):
            v.problems.append(f"the nbgrader metadata of {gid} was changed: it is restored when graded")
        if meta.get("locked") and cell.source.rstrip() != ref.source.rstrip():
            v.problems.append(f"the {kind} {gid} was edited: it is restored from the original when graded, "
                              "and your edits are lost")
    if not v.problems:
        n_sol = sum(1 for c in theirs.values() if c[0].metadata["nbgrader"].get("solution"))
        n_test = sum(1 for c in theirs.values() if c[0].metadata["nbgrader"].get("grade"))
        v.notes.append(f"all {n_sol} solution cells and {n_test} test cells are there, unchanged, with their "
                       "metadata")


def _runnable(nb, release):
    """The notebook with its read-only cells as released (what the grader will run, hidden tests aside)."""
    released = {gid: c for c in release.cells if (gid := grade_id(c))}
    run = copy.deepcopy(nb)
    for cell in run.cells:
        gid = grade_id(cell)
        if gid in released and released[gid].metadata["nbgrader"].get("locked"):
            cell.source = released[gid].source
            cell.metadata["nbgrader"] = copy.deepcopy(released[gid].metadata["nbgrader"])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return run


def _duration(cell) -> float:
    """Seconds a cell ran, from the timing metadata nbclient records (0 when absent)."""
    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        return (end - start).total_seconds()
    except (KeyError, ValueError):
        return 0.0


def validate(path: Path, assignment_id: str | None = None, *, cell_timeout: int = 120,
             notebook_timeout: int = 600) -> Validation:
    """Check a student's notebook at ``path`` the way the grader will see it (``assignment_id``: guessed
    from the file's name when None): metadata, every visible test run in a fresh kernel with the grader's
    limits, and the time it takes. Returns a :class:`Validation`; a notebook that cannot be read is a
    problem in it, not an exception.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    KeyError
        When the assignment cannot be told from the name (or the id is unknown).
    """
    import nbformat

    from ..integrity.judge import validation_plan
    from ..outputs.gradescope import cell_messages
    from .submissions import read_submission
    from .types import STATUS_GRADED, Job
    from .worker import work

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    a = get_assignment(assignment_id) if assignment_id else _guess_assignment(path)
    v = Validation(assignment=f"{a.id} — {a.title}", cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
    nb, problem = read_submission(path)
    if nb is None:
        v.problems.append(f"{path.name} cannot be graded: {problem}")
        v.status, v.message = "malformed", problem
        return v
    release = nbformat.read(a.release_notebook, as_version=4)
    _check_metadata(nb, release, v)
    run = _runnable(nb, release)
    with tempfile.TemporaryDirectory(prefix="elv-validate-") as tmp:
        done = work(Job(notebook=nbformat.writes(run), plan=validation_plan(release), files=kernel_files(a),
                        env={"ELVKIT_SMOKE": "1", "NBGRADER_EXECUTION": "autograde"}, cell_timeout=cell_timeout,
                        notebook_timeout=notebook_timeout, retries=1, workdir=str(Path(tmp) / "run")))
    executed = nbformat.reads(done.notebook, as_version=4)
    v.status, v.message, v.seconds = done.status, done.message, done.seconds
    messages = cell_messages(executed)
    slowest = ("", 0.0)
    # the test cells with nothing to run as released: their tests are all hidden
    hidden = {grade_id(c) for c in release.cells if grade_meta(c).get("grade") and not has_test_code(c.source)}
    for cell in executed.cells:
        gid = grade_id(cell) or ""
        took = _duration(cell)
        if took > slowest[1]:
            slowest = (gid or "(a cell without id)", took)
        if not grade_meta(cell).get("grade"):
            continue
        points = float(cell.metadata["nbgrader"].get("points", 0))
        if gid in hidden:
            v.tests.append((gid, points, "hidden", ""))
        else:
            passed = done.scores.get(gid) is not None and done.scores[gid] >= points - 1e-9
            v.tests.append((gid, points, "pass" if passed else "fail",
                            "" if passed else messages.get(gid, "did not run")))
    v.slowest = slowest
    if done.status != STATUS_GRADED:
        v.message = done.message
    return v


def as_json(v: Validation) -> str:
    """The validation ``v`` as a JSON text (for scripts and course web pages)."""
    return json.dumps({"ok": v.ok, "problems": v.problems, "tests": v.tests, "seconds": v.seconds,
                       "slowest": v.slowest, "status": v.status, "message": v.message}, indent=2)
