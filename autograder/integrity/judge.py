"""Every point decided in the grader's process, from what the kernel recorded on the grader's inputs.

The grader never takes a test's verdict from the student's kernel. For each autograded cell:

* a **hidden or end-to-end** cell calls ``check(...)``: the kernel records what the student's
  functions return on inputs the grader made (seeded per student, unknown in advance), and the
  grader compares with the reference or scores against ground truth (:mod:`autograder.integrity.specs`);
* a **visible** cell calls the student's functions on public inputs: the kernel records each
  call, and the grader runs the same test code on the recorded values (:mod:`autograder.integrity.replay`).

A cell earns its points when the grader's verdict passes **and** the cell ran without error in
the kernel (the student sees the kernel's run; it can only take points away). When the kernel
says a visible test passed and the grader's re-run says it did not, something in the kernel
decided otherwise than the test's own code: the submission is flagged for a person.

:class:`CellWatch` follows the kernel cell by cell: before a graded cell runs it removes any
record of that cell, and right after it reads the records the cell wrote into memory, so no
later cell, thread or timer can change them. It also follows the guard's log
(:mod:`autograder.kernel_side.guard`): the log may only grow, and the guard must report every cell.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Assignment, get_assignment
from ..course.notebooks import (error_output, grade_cells, grade_id, grade_meta, has_test_code, imports_source,
                                is_blank_answer, released_answer, stream_output)
from ..kernel_side.records import (MAX_JSON_BYTES, MAX_RECORD_BYTES, RecordError, RecordTooLarge, cell_key,
                                   parse_record)

__all__ = ["Plan", "plan", "validation_plan", "CellWatch", "score", "TAMPERING", "RECORD_BUDGET_BYTES",
           "RecordBudgetError"]

#: flags that start with this mark something for a person to review (nbgrader's `flagged`)
TAMPERING = "tampering"
#: the guard's log is read up to this size
_GUARD_LOG_BYTES = 1_000_000
#: what one submission's records may hold in all, decompressed, and how many arrays: a cell whose records would
#: pass it scores 0 (flagged); with each cell's records dropped once judged, one worker holds at most this much
RECORD_BUDGET_BYTES = 512 * 2**20
RECORD_BUDGET_ARRAYS = 20_000


class RecordBudgetError(RecordError):
    """A record that would take the submission's records past the grader's budget."""


class _OverBudget(str):
    """Why a record was not read: the budget (kept in place of its bytes)."""


@dataclass
class Plan:
    """How each autograded cell of an assignment is judged (made once per batch, sent to the workers)."""

    assignment: str
    points: dict                      # grade_id -> points, every autograded cell
    hidden: dict                      # grade_id -> the names its check(...) calls record
    visible: list                     # [(grade_id, source, names)] in notebook order
    imports: str                      # the notebook's imports cell (the replay starts from it)
    hidden_only: list = field(default_factory=list)   # hidden cells with no test code of their own
    manual: list = field(default_factory=list)        # cells graded by a person
    answers: dict = field(default_factory=dict)       # grade_id -> a written answer's cell as released (blank test)
    #: judge by the kernel's replies alone: ``elv validate`` on a student's own machine, where the student's
    #: code decides nothing but what the student is told (never used to grade)
    kernel_only: bool = False


def plan(a: Assignment, source_nb) -> Plan:
    """The judging plan of the assignment ``a``, from its source notebook ``source_nb`` (hidden tests
    included): each autograded cell's points, and whether it is judged on hidden inputs, by replaying its
    visible tests, or by a person."""
    from .replay import visible_cells
    from .specs import checked_names

    points, hidden, hidden_only, manual, answers = {}, {}, [], [], {}
    for cell in source_nb.cells:
        meta = grade_meta(cell)
        if not meta.get("grade"):
            continue
        gid = meta["grade_id"]
        points[gid] = float(meta.get("points", 0))
        if meta.get("solution") or cell.cell_type != "code":
            manual.append(gid)
            answers[gid] = released_answer(cell.source)
            continue
        names = checked_names(cell.source, a.id)
        if names:
            hidden[gid] = names
            if not has_test_code(cell.source):
                hidden_only.append(gid)
    visible = [(c.grade_id, c.source, list(c.names)) for c in visible_cells(source_nb) if c.grade_id not in hidden]
    return Plan(a.id, points, hidden, visible, imports_source(source_nb), hidden_only, manual, answers)


def validation_plan(release_nb) -> Plan:
    """The plan of ``elv validate`` for the released notebook ``release_nb``: every autograded cell judged by
    the kernel's reply (on a student's machine, where the grader's inputs and the reference are absent)."""
    points = {gid: float(points) for gid, points in grade_cells(release_nb)}
    return Plan("", points, {}, [], "", kernel_only=True)


