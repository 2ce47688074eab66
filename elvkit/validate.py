"""``elv validate NOTEBOOK``: check a notebook before submitting, on the student's own machine.

Three checks, the way the grader will see the notebook:

1. **Metadata intact**: a readable nbformat-4 notebook; every cell of the release that the grader needs
   (solution cells, test cells, read-only cells) is there, once, with its nbgrader metadata; test and
   read-only cells are unchanged (an edited one is restored when grading, and the edit is lost).
2. **Every visible test passes**: the notebook runs top to bottom in a fresh kernel in the grading budget
   (smoke mode), with the test cells as released. Hidden tests are not run here; they run when the notebook
   is graded.
3. **Within the grading budget**: the whole run and the slowest cell against the grader's limits.

What the release looked like comes from its *manifest* (:data:`MANIFESTS`): one JSON file per assignment
with the grade id, kind, points and — for the read-only cells — the source of every graded cell, and the
grader's limits. The course's student distribution ships the manifests inside ``elvkit``, so this module
needs nothing of the instructor's side; the instructor's ``elv validate`` builds the same manifest from the
release and may hand :func:`validate` its own runner (a sandboxed kernel).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["Validation", "validate", "as_json", "manifests", "find_manifest", "read_notebook", "cell_messages",
           "run_locally", "main", "MANIFESTS"]

#: where the student distribution keeps one release manifest per assignment (``<id>.json``)
MANIFESTS = Path(__file__).with_name("releases")
#: the grader's outcome of a notebook that ran to its end
GRADED = "graded"
#: what a written answer's cell says in the release (nbgrader's text stub): not an answer yet
ANSWER_STUB = "YOUR ANSWER HERE"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
    written: list = field(default_factory=list)         # (grade_id, points, answered) of each written answer

    @property
    def failed(self) -> list:
        """The visible tests that failed."""
        return [t for t in self.tests if t[2] == "fail"]

    @property
    def within_budget(self) -> bool:
        """Whether the run ended and kept to the grader's limits (whole notebook and slowest cell)."""
        return self.status == GRADED and self.seconds <= self.notebook_timeout and \
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
        if self.status != GRADED:
            lines.append(f"{bad}the run stopped: {self.message}")
        else:
            lines.append(f"{ok if self.within_budget else bad}ran in {self.seconds:.1f} s (limit "
                         f"{self.notebook_timeout} s); slowest cell {self.slowest[0] or '-'} "
                         f"{self.slowest[1]:.1f} s (limit {self.cell_timeout} s)")
        if self.written:
            lines += ["", "Written answers (graded by TAs after the deadline; a blank one scores 0)"]
            lines += [f"{ok if done else '  ---  '}{gid:34s} {points:>4g} pts  "
                      f"{'answered' if done else 'not answered yet'}" for gid, points, done in self.written]
        visible = [t for t in self.tests if t[2] != "hidden"]
        passed = sum(1 for t in visible if t[2] == "pass")
        lines += ["", f"{passed} of {len(visible)} visible test cells pass. " +
                  ("Ready to submit." if self.ok else "Fix what is marked FAIL before you submit.")]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# manifests and notebooks

def manifests(folder: Path | None = None) -> dict:
    """The release manifests in ``folder`` (default :data:`MANIFESTS`): assignment id -> manifest."""
    folder = Path(folder) if folder is not None else MANIFESTS
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        m = json.loads(path.read_text())
        found[m["assignment"]] = m
    return found


