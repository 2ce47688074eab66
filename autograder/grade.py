"""Grade a folder of submitted notebooks with nbgrader, in parallel, in one command.

``elv grade 01_stereo SUBMISSIONS/ --out RESULTS/ [--jobs N]``

Pipeline, per batch
    1. The assignment's source notebook is registered in nbgrader's gradebook
       (``generate_assignment``, run in-process, skipped when unchanged).
    2. Each submission is read and sanitised in this process, which is the
       gradebook's only writer: grading metadata taken from the release, outputs
       cleared, kernelspec reset, read-only and test cells restored from the
       source, deleted ones put back (nbgrader's preprocessors and ours).
    3. Worker processes execute the sanitised notebooks (nbgrader's ``Execute``
       preprocessor: a fresh kernel per notebook in the sandbox, a time limit per
       cell, and a watchdog for the whole notebook) and judge every test cell in
       their own process from what the kernel recorded (:mod:`autograder.judge`);
       the feedback page is rendered there too.
    4. This process writes the scores to the gradebook as they arrive, while a
       writer thread keeps the executed notebooks and the feedback pages (hidden
       tests' source removed); then ``grades.csv`` and the summary.

A submission that cannot be read, that times out or that kills its kernel gets
a status and a score (the cells that ran keep their points); the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import Assignment, get_assignment
from .judge import TAMPERING, CellWatch, plan, score
from .notebooks import grade_cells, read_source, write_notebook

__all__ = ["GradeOptions", "SubmissionResult", "find_submissions", "grade"]

STATUS_GRADED = "graded"
STATUS_TIMEOUT = "timeout"
STATUS_KERNEL_DIED = "kernel-died"
STATUS_MALFORMED = "malformed"
STATUS_MISSING = "missing"
STATUS_INFRA = "infrastructure-error"
STATUS_IGNORED = "ignored"           # an entry of the submissions folder that is not a submission

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")


@dataclass
class GradeOptions:
    jobs: int = 1
    cell_timeout: int = 120          # seconds per cell
    notebook_timeout: int = 600      # seconds per notebook
    kernel_retries: int = 2          # extra attempts when a kernel fails to start
    db_url: str | None = None        # default: sqlite:///RESULTS/gradebook.db
    progress: bool = True
    env: dict = field(default_factory=dict)
    roster: dict | None = None       # student -> policy.RosterEntry (LMS ids, extensions)
    late: object = None              # policy.LatePolicy, or None: no late penalty
    gradescope: bool = False         # also write RESULTS/gradescope/<student>/results.json
    regrade: bool = False            # ignore the journal of an earlier run: grade every submission again
    memory_mb: int | None = 6144     # a kernel's data segment (RLIMIT_DATA); None: no limit
    file_mb: int | None = 512        # the largest file a kernel may write (RLIMIT_FSIZE)
    scheduler: str | None = None     # Dask: a scheduler address, "local" (a LocalCluster) or "slurm"
    device: str | None = None        # "cpu" or "cuda": ELVKIT_DEVICE in the kernels; None: what is there
    slurm: dict = field(default_factory=dict)   # dask-jobqueue SLURMCluster keywords (queue, memory, ...)
    sandbox: str = "auto"            # "bwrap": kernels in bubblewrap (error if impossible); "none"; "auto"
    processes: int | None = 256      # tasks (processes and threads) a kernel may have at once

    @property
    def cpu_seconds(self) -> int:
        """A kernel's CPU-time limit: twice the notebook's wall-clock limit, at least a minute."""
        return max(self.notebook_timeout * 2, 60)


@dataclass
class SubmissionResult:
    student: str
    status: str
    message: str = ""
    scores: dict = field(default_factory=dict)      # grade_id -> score (None: needs manual grading)
    max_scores: dict = field(default_factory=dict)  # grade_id -> points
    flags: list = field(default_factory=list)
    source_file: str = ""
    sha256: str = ""
    seconds: float = 0.0                             # wall time in the worker (kernel and cells)
    judging: float = 0.0                             # the grader's own judging: hidden inputs, every verdict
    feedback: str = ""
    lms_id: str = ""
    name: str = ""
    submitted: str = ""                              # ISO time the submission was handed in
    late_days: int = 0
    penalty: float = 0.0                             # points taken off for lateness

    @property
    def raw_score(self) -> float:
        """The tests' points, before any late penalty."""
        return float(sum(s for s in self.scores.values() if s is not None))

    @property
    def score(self) -> float:
        """The final score: the tests' points minus the late penalty."""
        return self.raw_score - self.penalty

    @property
    def max_score(self) -> float:
        return float(sum(self.max_scores.values()))


# ----------------------------------------------------------------------------------------------
# finding submissions

@dataclass
class _Found:
    student: str
    path: Path | None
    note: str = ""
    original: str = ""       # the name as submitted, when the gradebook id had to differ
    ignored: bool = False    # an entry of the submissions folder that is not a submission (note: why)
    entry: Path | None = None  # the entry of the submissions folder it comes from


#: characters a spreadsheet takes as the start of a formula (never the first of a gradebook id)
_FORMULA_START = "=+-@"


def _student_id(name: str, taken: set) -> str:
    """A gradebook id for a submission's name: unsafe characters become '_', clashes get a suffix.

    An id never starts with a dot or with a character that a spreadsheet reads as a formula.
    """
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    sid = re.sub("_+", "_", _UNSAFE.sub("_", ascii_name)).strip("._" + _FORMULA_START) or "student"
    sid = sid[:120]
    base, n = sid, 2
    while sid in taken:
        sid, n = f"{base}-{n}", n + 1
    return sid


def _is_notebook(path: Path) -> bool:
    return path.suffix.lower() == ".ipynb"