class CellWatch:
    """nbclient's per-cell hooks: execution replies, each graded cell's records, the guard's log."""

    def __init__(self, folder: Path, p: Plan):
        self.folder = Path(folder)
        self.stems = {gid: list(names) for gid, names in p.hidden.items()}
        for gid, _, _ in p.visible:
            self.stems[gid] = [f"cells/{gid}"]
        self.replies: dict = {}           # cell index -> the kernel's execution status ("ok", "error", ...)
        self.records: dict = {}           # grade_id -> {stem: (json bytes, npz bytes) or a problem (str)}
        self.verdicts: dict = {}          # grade_id -> (verdict, findings), judged as soon as the cell ran
        self.findings: list = []
        self.left = RECORD_BUDGET_BYTES   # what the submission's records may still hold, decompressed
        self.arrays_left = RECORD_BUDGET_ARRAYS
        self._judge = None
        self.judging = 0.0                # seconds spent judging while the notebook ran
        self._log = b""
        self._silent = False

    def attach(self, a: Assignment | None, p: Plan, cases: dict, problems: dict) -> None:
        """Judge each graded cell as soon as it has run, and drop its records then: the grader holds one cell's
        records at a time, whatever the notebook records in all (see :data:`RECORD_BUDGET_BYTES`)."""
        self._judge = _CellJudge(a, p, cases, problems)

    def cells_file(self, nb, p: Plan) -> None:
        """``in/cells.json``: how the kernel's recorder recognises the visible test cells (by their source)."""
        names = {gid: names for gid, _, names in p.visible}
        entries = {}
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in names and cell.cell_type == "code":
                entries[cell_key(cell.source)] = {"cell": gid, "names": names[gid]}
        target = self.folder / "in" / "cells.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(entries), encoding="utf-8")

    def _parent(self, relative: str) -> Path | None:
        """The folder of ``folder/relative``, when every folder on the way is a real folder (the kernel may
        put symbolic links in its folder: the grader, outside the sandbox, never follows one)."""
        import stat

        here = self.folder.joinpath(*relative.split("/")[:-1])
        node = self.folder.parent
        for part in here.relative_to(self.folder.parent).parts:
            node = node / part
            try:
                if not stat.S_ISDIR(os.lstat(node).st_mode):
                    return None
            except OSError:
                return None
        return here

    def _files(self, stem: str):
        name = stem.split("/")[-1]
        parent = self._parent(f"out/{stem}")
        return (None, None) if parent is None else (parent / f"{name}.json", parent / f"{name}.npz")

    def before(self, cell=None, cell_index=None, **_):
        """nbclient's hook before a cell runs: any record of that graded cell is removed first. Never raises:
        whatever the kernel left in its folder gives a finding, not an aborted run."""
        try:
            self._before(cell)
        except Exception as exc:  # the kernel controls the folder: odd files must not stop the notebook
            self._find(f"before cell {cell_index + 1 if cell_index is not None else '?'}: the kernel's folder "
                       f"held something the grader could not clear ({type(exc).__name__}: {exc})"[:300])

    def _before(self, cell) -> None:
        for stem in self.stems.get(grade_id(cell), ()):
            for path in self._files(stem):
                if path is not None:
                    try:
                        os.unlink(path)             # removes a link itself, never what it points to
                    except OSError:
                        pass

    def after(self, cell=None, cell_index=None, execute_reply=None, **_):
        """nbclient's hook after a cell ran: its execution reply and its records are kept in memory, and the
        guard's log is followed. Never raises (see :meth:`before`)."""
        self.replies[cell_index] = (execute_reply or {}).get("content", {}).get("status", "")
        gid = grade_id(cell)
        try:
            if gid in self.stems:
                self.records[gid] = {stem: self._read(stem) for stem in self.stems[gid]}
        except Exception as exc:  # noqa: BLE001 - a record is then missing, and a person told why
            self.records[gid] = {stem: f"could not be read ({type(exc).__name__})" for stem in self.stems[gid]}
            self._find(f"{gid}: its records could not be read ({type(exc).__name__}: {exc})"[:300])
        if self._judge is not None and gid in self.stems:
            ok = self.replies[cell_index] == "ok"
            started = time.perf_counter()
            try:
                self.verdicts[gid] = self._judge(self, gid, True, ok)
            except Exception as exc:  # noqa: BLE001 - the grader's own failure: this cell scores 0, a person looks
                self.verdicts[gid] = (f"the grader could not judge this cell ({type(exc).__name__}: {exc})",
                                      [f"{gid}: the grader failed while judging it ({type(exc).__name__})"])
            finally:
                self.records.pop(gid, None)         # judged: the records are dropped
                self.judging += time.perf_counter() - started
        try:
            self._follow_guard(cell, cell_index)
        except Exception as exc:  # noqa: BLE001
            self._find(f"the guard's log could not be read after cell {cell_index + 1} ({type(exc).__name__})")

    def _read(self, stem: str):
        js, npz = self._files(stem)
        if js is None:
            return "its record's folder was replaced by something that is not a folder"
        parts = []
        for path, limit in ((js, MAX_JSON_BYTES), (npz, MAX_RECORD_BYTES)):
            if self.left <= 0:
                return _OverBudget(f"the submission's records passed the grader's budget of "
                                   f"{RECORD_BUDGET_BYTES / 2**20:.0f} MB before this one")
            data = _read_plain(path, min(limit, self.left))
            if data is None:
                return None
            if isinstance(data, str):
                if data == "is too large to be read" and self.left < limit:
                    return _OverBudget(f"its record is larger than the {max(self.left, 0) / 2**20:.0f} MB left of the "
                                       f"grader's budget of {RECORD_BUDGET_BYTES / 2**20:.0f} MB for one submission")
                return f"its record {data}"
            parts.append(data)
        self.left -= len(parts[0])
        return tuple(parts)

    def _follow_guard(self, cell, cell_index) -> None:
        parent = self._parent("guard.jsonl")
        data = _read_plain(parent / "guard.jsonl", _GUARD_LOG_BYTES, truncate=True) if parent is not None else None
        data = data if isinstance(data, bytes) else b""
        if not data.startswith(self._log):
            self._find("the guard's log was changed while the notebook ran (shortened, rewritten or removed)")
            self._log = b""
        fresh, self._log = data[len(self._log):], data
        beat = cell_key(cell.source)[:16]
        seen = False
        for line in fresh.decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if entry.get("beat") == beat:
                seen = True
            elif isinstance(entry.get("finding"), str):
                self._find(f"while running: {entry['finding'][:300]}")
        if not seen and not self._silent:
            self._silent = True
            self._find(f"the kernel's guard stopped reporting at cell {cell_index + 1} (its event callbacks were "
                       "removed, or its log was changed)")

    def _find(self, what: str) -> None:
        if what not in self.findings:
            self.findings.append(what)

    def record(self, gid: str, stem: str):
        """``(payload, arrays)`` of a record, None when there is none; RecordError when it is unreadable,
        RecordBudgetError when it would take the submission's records past the budget."""
        raw = self.records.get(gid, {}).get(stem)
        if raw is None:
            return None
        if isinstance(raw, _OverBudget):
            raise RecordBudgetError(str(raw))
        if isinstance(raw, str):
            raise RecordError(raw)
        limit = min(MAX_RECORD_BYTES, max(self.left, 0))
        try:
            payload, arrays = parse_record(*raw, max_bytes=limit)
        except RecordTooLarge:
            if limit < MAX_RECORD_BYTES:
                raise RecordBudgetError(f"its arrays hold more than the {limit / 2**20:.0f} MB left of the grader's "
                                        f"budget of {RECORD_BUDGET_BYTES / 2**20:.0f} MB for one submission's records "
                                        "(0 points for this cell; return smaller results)") from None
            raise
        self.left -= sum(a.nbytes for a in arrays.values())
        self.arrays_left -= len(arrays)
        if self.arrays_left < 0:
            raise RecordBudgetError(f"the submission's records hold more than {RECORD_BUDGET_ARRAYS} arrays in all "
                                    "(0 points for this cell)")
        return payload, arrays