def find_manifest(path: Path, assignment: str | None = None, known: dict | None = None) -> dict:
    """The manifest of ``assignment``, or of the assignment whose notebook name the file ``path`` starts with,
    among ``known`` (assignment id -> manifest; default: :func:`manifests`).

    Raises
    ------
    KeyError
        When no manifest matches (its message lists the course's notebooks).
    """
    known = manifests() if known is None else known
    if not known:
        raise KeyError("this copy of elvkit holds no release manifests: run `elv validate` in the course's "
                       "student distribution (or, in the instructor's repository, with the grader installed)")
    if assignment is not None:
        if assignment not in known:
            raise KeyError(f"unknown assignment {assignment!r}; the course has {', '.join(sorted(known))}")
        return known[assignment]
    stem = Path(path).stem
    for m in known.values():
        if stem == m["notebook"] or stem.startswith(m["notebook"]):
            return m
    names = ", ".join(f"{m['notebook']}.ipynb ({m['assignment']})" for m in known.values())
    raise KeyError(f"{Path(path).name} is not one of the course's notebooks ({names}); name the assignment "
                   "with --assignment.")


def read_notebook(path: Path):
    """Read a notebook: ``(notebook, "")``, or ``(None, why it cannot be graded)`` for a file that is not UTF-8,
    not JSON or not a valid notebook (never raises for a bad file)."""
    import nbformat

    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        return None, f"not a readable notebook: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    try:
        nbformat.validate(nb)
    except Exception as exc:
        return None, f"invalid notebook structure: {str(exc).splitlines()[0][:200]}"
    return nb, ""


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
    return meta if isinstance(meta, dict) else {}


def _gid(cell) -> str | None:
    gid = _meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def cell_messages(nb) -> dict:
    """grade_id -> the error message of each graded cell of the executed notebook ``nb`` that failed (name and
    message, no traceback)."""
    out = {}
    for cell in nb.cells:
        gid = _gid(cell)
        if not gid or cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                ename, evalue = o.get("ename", "Error"), _ANSI.sub("", o.get("evalue", "")).strip()
                if ename == "NotImplementedError" and not evalue:
                    evalue = "a function this test calls is not written yet (it still raises NotImplementedError)"
                out[gid] = f"{ename}: {evalue}"
    return out


def _kind(meta: dict) -> str:
    return "solution cell" if meta.get("solution") else ("test cell" if meta.get("grade") else "read-only cell")


def _check_metadata(nb, manifest: dict, v: Validation) -> None:
    mine: dict = {}
    for c in nb.cells:
        if (gid := _gid(c)) is not None:
            mine.setdefault(gid, []).append(c)
    for entry in manifest["cells"]:
        gid, released = entry["grade_id"], entry["metadata"]
        kind = _kind(released)
        got = mine.get(gid, [])
        if not got:
            v.problems.append(f"the {kind} {gid} is missing (deleted, or its nbgrader metadata removed): the grader "
                              "cannot find your code for it" if released.get("solution") else
                              f"the {kind} {gid} is missing: it is added back when graded")
            continue
        if len(got) > 1:
            v.problems.append(f"the {kind} {gid} appears {len(got)} times: keep one")
        meta = _meta(got[0])
        if bool(meta.get("grade")) != bool(released.get("grade")) or \
                bool(meta.get("solution")) != bool(released.get("solution")):
            v.problems.append(f"the nbgrader metadata of {gid} was changed: it is restored when graded")
        if released.get("locked") and got[0].source.rstrip() != entry["source"].rstrip():
            v.problems.append(f"the {kind} {gid} was edited: it is restored from the original when graded, "
                              "and your edits are lost")
    if not v.problems:
        n_sol = sum(1 for e in manifest["cells"] if e["metadata"].get("solution"))
        n_test = sum(1 for e in manifest["cells"] if e["metadata"].get("grade"))
        v.notes.append(f"all {n_sol} solution cells and {n_test} test cells are there, unchanged, with their "
                       "metadata")