def _folder_notebook(entry: Path, notebook: str, assignment_id: str) -> tuple[Path | None, str]:
    """The notebook in a student's folder and a note; hidden files and Jupyter's checkpoints are the last resort."""
    wanted = [f"{notebook}.ipynb".lower()]
    inside = sorted(p for p in entry.rglob("*") if _is_notebook(p) and (p.is_file() or p.is_symlink()))
    checkpoints = [p for p in inside if ".ipynb_checkpoints" in p.relative_to(entry).parts]
    visible = [p for p in inside if p not in checkpoints
               and not any(part.startswith(".") for part in p.relative_to(entry).parts)]
    hidden = [p for p in inside if p not in checkpoints and p not in visible]
    for group, how in ((visible, ""), (hidden, "a hidden file")):
        exact = [p for p in group if p.name.lower() in wanted and
                 (p.parent == entry or (assignment_id and p.parent == entry / assignment_id))]
        if exact:
            note = "" if exact[0].name == f"{notebook}.ipynb" else f"notebook named {exact[0].relative_to(entry)}"
            if how:
                note = "; ".join(x for x in (note, f"{how}: {exact[0].relative_to(entry)}") if x)
            return exact[0], note
        if len(group) == 1:
            return group[0], (f"notebook named {group[0].relative_to(entry)}, expected {notebook}.ipynb"
                              + (f" ({how})" if how else ""))
        if group:
            return None, (f"{len(group)} notebooks, none named {notebook}.ipynb: "
                          + ", ".join(str(p.relative_to(entry)) for p in group[:5]))
    if checkpoints:
        return None, (f"no {notebook}.ipynb in the folder, only Jupyter's automatic checkpoint copies "
                      f"({', '.join(str(p.relative_to(entry)) for p in checkpoints[:3])})")
    return None, f"no {notebook}.ipynb in the folder"