def _read_plain(path: Path, limit: int, truncate: bool = False):
    """The bytes of a regular file, never through a symbolic link; None when it does not exist; a reason
    (str) when it is something else or larger than ``limit`` (``truncate``: its first ``limit`` bytes)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return "is a symbolic link" if exc.errno == errno.ELOOP else f"could not be read ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):       # a folder, a FIFO, a device: never opened as a file
            return "is not a plain file"
        if info.st_size > limit and not truncate:
            return "is too large to be read"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    except OSError as exc:
        return f"could not be read ({exc.strerror or type(exc).__name__})"
    finally:
        os.close(fd)


@dataclass
class Verdicts:
    """The grader's judgement of one executed notebook."""

    scores: dict                      # grade_id -> points earned (None: a person grades it)
    messages: dict                    # grade_id -> the grader's message when the cell earned nothing
    findings: list                    # what a person should look at (the submission is flagged)


def score(nb, p: Plan, watch: CellWatch, cases: dict, problems: dict, a: Assignment | None = None) -> Verdicts:
    """Judge every autograded cell of the executed notebook ``nb``, in this process.

    ``cases``: name -> the hidden inputs the grader made; ``problems``: name -> why they could not
    be made; ``a``: the assignment, resolved once by the caller (from the plan's id when None). A cell that
    the watch judged as soon as it ran (:meth:`CellWatch.attach`) keeps that verdict; the others are judged
    here from the records the watch holds. Outputs of the cells are completed with the grader's verdicts, in
    place. Returns the :class:`Verdicts`.
    """
    if a is None and p.hidden and not p.kernel_only:
        a = get_assignment(p.assignment)
    judge = _CellJudge(a, p, cases, problems)
    scores, messages, findings, disagree = {}, {}, [], []
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid not in p.points:
            continue
        if gid in p.manual:              # a person grades it; a blank answer gets 0 now
            blank = is_blank_answer(cell.get("source"), p.answers.get(gid, ""))
            scores[gid] = 0.0 if blank else None
            if blank:
                messages[gid] = "no answer was written."
            continue
        ran = index in watch.replies
        kernel_ok = watch.replies.get(index) == "ok"
        if p.kernel_only:
            verdict = None
        elif gid in p.hidden or gid in judge.visible:
            verdict, found = watch.verdicts[gid] if gid in watch.verdicts else judge(watch, gid, ran, kernel_ok)
            findings.extend(found)
            if gid in p.hidden:
                _show_hidden(cell, verdict, gid in p.hidden_only)
            elif kernel_ok and verdict is not None:
                disagree.append(gid)
                cell.outputs.append(error_output("GraderVerdict", "This test passed in your kernel, but not when the "
                                           "grader ran it again on the values your functions returned there: "
                                           + verdict))
        else:
            verdict = "the grader has no way to judge this cell."
        earned = ran and kernel_ok and verdict is None
        scores[gid] = p.points[gid] if earned else 0.0
        if not earned:
            messages[gid] = verdict or "the cell raised an error in the kernel."
    if disagree:
        findings.append(f"{', '.join(disagree)} passed in the kernel but not when the grader ran the same tests on the "
                        "values the functions returned (scored 0)")
    return Verdicts(scores, messages, findings)