def _same_assignment(nb, manifest: dict, path: Path, known: dict) -> None:
    """Refuse a notebook none of whose graded cells belongs to the manifest's assignment (the wrong
    ``--assignment``, or another course's file): checking it would only list every cell as missing."""
    mine = {gid for c in nb.cells if (gid := _gid(c)) is not None}

    def share(m: dict) -> float:        # the part of m's graded cells that the notebook has
        ids = {e["grade_id"] for e in m["cells"]}
        return len(mine & ids) / max(1, len(ids))

    here = share(manifest)
    best = max(known.values(), key=share, default=manifest)
    if mine and (here == 0 or (best["assignment"] != manifest["assignment"] and share(best) > 2 * here)):
        raise ValueError(f"{path.name} is not a notebook of {manifest['assignment']}: it has {here:.0%} of its "
                         "graded cells" + (f"; it is {best['assignment']}'s (--assignment {best['assignment']})."
                                           if share(best) > here else "."))


def _runnable(nb, manifest: dict):
    """The notebook with its read-only cells as released (what the grader will run, hidden tests aside)."""
    released = {e["grade_id"]: e for e in manifest["cells"] if e["metadata"].get("locked")}
    run = copy.deepcopy(nb)
    for cell in run.cells:
        entry = released.get(_gid(cell))
        if entry is not None:
            cell.source = entry["source"]
            cell.metadata["nbgrader"] = copy.deepcopy(entry["metadata"])
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


# ----------------------------------------------------------------------------------------------
# running

def run_locally(nb, files: dict, cell_timeout: int, notebook_timeout: int):
    """Run ``nb`` top to bottom in a fresh kernel of this Python, in smoke mode, in a temporary folder holding
    ``files`` (relative path -> bytes). Returns ``(executed notebook, status, message, seconds)``; status is
    ``"graded"`` when it ran to its end."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    run = copy.deepcopy(nb)
    env = dict(os.environ, ELVKIT_SMOKE="1", NBGRADER_EXECUTION="autograde", MPLBACKEND="agg")
    status, message = GRADED, ""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="elv-validate-") as tmp:
        for rel, data in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_bytes(data)
        client = NotebookClient(run, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                                record_timing=True, resources={"metadata": {"path": tmp}})
        try:
            with client.setup_kernel(env=env, cwd=tmp, stderr=subprocess.DEVNULL):
                for index, cell in enumerate(run.cells):
                    if time.perf_counter() - start > notebook_timeout:
                        status, message = "timeout", f"the notebook ran past {notebook_timeout} s"
                        break
                    if cell.cell_type == "code":
                        client.execute_cell(cell, index)
        except CellTimeoutError:
            status, message = "timeout", f"a cell ran past {cell_timeout} s"
        except DeadKernelError as exc:
            status, message = "kernel-died", f"the kernel died ({str(exc).splitlines()[0][:120]})"
    return run, status, message, time.perf_counter() - start


def validate(path: Path, manifest: dict | None = None, *, assignment: str | None = None,
             cell_timeout: int | None = None, notebook_timeout: int | None = None, run=None,
             known: dict | None = None) -> Validation:
    """Check a student's notebook at ``path`` the way the grader will see it: metadata, every visible test run
    in a fresh kernel with the grader's limits, and the time it takes.

    ``manifest``: the release's manifest (default: the packaged one for ``assignment``, or guessed from the
    file's name); ``cell_timeout``/``notebook_timeout``: the grader's limits (default: the manifest's);
    ``run``: how to run the notebook, ``run(nb, files, cell_timeout, notebook_timeout) -> (executed, status,
    message, seconds)`` (default :func:`run_locally`); ``known``: the course's manifests (default
    :func:`manifests`). A notebook that cannot be read is a problem in it, not an exception.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    KeyError
        When the assignment cannot be told from the name (or the id is unknown).
    ValueError
        When none of the notebook's graded cells belongs to the assignment.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    m = manifest if manifest is not None else find_manifest(path, assignment, known)
    cell_timeout = int(cell_timeout or m["cell_timeout"])
    notebook_timeout = int(notebook_timeout or m["notebook_timeout"])
    v = Validation(assignment=f"{m['assignment']} — {m['title']}", cell_timeout=cell_timeout,
                   notebook_timeout=notebook_timeout)
    nb, problem = read_notebook(path)
    if nb is None:
        v.problems.append(f"{path.name} cannot be graded: {problem}")
        v.status, v.message = "malformed", problem
        return v
    _same_assignment(nb, m, path, manifests() if known is None else known)
    _check_metadata(nb, m, v)
    files = {rel: (path.parent / rel).read_bytes() for rel in m.get("files", []) if (path.parent / rel).is_file()}
    for rel in m.get("files", []):
        if rel not in files:
            v.notes.append(f"{rel} is not beside the notebook: the grader provides it, this run goes without")
    executed, v.status, v.message, v.seconds = (run or run_locally)(_runnable(nb, m), files, cell_timeout,
                                                                    notebook_timeout)
    messages = cell_messages(executed)
    hidden = {e["grade_id"] for e in m["cells"] if e["metadata"].get("grade") and not e["visible"]}
    slowest = ("", 0.0)
    for cell in executed.cells:
        gid = _gid(cell) or ""
        took = _duration(cell)
        if took > slowest[1]:
            slowest = (gid or "(a cell without id)", took)
        if not _meta(cell).get("grade") or cell.cell_type != "code":
            continue
        points = float(_meta(cell).get("points", 0))
        if gid in hidden:
            v.tests.append((gid, points, "hidden", ""))
        elif gid in messages:
            hint = " (a cell above that defines it failed or did not run: fix the first FAIL first)" \
                if messages[gid].startswith("NameError") else ""
            v.tests.append((gid, points, "fail", messages[gid] + hint))
        elif cell.get("execution_count") is None:
            v.tests.append((gid, points, "fail", f"did not run: {v.message or 'the run stopped before it'}"))
        else:
            v.tests.append((gid, points, "pass", ""))
    v.slowest = slowest
    for cell in nb.cells:          # the submitted text, not the run: an answer is data, nothing executes it
        meta = _meta(cell)
        if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
            text = " ".join(str(cell.get("source", "")).split())
            v.written.append((_gid(cell), float(meta.get("points", 0)), bool(text) and text != ANSWER_STUB))
    return v