def find_submissions(folder: Path, notebook: str, assignment_id: str = "") -> list[_Found]:
    """Every entry of ``folder``: one submission per student, or the reason an entry is not one.

    Accepted layouts: ``<student>.ipynb`` (any case of the extension); ``<student>/<notebook>.ipynb``;
    and nbgrader's ``<student>/<assignment_id>/<notebook>.ipynb``. A student folder with a single
    notebook of another name is accepted with a note; a folder with none gives "missing". Names
    that cannot be gradebook ids (spaces, accents, a leading dot or formula character) are made
    safe, and the original name is kept in a note. Entries that are not submissions -- other files,
    Jupyter's checkpoint folder, macOS's ``._`` companions -- are returned with ``ignored`` set and
    the reason, so that every entry of the folder is accounted for.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: list[_Found] = []
    taken: set = set()
    for entry in sorted(folder.iterdir()):
        ignored = ""
        if entry.name.startswith("._"):
            ignored = "macOS metadata file (made when the folder was copied from a Mac), not a submission"
        elif entry.is_symlink() and (_is_notebook(entry) or entry.is_dir()):
            # refused when graded: a link could point the grader at any file of the machine
            name, path, note = (entry.stem if _is_notebook(entry) else entry.name), entry, ""
        elif entry.is_file() and _is_notebook(entry):
            name, path, note = entry.stem, entry, ""
            if entry.suffix != ".ipynb":
                note = f"file extension {entry.suffix}"
        elif entry.is_dir() and entry.name in (".ipynb_checkpoints", "__MACOSX", ".git"):
            ignored = "a folder of Jupyter's, macOS's or git's own, not a submission"
        elif entry.is_dir():
            name = entry.name
            path, note = _folder_notebook(entry, notebook, assignment_id)
        else:
            ignored = "not a notebook (submissions are .ipynb files or one folder per student)"
        if ignored:
            found.append(_Found(_UNSAFE.sub("_", entry.name)[:120] or "entry", None, ignored, original=entry.name,
                                ignored=True, entry=entry))
            continue
        if entry.name.startswith("."):
            note = "; ".join(x for x in (note, "a hidden name (starting with a dot)") if x)
        sid = _student_id(name, taken)
        taken.add(sid)
        if sid != name:
            note = "; ".join(x for x in (note, f"submitted as {name!r}") if x)
        found.append(_Found(sid, path, note, original=name, entry=entry))
    return found


# ----------------------------------------------------------------------------------------------
# the gradebook side (this process only)

class _Course:
    """nbgrader's course folder and gradebook under RESULTS/."""

    def __init__(self, a: Assignment, out: Path, db_url: str | None):
        self.a = a
        self.out = out
        self.root = out / "nbgrader"
        self.db_url = db_url or f"sqlite:///{(out / 'gradebook.db').resolve()}"
        self.course_id = "elv"

    def config(self):
        from traitlets.config import Config

        c = Config()
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.db_url = self.db_url
        c.CourseDirectory.course_id = self.course_id
        c.CourseDirectory.assignment_id = self.a.id
        return c

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    def register(self) -> None:
        """Put the assignment's source notebook in the gradebook (skipped when unchanged)."""
        from nbgrader.converters import GenerateAssignment
        from nbgrader.coursedir import CourseDirectory

        nb = read_source(self.a.source)
        src = self.root / "source" / self.a.id / f"{self.a.notebook}.ipynb"
        write_notebook(nb, src)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        stamp = self.root / f".registered-{self.a.id}"
        if stamp.is_file() and stamp.read_text() == f"{digest} {self.db_url}":
            return
        config = self.config()
        config.GenerateAssignment.force = True
        converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
        converter.log.setLevel(logging.WARNING)
        converter.start()
        stamp.write_text(f"{digest} {self.db_url}")

    def released_sources(self) -> dict:
        """grade_id -> source of the cell as students received it (hidden tests removed)."""
        if not hasattr(self, "_released"):
            from .feedback import without_hidden_region

            self._released = {c.metadata["nbgrader"]["grade_id"]: without_hidden_region(c.source)
                              for c in read_source(self.a.source).cells
                              if c.metadata.get("nbgrader", {}).get("grade_id")}
        return self._released

    def source_cells(self) -> dict:
        """grade_id -> the source notebook's cell (complete nbgrader metadata, hidden tests included)."""
        if not hasattr(self, "_source_cells"):
            self._source_cells = {c.metadata["nbgrader"]["grade_id"]: c for c in read_source(self.a.source).cells
                                  if c.metadata.get("nbgrader", {}).get("grade_id")}
        return self._source_cells

    def sanitise(self, nb, student: str):
        """The submission as it will run; returns (notebook, flags that say what was changed, tampering found).

        Metadata that only the release may set is taken from the release: a cell's nbgrader metadata
        (grade id, grade, points, locked, solution) is the release's for the cells the release has,
        and removed from every other cell (pasted from another assignment, invented, or a second copy),
        which then count for nothing. Keys the grader uses for itself are removed. Then nbgrader's own
        preprocessors restore read-only cells, and any test or read-only cell the submission lacks is
        put back where the release has it.
        """
        from nbgrader.preprocessors import ClearOutput, OverwriteCells, OverwriteKernelspec

        flags, findings = self._normalise_metadata(nb)
        resources = {"nbgrader": {"notebook": self.a.notebook, "assignment": self.a.id,
                                  "student": student, "db_url": self.db_url}}
        before = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}
        released = self.released_sources()
        for pp in (ClearOutput(), OverwriteKernelspec(), OverwriteCells(add_missing_cells=False)):
            pp.log.setLevel(logging.ERROR)
            nb, resources = pp.preprocess(nb, resources)
        added = self._restore_missing(nb)
        for index, cell in enumerate(nb.cells):      # cells added back have no id
            if not cell.get("id"):
                cell["id"] = f"restored-{index}"
        restored = [gid for gid, src in before.items() if self.source_cells()[gid].metadata["nbgrader"]["locked"]
                    and src.rstrip() != released.get(gid, src).rstrip()]
        if restored:
            flags.append(f"edited read-only cells (restored): {', '.join(restored)}")
        if added:
            flags.append(f"deleted test or read-only cells (added back): {', '.join(added)}")
        return nb, flags, findings

    def _normalise_metadata(self, nb) -> tuple[list, list]:
        """Release metadata on the release's cells, none on any other cell; returns (notes, tampering)."""
        source = self.source_cells()
        seen, foreign, copies, changed, owned = set(), [], [], [], []
        for index, cell in enumerate(nb.cells):
            where = f"cell {index + 1}"
            mine = [k for k in cell.metadata if str(k).lower().startswith("elv")]
            for key in mine:
                del cell.metadata[key]                      # the grader's own keys are never the student's
            if mine:
                owned.append(where)
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(gid, str) or gid not in source or cell.cell_type != source[gid].cell_type:
                del cell.metadata["nbgrader"]
                foreign.append(f"{where} ({gid!r})" if isinstance(gid, str) else where)
                continue
            if gid in seen:
                del cell.metadata["nbgrader"]
                copies.append(f"{where} ({gid})")
                continue
            seen.add(gid)
            release = source[gid].metadata["nbgrader"]
            if any(meta.get(k) != release.get(k) for k in ("grade", "solution", "locked", "task", "points")
                   if k in meta or k in release):
                changed.append(gid)
            cell.metadata["nbgrader"] = copy.deepcopy(dict(release))
        notes, found = [], []
        if foreign:
            notes.append(f"cells with grading metadata the release does not have (not graded): {', '.join(foreign)}")
        if copies:
            notes.append(f"copies of graded cells (ignored): {', '.join(copies)}")
        if changed:
            found.append(f"grading metadata changed (the release's restored): {', '.join(changed)}")
        if owned:
            found.append(f"the grader's own metadata keys in the submission (removed): {', '.join(owned)}")
        return notes, found

    def _restore_missing(self, nb) -> list:
        """Put back every test and read-only cell of the release that the submission lacks, after the
        nearest release cell before it that the submission has. Returns their grade ids."""
        import nbformat

        present = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata}
        order = list(self.source_cells())
        added = []
        for position, gid in enumerate(order):
            cell = self.source_cells()[gid]
            meta = cell.metadata["nbgrader"]
            if gid in present or not (meta.get("locked") or meta.get("grade")) or meta.get("solution"):
                continue
            new = nbformat.from_dict(copy.deepcopy(dict(cell)))
            if new.cell_type == "code":
                new.outputs, new.execution_count = [], None
            new["id"] = f"restored-{gid}"[:64]
            at = 0
            for earlier in reversed(order[:position]):
                if earlier in present:
                    at = next(i for i, c in enumerate(nb.cells)
                              if c.metadata.get("nbgrader", {}).get("grade_id") == earlier) + 1
                    break
            nb.cells.insert(at, new)
            present.add(gid)
            added.append(gid)
        return added

    def save(self, result: SubmissionResult) -> None:
        """Write one submission's scores to the gradebook."""
        import warnings

        from sqlalchemy.exc import SAWarning

        # nbgrader's models trigger SQLAlchemy 2's autoflush warnings when a submission is created
        warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
        with self.gradebook() as gb:
            student = {"lms_user_id": result.lms_id} if result.lms_id else {}
            if result.name:
                first, _, last = result.name.partition(" ")
                student.update(first_name=first, last_name=last)
            gb.update_or_create_student(result.student, **student)
            submission = {"timestamp": _naive_utc(result.submitted)} if result.submitted else {}
            gb.update_or_create_submission(self.a.id, result.student, **submission)
            nb = gb.find_submission_notebook(self.a.notebook, self.a.id, result.student)
            for grade in nb.grades:
                score = result.scores.get(grade.name, 0.0)
                grade.auto_score = score
                grade.needs_manual_grade = score is None or grade.manual_score is not None
            for comment in nb.comments:
                comment.auto_comment = None
            nb.late_submission_penalty = result.penalty or None     # nbgrader keeps it beside the score
            nb.flagged = any(f.startswith(TAMPERING) for f in result.flags)
            gb.db.commit()