class _CellJudge:
    """The grader's verdict on one hidden or visible test cell, from the records the watch read for it."""

    def __init__(self, a: Assignment | None, p: Plan, cases: dict, problems: dict):
        self.a, self.p, self.cases, self.problems = a, p, cases, problems
        self.visible = {gid: (source, tuple(names)) for gid, source, names in p.visible}
        self._replayer = None

    @property
    def replayer(self):
        from .replay import Replayer

        if self._replayer is None:
            self._replayer = Replayer.for_imports(self.p.imports)
        return self._replayer

    def __call__(self, watch: CellWatch, gid: str, ran: bool, kernel_ok: bool) -> tuple[str | None, list]:
        """``(verdict, findings)``: the verdict is None when the cell's tests passed, else what failed."""
        from .replay import VisibleCell

        findings = []
        if gid in self.p.hidden:
            return _judge_hidden(self.a, self.p, gid, watch, self.cases, self.problems, findings, kernel_ok), findings
        if not ran:
            return "the cell did not run.", findings
        source, names = self.visible[gid]
        try:
            record = watch.record(gid, f"cells/{gid}")
        except RecordBudgetError as exc:
            findings.append(f"{gid}: {exc}")
            return f"the record of this test's calls was not judged: {exc}", findings
        except RecordError as exc:
            findings.append(f"{gid}: a record the kernel's recorder cannot have written ({exc})")
            return f"the record of this test's calls is unreadable: {exc}", findings
        if record is None:
            findings.append(f"{gid} ran but left no record of its calls (the recorder was switched off, or its record "
                            "removed)")
        return self.replayer.run(VisibleCell(gid, source, names), record), findings