def as_json(v: Validation) -> str:
    """The validation ``v`` as a JSON text (for scripts and course web pages)."""
    return json.dumps({"ok": v.ok, "problems": v.problems, "tests": v.tests, "written": v.written, "seconds": v.seconds,
                       "slowest": v.slowest, "status": v.status, "message": v.message}, indent=2)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``elv validate``'s arguments (the same in the student distribution and the instructor's ``elv``)."""
    p.add_argument("notebook", help="the notebook to check, e.g. assignments/01_stereo/stereo.ipynb")
    p.add_argument("--assignment", help="assignment id (default: from the notebook's name)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: the grader's limit)")
    p.add_argument("--timeout", type=int, help="seconds for the notebook (default: the grader's limit)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def main(argv=None) -> int:
    """The student distribution's ``elv``: ``elv validate NOTEBOOK`` and ``elv list``."""
    parser = argparse.ArgumentParser(prog="elv", description="The course's student tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_arguments(sub.add_parser("validate", help="check a notebook before submitting: metadata, visible "
                                                  "tests, budget"))
    sub.add_parser("list", help="the course's assignments")
    args = parser.parse_args(argv)
    if args.command == "list":
        for m in manifests().values():
            print(f"{m['assignment']:20s} {m['notebook']}.ipynb  {m['title']}")
        return 0
    try:
        v = validate(Path(args.notebook), assignment=args.assignment, cell_timeout=args.cell_timeout,
                     notebook_timeout=args.timeout)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"elv validate: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    print(as_json(v) if args.json else v.text())
    return 0 if v.ok else 1


if __name__ == "__main__":          # python -m elvkit.validate validate NOTEBOOK
    sys.exit(main())