def _naive_utc(iso: str):
    from .policy import parse_time

    return parse_time(iso).replace(tzinfo=None)      # nbgrader stores naive UTC times


def _roster_name(student: str, original: str, roster: dict) -> str:
    """The roster's name for a submission: its gradebook id, else the name it was submitted under."""
    return student if student in roster else original


def _apply_roster(result: SubmissionResult, found: _Found, submissions: Path, options: GradeOptions) -> None:
    """LMS id and name from the roster, and when the submission was handed in."""
    from .policy import submission_time

    roster = options.roster
    entry = None if roster is None else roster.get(_roster_name(result.student, found.original, roster))
    if entry is not None:
        result.lms_id, result.name = entry.lms_id, entry.name
    elif roster is not None:
        result.flags.append("not on the roster")
    if found.path is not None:
        when, source = submission_time(found.path, submissions)
        result.submitted = when.isoformat(timespec="seconds")
        if options.late is not None and source == "mtime":
            result.flags.append("submission time from the file's modification time (no timestamp.txt)")


def _apply_late(result: SubmissionResult, options: GradeOptions, original: str = "") -> None:
    """The late penalty: a share of the points the tests gave."""
    from .policy import parse_time

    if options.late is None or not result.submitted:
        return
    who = _roster_name(result.student, original, options.late.extensions)
    when = parse_time(result.submitted)
    result.late_days = options.late.late_days(who, when)
    percent = options.late.penalty_percent(who, when)
    if percent:
        result.penalty = round(result.raw_score * percent / 100.0, 4)
        deadline = options.late.deadline_for(who).isoformat(timespec="minutes")
        result.flags.append(f"late by {result.late_days} day(s) after {deadline}: -{percent:g} % "
                            f"({result.penalty:g} points)")


# flags that come from the course's policies, not from grading: recomputed when a result is reused
_POLICY_FLAGS = ("not on the roster", "submission time from", "late by")
# what the journal keeps of a result: the grading, not the policies
_JOURNAL_FIELDS = ("student", "status", "message", "scores", "max_scores", "flags", "source_file", "sha256",
                   "seconds", "feedback")


class _Journal:
    """RESULTS/journal.jsonl: one line per finished submission, appended and flushed to disk.

    A rerun after a crash (even SIGKILL) reads it and reuses every result whose submission has
    the same sha256 and whose assignment source is unchanged, so nothing is graded twice and
    nothing is lost. A torn last line (the crash hit mid-write) is ignored.
    """

    def __init__(self, path: Path, source_digest: str):
        self.path, self.digest = path, source_digest
        self.lock = threading.Lock()

    def load(self) -> dict:
        done = {}
        if not self.path.is_file():
            return done
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("source") == self.digest and entry.get("status") != STATUS_INFRA:
                done[entry["student"]] = entry
        return done

    def append(self, result: SubmissionResult) -> None:
        keep = {k: getattr(result, k) for k in _JOURNAL_FIELDS}
        keep["flags"] = [f for f in result.flags if not f.startswith(_POLICY_FLAGS)]
        keep["source"] = self.digest
        line = json.dumps(keep) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def _reused(entry: dict) -> SubmissionResult:
    return SubmissionResult(**{k: entry[k] for k in _JOURNAL_FIELDS})


# ----------------------------------------------------------------------------------------------
# the worker side: execute and score

def _error_output(ename: str, text: str, traceback: str | None = None):
    """An error output written by the grader (it makes nbgrader's rule score the cell 0)."""
    from nbformat import NotebookNode

    return NotebookNode(output_type="error", ename=ename, evalue=text,
                        traceback=[f"{ename}: {text}" if traceback is None else traceback])


def _stream(text: str):
    from nbformat import NotebookNode

    return NotebookNode(output_type="stream", name="stdout", text=text)


def _mark_not_run(nb, reason: str) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            cell.outputs = [_error_output("NotRun", reason)]


def _kill_kernel(executor) -> bool:
    km = getattr(executor, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    if pid is None:
        return False
    try:
        group = os.getpgid(pid)
        if group != os.getpgrp():        # jupyter_client starts kernels in their own session
            os.killpg(group, signal.SIGKILL)   # the kernel and whatever it started
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _started(nb) -> bool:
    return any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def _connection_folder() -> Path:
    """A short private folder for the kernel's connection file and Unix sockets (paths must stay < 108 bytes)."""
    import tempfile

    base = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="elv-", dir=base))