def _judge_hidden(a: Assignment, p: Plan, gid: str, watch: CellWatch, cases: dict, problems: dict, findings: list,
                  kernel_ok: bool) -> str | None:
    """The verdict of one hidden cell: None when every function it checks passed, else the messages."""
    from .specs import judge

    lines, failed = [], False
    for name in p.hidden[gid]:
        if name not in cases:
            message = f"`{name}`: its hidden inputs could not be made ({problems.get(name, 'no spec')})."
        else:
            try:
                record = watch.record(gid, name)
                if record is None:
                    message = f"`{name}` was not checked: its hidden test did not run to the end."
                    if kernel_ok:
                        findings.append(f"{gid} ran to the end but left no record for `{name}` (removed?)")
                elif not isinstance(record[0], dict):
                    raise RecordError("its structure is not a record")
                else:
                    message = judge(a, name, cases[name], *record)
                    if getattr(message, "review", False):
                        findings.append(f"{gid}: {message.splitlines()[-1][:300]}")
            except RecordBudgetError as exc:
                message = f"`{name}` was not judged: {exc}"
                findings.append(f"{gid}: {exc}")
            except RecordError as exc:
                message = f"`{name}`: its recorded results could not be read ({exc})."
                findings.append(f"{gid}: a record for `{name}` that the kernel's recorder cannot have written ({exc})")
        failed |= message is not None
        lines.append(f"`{name}`: passed every hidden case." if message is None else message)
    return "\n".join(lines) if failed else None


def _show_hidden(cell, verdict: str | None, replace: bool) -> None:
    """A hidden cell's outputs: the grader's verdict (what the kernel printed there is not trusted, and a
    traceback from a hidden region would show its source)."""
    if verdict is None:
        out = stream_output("Hidden tests: passed every case (judged by the grader).\n")
    else:
        out = error_output("HiddenTestFailure", verdict)
    cell.outputs = [out] if replace else list(cell.outputs) + [out]