def _execute(nb, workdir: Path, cell_timeout: int, notebook_timeout: int, retries: int, sandboxed: bool = False,
             watch=None):
    """Run the notebook in place. Returns (status, message).

    ``watch`` (a :class:`autograder.judge.CellWatch`) sees every code cell before and after it runs: the
    kernel's own execution reply (``ok`` or ``error``, which a student who hides tracebacks cannot turn
    into a pass), and the records each graded cell leaves. In the sandbox the kernel is reached over
    Unix sockets in a private connection folder (no TCP).
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import DeadKernelError
    from traitlets.config import Config

    from .limits import group_name, release_group

    last_error = ""
    for attempt in range(retries + 1):
        connection = _connection_folder()
        config = Config()
        config.KernelManager.connection_file = str(connection / "kernel.json")
        if sandboxed:
            config.KernelManager.transport = "ipc"
        hooks = {} if watch is None else {"on_cell_execute": watch.before}
        executor = _Watched(timeout=cell_timeout, kernel_name="python3", startup_timeout=60,
                            interrupt_on_timeout=True, config=config, **hooks,
                           extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR",
                                            f"--IPKernelApp.exec_lines={_KERNEL_START}"])
        executor.watch = watch
        executor.log.setLevel(logging.ERROR)
        fired = threading.Event()
        done = threading.Event()

        def watchdog():
            if not done.wait(notebook_timeout):
                fired.set()
                _kill_kernel(executor)

        guard = threading.Thread(target=watchdog, daemon=True)
        guard.start()
        try:
            executor.preprocess(nb, {"metadata": {"path": str(workdir)}})
            return STATUS_GRADED, ""
        except DeadKernelError:
            if fired.is_set():
                return STATUS_TIMEOUT, f"the notebook ran longer than {notebook_timeout} s and was stopped"
            if not _started(nb):
                last_error = "the kernel died while starting"
                continue
            return STATUS_KERNEL_DIED, "the kernel died (a crash, os._exit, or too much memory)"
        except NoSuchKernel as exc:
            return STATUS_INFRA, f"no python3 kernel: {exc}"
        except Exception as exc:  # kernel start failures and the like: retry
            if fired.is_set():
                return STATUS_TIMEOUT, f"the notebook ran longer than {notebook_timeout} s and was stopped"
            if _started(nb):
                return STATUS_KERNEL_DIED, f"execution stopped: {type(exc).__name__}: {exc}"
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5 * (attempt + 1))
        finally:
            done.set()
            release_group(group_name(str(connection / "kernel.json")))
            shutil.rmtree(connection, ignore_errors=True)
    return STATUS_INFRA, f"the kernel could not be started ({retries + 1} attempts): {last_error}"


@functools.lru_cache(maxsize=None)
def _watched_class():
    from nbgrader.preprocessors import Execute

    class Watched(Execute):
        """nbgrader's executor, which also hands each finished cell to a :class:`CellWatch` (nbgrader defines
        ``on_cell_executed`` as a method, so the hook cannot be passed as an option)."""

        watch = None

        def on_cell_executed(self, **kwargs):
            super().on_cell_executed(**kwargs)
            if self.watch is not None:
                self.watch.after(**kwargs)

    return Watched


def _Watched(**kwargs):
    return _watched_class()(**kwargs)


#: what every graded kernel runs before the notebook: the recorder of test-cell calls, then the guard
_KERNEL_START = ("__import__('autograder.capture').capture.install(); "
                 "__import__('autograder.guard').guard.install()")


def _hidden_errors(nb, watch) -> list:
    """Cells whose error the kernel reported but whose traceback was suppressed (the outputs show none)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or watch.replies.get(index) != "error":
            continue
        if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            cell.outputs.append(_error_output("HiddenError", "this cell raised an error whose traceback was suppressed"))
            found.append(f"{where}: an error was raised but its traceback was suppressed")
    return found


#: the largest single output kept in the graded notebook and the feedback page
MAX_OUTPUT_BYTES = 5 * 2**20


def _limit_output_size(nb) -> list:
    """Drop outputs larger than MAX_OUTPUT_BYTES (a 100 MB image would make the feedback unusable)."""
    dropped = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for j, output in enumerate(cell.outputs):
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                cell.outputs[j] = _stream(f"[an output of {size / 2**20:.0f} MB was removed: outputs are kept up "
                                          f"to {MAX_OUTPUT_BYTES / 2**20:.0f} MB each]\n")
                dropped.append(cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}")
    return [f"outputs over {MAX_OUTPUT_BYTES // 2**20} MB removed: {', '.join(dict.fromkeys(dropped))}"] \
        if dropped else []


def _work(job: dict) -> dict:
    """Worker entry point: execute one sanitised notebook and score it."""
    import nbformat

    from .hidden import make_cases, write_inputs

    for key, value in job["env"].items():
        os.environ[key] = value
    if job["workdir"]:
        workdir = Path(job["workdir"]).resolve()     # the kernel runs there: every path it gets is absolute
    else:                                   # a cluster worker: its own scratch space
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="elv-grade-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for name, data in job["files"].items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(data)
    folder = workdir / ".elv"              # the hidden inputs in, the recorded results out
    p = job["plan"]
    started = time.perf_counter()
    cases, problems = {}, {}
    for name in sorted({n for names in p.hidden.values() for n in names}):
        try:
            cases[name] = make_cases(p.assignment, name, job.get("seed"))
            write_inputs(folder, name, cases[name])
        except Exception as exc:  # a spec that fails is the grader's problem: reported, never a crash
            cases.pop(name, None)
            problems[name] = f"{type(exc).__name__}: {exc}"
    nb = nbformat.reads(job["notebook"], as_version=4)
    watch = CellWatch(folder, p)
    watch.cells_file(nb, p)
    os.environ["ELVKIT_HIDDEN_DIR"] = str(folder)
    start = time.perf_counter()
    judging = start - started
    status, message = _execute(nb, workdir, job["cell_timeout"], job["notebook_timeout"], job["retries"],
                               job.get("sandboxed", False), watch)
    seconds = time.perf_counter() - start
    if status != STATUS_GRADED:
        _mark_not_run(nb, message)
    from nbgrader.preprocessors import LimitOutput

    nb, _ = LimitOutput().preprocess(nb, {})            # nbgrader's cap on printed lines
    flags = _limit_output_size(nb)
    started = time.perf_counter()
    verdicts = score(nb, p, watch, cases, problems)
    judging += time.perf_counter() - started
    scores = {gid: verdicts.scores.get(gid, None if gid in p.manual else 0.0) for gid in p.points}
    max_scores = dict(p.points)
    findings = list(dict.fromkeys(list(job.get("tamper", [])) + watch.findings + verdicts.findings
                                  + _hidden_errors(nb, watch)))
    slow = [c.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i}" for i, c in enumerate(nb.cells)
            if any(o.get("ename") == "CellTimeoutError" for o in c.get("outputs", []))]
    if slow:
        flags.append(f"cells stopped after {job['cell_timeout']} s: {', '.join(slow)}")
    if findings:
        flags.append(f"{TAMPERING} (for review; every score was decided by the grader, not in the kernel): "
                     + "; ".join(findings))
    os.environ.pop("ELVKIT_HIDDEN_DIR", None)
    shutil.rmtree(workdir, ignore_errors=True)
    notebook = nbformat.writes(nb)
    page, page_flags = None, None
    if "page" in job:       # the feedback page is rendered here, in parallel, not by the grader's one writer
        page_flags = job["page"]["flags"] + flags
        page, note = _feedback_page(nb, job["page"], scores, max_scores, status, message, page_flags, copy=False)
        if note:
            flags.append(note)
            page_flags.append(note)
    return {"status": status, "message": message, "scores": scores, "max_scores": max_scores,
            "notebook": notebook, "seconds": seconds, "judging": judging, "flags": flags, "page": page,
            "page_flags": page_flags}


# ----------------------------------------------------------------------------------------------
# the batch

def _kernel_path(folder: Path, options: GradeOptions | None = None, sandboxed: bool = False) -> str:
    """A Jupyter data folder whose ``python3`` kernel is this interpreter, first on JUPYTER_PATH.

    The notebooks must run with the Python that has elvkit and the grader installed, whatever
    kernels the machine or the user have registered under the same name. The kernel starts under
    the resource limits of ``options`` (see :mod:`autograder.limits`), in the sandbox when
    ``sandboxed`` (see :mod:`autograder.sandbox`).
    """
    from .limits import wrap

    options = options or GradeOptions()
    argv = wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                memory_mb=options.memory_mb, file_mb=options.file_mb,
                cpu_seconds=options.cpu_seconds, processes=options.processes, sandbox=sandboxed)
    spec = folder / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    kernel = {"argv": argv, "display_name": "Python 3 (elv grader)", "language": "python"}
    if sandboxed:       # a signal would reach bubblewrap, not the kernel: interrupt over the control channel
        kernel["interrupt_mode"] = "message"
    spec.write_text(json.dumps(kernel))
    rest = os.environ.get("JUPYTER_PATH", "")
    return str(folder.resolve()) + (os.pathsep + rest if rest else "")


def _cell_grade_id(cell):
    """A submitted cell's grade id, whatever its metadata holds (None when it has none)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def _read_submission(path: Path):
    """Read a notebook; returns (notebook or None, message)."""
    import nbformat

    data = path.read_bytes()
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


def _worker_init(gpus=None) -> None:
    """Workers die with the grader: a killed grader leaves no worker (and so no kernel) behind.

    With ``gpus`` (a queue of device indices), each worker takes one GPU for itself and its kernels.
    """
    if gpus is not None:
        try:
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus.get(timeout=5))
        except Exception:      # more workers than GPUs: this one shares
            pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        except OSError:
            pass


def _warm_up(p=None) -> None:
    """Load what a worker needs while the gradebook is being prepared: the executor and the feedback page's
    exporter, and for the plan ``p`` the replay's imports, the reference and the hidden-input generators (each
    made once, so that no submission pays for them)."""
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    from nbgrader.preprocessors import Execute  # noqa: F401

    from .feedback import exporter

    exporter()
    if p is None:
        return
    from . import reference
    from .hidden import make_cases
    from .replay import Replayer

    if p.visible:
        Replayer.for_imports(p.imports)
    reference.load(p.assignment)
    for name in sorted({n for names in p.hidden.values() for n in names}):
        try:
            make_cases(p.assignment, name, 0)       # loads textures, imports torch: once per worker
        except Exception:  # a failing spec is reported with the submission that needs it
            pass


def _publish(a: Assignment, out: Path, result: SubmissionResult, options: GradeOptions,
             journal: _Journal | None, nb=None) -> None:
    """The last step for every submission: Gradescope's results.json if asked for, then the journal
    entry that marks it done (``journal`` None: it is done already)."""
    if options.gradescope:
        from .gradescope import write_results

        write_results(a, result, out, nb)
    if journal is not None and result.sha256:
        journal.append(result)


def _feedback_page(executed, page: dict, scores: dict, max_scores: dict, status: str, message: str,
                   flags: list, copy: bool = True) -> tuple[str, str | None]:
    """The feedback page (HTML) and, when nbconvert could not render the notebook, the flag that says so
    (``copy=False``: ``executed`` may be changed, its caller is done with it)."""
    from .feedback import render_feedback

    try:
        return render_feedback(executed, notebook=page["notebook"], scores=scores, max_scores=max_scores,
                               status=status, message=message, flags=flags, questions=page["questions"],
                               title=page["title"], copy_notebook=copy), None
    except Exception as exc:  # an output nbconvert cannot render must not cost the batch
        import html

        total = sum(v for v in scores.values() if v is not None)
        rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{scores.get(g)} / {p:g}</td></tr>"
                       for g, p in max_scores.items())
        return (f"<html><body><h1>{html.escape(page['title'])}</h1><p>Score {total:g} / "
                f"{sum(max_scores.values()):g}, status {html.escape(status)}</p><table>{rows}</table></body></html>",
                f"feedback page reduced to the scores: {type(exc).__name__}: {exc}")


def _write_graded(a: Assignment, out: Path, result: SubmissionResult, notebook_json: str, page: str | None,
                  options: GradeOptions, journal: _Journal) -> None:
    """Keep the executed notebook and its feedback page (rendered here only when the worker's page is out of
    date, e.g. a late penalty was added), then publish (runs on the writer thread)."""
    import nbformat

    target = out / "autograded" / result.student / f"{a.notebook}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(notebook_json, encoding="utf-8")
    executed = nbformat.reads(notebook_json, as_version=4)
    if page is None:
        page, note = _feedback_page(executed, _page_info(a), result.scores, result.max_scores, result.status,
                                    result.message, result.flags)
        if note:
            result.flags.append(note)
    (out / result.feedback).write_text(page, encoding="utf-8")
    _publish(a, out, result, options, journal, executed)


def _page_info(a: Assignment, flags=()) -> dict:
    return {"title": a.title, "notebook": a.notebook, "questions": dict(a.questions), "flags": list(flags)}


def _gpu_ids() -> list:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


@contextlib.contextmanager
def _executor(options: GradeOptions):
    """Where notebooks run: local worker processes, or a Dask cluster (local, an address, or Slurm).

    Every kind is used through the same ``concurrent.futures`` interface, so the grading loop, the
    single gradebook writer and the journal do not change.
    """
    if not options.scheduler:
        ctx = multiprocessing.get_context("spawn")
        gpus = None
        ids = _gpu_ids() if options.device != "cpu" else []
        if len(ids) > 1:
            gpus = ctx.Queue()
            for i in range(options.jobs):
                gpus.put(ids[i % len(ids)])
        with cf.ProcessPoolExecutor(max_workers=options.jobs, mp_context=ctx, initializer=_worker_init,
                                    initargs=(gpus,)) as pool:
            yield pool
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--scheduler needs Dask distributed: pip install -e '.[cluster]'") from None
    cluster = None
    if options.scheduler == "local":
        cluster = LocalCluster(n_workers=options.jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster
    elif options.scheduler == "slurm":
        cluster = slurm_cluster(options)
        cluster.scale(jobs=options.jobs)
        address = cluster
    else:
        address = options.scheduler
    client = Client(address)
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def slurm_cluster(options: GradeOptions):
    """A dask-jobqueue SLURMCluster: one single-core worker per Slurm job; ``options.slurm`` overrides."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ImportError("--scheduler slurm needs dask-jobqueue: pip install -e '.[cluster]'") from None
    settings = {"cores": 1, "processes": 1, "memory": "8GB", "walltime": "02:00:00",
                "job_name": "elv-grade", **options.slurm}
    if options.device == "cuda":
        settings.setdefault("job_extra_directives", ["--gres=gpu:1"])
    return SLURMCluster(**settings)


def _isolation(options: GradeOptions) -> tuple[bool, str]:
    """Whether kernels run in the sandbox, and the sentence the report says about it."""
    from .sandbox import probe

    if options.sandbox not in ("auto", "bwrap", "none"):
        raise ValueError(f"`sandbox` must be 'auto', 'bwrap' or 'none'; got {options.sandbox!r}.")
    if options.sandbox == "none":
        return False, "no filesystem or network sandbox (--sandbox none): students' code ran with the grader's " \
                      "user rights."
    ok, why = probe()
    if ok:
        return True, (f"each kernel ran in a bubblewrap sandbox ({why}): its own folder writable, the grader's "
                      "files, other submissions and the network out of reach.")
    if options.sandbox == "bwrap":
        raise RuntimeError(f"--sandbox bwrap: {why}")
    return False, f"no filesystem or network sandbox ({why}): students' code ran with the grader's user rights."


def _hidden_salt(out: Path) -> str:
    """A secret kept with the results: hidden inputs differ per student and cannot be predicted from the
    student's id alone, yet a rerun makes the same inputs."""
    import secrets

    path = out / "nbgrader" / ".hidden-salt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _student_seed(salt: str, student: str) -> int:
    return int(hashlib.sha256(f"{salt}/{student}".encode()).hexdigest()[:8], 16)


def _scan(nb) -> list:
    """Static tampering findings in the cells the student wrote (locked cells were restored already)."""
    from .tamper import scan

    cells = [(c.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}", c.source)
             for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("locked")]
    return scan(cells)


def grade(assignment_id: str, submissions: Path, out: Path, options: GradeOptions | None = None):
    """Grade every submission in ``submissions``; write the gradebook, grades.csv, feedback, summary.

    Returns
    -------
    list of SubmissionResult
    """
    import nbformat
    from tqdm.auto import tqdm

    from . import report

    options = options or GradeOptions()
    a = get_assignment(assignment_id)
    out = Path(out).resolve()
    if options.jobs < 1:
        raise ValueError(f"`jobs` must be at least 1; got {options.jobs}.")
    found = find_submissions(Path(submissions), a.notebook, a.id)
    if options.roster is not None:              # who should have handed in and did not
        present = {f.student for f in found if not f.ignored} | {f.original for f in found if not f.ignored}
        taken = {f.student for f in found if not f.ignored}
        for name in sorted(set(options.roster) - present):
            sid = _student_id(name, taken)
            taken.add(sid)
            found.append(_Found(sid, None, "on the roster, no submission", original=name))
    for sub in ("feedback", "autograded"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    course = _Course(a, out, options.db_url)
    journal = _Journal(out / "journal.jsonl", hashlib.sha256(a.source.read_bytes()).hexdigest())
    if options.regrade and journal.path.is_file():
        journal.path.unlink()
    finished = journal.load()
    extra_files = {str(p.relative_to(a.release_dir)): p.read_bytes() for p in sorted(a.release_dir.rglob("*"))
                   if p.is_file() and p.suffix != ".ipynb"} if a.release_dir.is_dir() else {}
    # smaller pictures in the feedback pages: matplotlib reads ./matplotlibrc from the kernel's folder
    extra_files.setdefault("matplotlibrc", b"figure.dpi: 60\n")
    sandboxed, isolation = _isolation(options)
    threads = max(1, (os.cpu_count() or 1) // max(1, options.jobs))
    env = {"NBGRADER_EXECUTION": "autograde", "ELVKIT_SMOKE": "1", "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONHASHSEED": "0",
           "JUPYTER_PATH": _kernel_path(out / "nbgrader" / "jupyter", options, sandboxed), **options.env}
    source_nb = read_source(a.source)
    max_scores = dict(grade_cells(source_nb))   # every grade cell with its points
    judging = plan(a.id, source_nb)             # how the grader judges each of them
    salt = _hidden_salt(out)
    results: list[SubmissionResult] = []
    bar = tqdm(total=len(found), desc=f"grading {a.id}", unit="nb", disable=not options.progress)

    def zero(result, status, message):
        result.status, result.message = status, message
        result.scores = {gid: 0.0 for gid in max_scores}
        result.max_scores = dict(max_scores)
        course.save(result)
        _publish(a, out, result, options, journal)
        results.append(result)
        bar.update()

    if options.device == "cuda" and not options.scheduler and not _gpu_ids():
        raise ValueError("--device cuda: this machine has no NVIDIA GPU (nvidia-smi finds none); grade on the "
                         "CPU, or on GPU workers with --scheduler.")
    if options.device:
        env["ELVKIT_DEVICE"] = options.device
    reused = 0
    with _executor(options) as pool, cf.ThreadPoolExecutor(max_workers=1) as writer:
        warm = [pool.submit(_warm_up, judging) for _ in range(options.jobs)]     # workers start meanwhile
        course.register()
        futures = {}
        for f in found:
            if f.ignored:               # accounted for in grades.csv and the summary, not in the gradebook
                results.append(SubmissionResult(student=f.student, status=STATUS_IGNORED, message=f.note,
                                                source_file=str(f.entry)))
                bar.update()
                continue
            result = SubmissionResult(student=f.student, status=STATUS_GRADED, source_file=str(f.path or f.entry or ""),
                                      flags=[f.note] if f.note else [])
            try:
                _apply_roster(result, f, Path(submissions), options)
                if f.path is None:
                    zero(result, STATUS_MISSING, f.note)
                    continue
                if f.path.is_symlink():     # a link could point the grader at any file of the machine
                    zero(result, STATUS_MALFORMED, f"{f.path.name} is a symbolic link, not a file: submissions are "
                                               "read only as plain files (upload the notebook itself)")
                    continue
                result.sha256 = hashlib.sha256(f.path.read_bytes()).hexdigest()
                earlier = finished.get(f.student)
                if earlier is not None and earlier["sha256"] == result.sha256 and \
                        (not earlier["feedback"] or (out / earlier["feedback"]).is_file()):
                    again = _reused(earlier)            # graded before a crash or in an earlier run: keep it
                    again.flags += [x for x in result.flags if x not in again.flags]
                    again.lms_id, again.name, again.submitted = result.lms_id, result.name, result.submitted
                    _apply_late(again, options, f.original)
                    course.save(again)
                    _publish(a, out, again, options, None)
                    results.append(again)
                    reused += 1
                    bar.update()
                    continue
                nb, problem = _read_submission(f.path)
                if nb is not None and not any(_cell_grade_id(c) in max_scores for c in nb.cells):
                    nb, problem = None, ("the notebook has none of the assignment's cells (empty, or another notebook): "
                                         f"submit the {a.notebook}.ipynb you were given, with your answers in it")
                found_in_metadata = []
                if nb is not None:
                    try:
                        nb, flags, found_in_metadata = course.sanitise(nb, f.student)
                        result.flags += flags
                    except Exception as exc:
                        nb, problem = None, f"nbgrader could not restore its cells: {type(exc).__name__}: {exc}"
                if nb is None:
                    zero(result, STATUS_MALFORMED, problem)
                    continue
                job = {"notebook": nbformat.writes(nb), "plan": judging,
                       "seed": _student_seed(salt, f.student), "tamper": found_in_metadata + _scan(nb),
                       "sandboxed": sandboxed,
                       "page": _page_info(a, result.flags),
                       "workdir": "" if options.scheduler else str(out / "work" / f.student),
                       "files": extra_files, "env": env, "cell_timeout": options.cell_timeout,
                       "notebook_timeout": options.notebook_timeout, "retries": options.kernel_retries}
                futures[pool.submit(_work, job)] = (result, f.original)
            except Exception as exc:  # the grader's own failure on this submission: reported, the batch goes on
                zero(result, STATUS_INFRA, f"grader error while preparing it: {type(exc).__name__}: {exc}")
        cf.wait(warm)
        written = []
        for future in cf.as_completed(futures):
            result, original = futures[future]
            try:
                done = future.result()
            except Exception as exc:  # the worker itself failed: the grader's problem, not the student's
                zero(result, STATUS_INFRA, f"grader error: {type(exc).__name__}: {exc}")
                continue
            result.status, result.message = done["status"], done["message"]
            result.scores, result.max_scores = done["scores"], done["max_scores"]
            result.seconds, result.judging = done["seconds"], done.get("judging", 0.0)
            result.flags += done["flags"]
            result.feedback = f"feedback/{result.student}.html"
            _apply_late(result, options, original)
            course.save(result)
            page = done.get("page") if done.get("page_flags") == result.flags else None
            written.append(writer.submit(_write_graded, a, out, result, done["notebook"], page, options, journal))
            results.append(result)
            bar.set_postfix_str(f"{result.student}: {result.status}", refresh=False)
            bar.update()
        for w in written:
            w.result()
    bar.close()
    shutil.rmtree(out / "work", ignore_errors=True)
    results.sort(key=lambda r: r.student)
    limits = [f"data segment {options.memory_mb} MB" if options.memory_mb else "",
              f"files {options.file_mb} MB" if options.file_mb else "",
              f"CPU time {options.cpu_seconds} s",
              f"wall time {options.cell_timeout} s a cell and {options.notebook_timeout} s a notebook"]
    if options.processes:
        limits.append(f"{options.processes} processes/threads")
    report.write_outputs(a, results, out, notes=[
        "kernels ran under resource limits (" + ", ".join(x for x in limits if x) + ") with a scrubbed "
        "environment; " + isolation,
        "every test was judged in the grader's process: hidden and end-to-end checks on what each kernel "
        "returned for inputs seeded per student, visible tests by running their code again on the values the "
        "student's functions returned; submissions whose source or run showed tampering are flagged."])
    if reused and options.progress:
        print(f"{reused} submission(s) unchanged since they were graded: results kept from "
              f"{journal.path.name} (--regrade grades everything again).", file=sys.stderr)
    return results

