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

:class:`~autograder.integrity.watch.CellWatch` follows the kernel cell by cell and hands each graded cell's
records to :class:`CellJudge` as soon as the cell has run; :func:`score` puts the verdicts together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..course import Assignment, get_assignment
from ..course.notebooks import (error_output, grade_cells, grade_id, grade_meta, has_test_code, imports_source,
                                is_blank_answer, released_answer, stream_output)
from ..kernel_side.records import RecordError
from .watch import RECORD_BUDGET_BYTES, CellWatch, RecordBudgetError

__all__ = ["Plan", "plan", "validation_plan", "CellWatch", "CellJudge", "score", "TAMPERING",
           "RECORD_BUDGET_BYTES", "RecordBudgetError"]

#: flags that start with this mark something for a person to review (nbgrader's `flagged`)
TAMPERING = "tampering"


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
    #: function -> the earlier functions it calls that other questions judge (the specs' ``isolate``): the kernel
    #: records those calls inside a visible test's calls too, and the replay judges with them where they differ
    isolate: dict = field(default_factory=dict)


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
    from .specs import specs

    isolate = {name: list(s.isolate) for name, s in specs(a).items() if s.isolate}
    return Plan(a.id, points, hidden, visible, imports_source(source_nb), hidden_only, manual, answers, isolate=isolate)


def validation_plan(release_nb) -> Plan:
    """The plan of ``elv validate`` for the released notebook ``release_nb``: every autograded cell judged by
    the kernel's reply (on a student's machine, where the grader's inputs and the reference are absent)."""
    points = {gid: float(points) for gid, points in grade_cells(release_nb)}
    return Plan("", points, {}, [], "", kernel_only=True)


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
    judge = CellJudge(a, p, cases, problems)
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
            elif kernel_ok and verdict is not None and not getattr(verdict, "passed", False):
                disagree.append(gid)
                cell.outputs.append(error_output("GraderVerdict", "This test passed in your kernel, but not when the "
                                           "grader ran it again on the values your functions returned there: "
                                           + verdict))
        else:
            verdict = "the grader has no way to judge this cell."
        explained = getattr(verdict, "explained", False)      # failed in the kernel only through earlier answers
        if explained:
            cell.outputs.append(stream_output(f"The grader: {verdict}\n"))
        earned = ran and (kernel_ok or explained) and (verdict is None or getattr(verdict, "passed", False))
        scores[gid] = p.points[gid] if earned else 0.0
        if not earned:
            messages[gid] = verdict or "the cell raised an error in the kernel."
    if disagree:
        findings.append(f"{', '.join(disagree)} passed in the kernel but not when the grader ran the same tests on the "
                        "values the functions returned (scored 0)")
    return Verdicts(scores, messages, findings)


class CellJudge:
    """The grader's verdict on one hidden or visible test cell, from the records the watch read for it."""

    def __init__(self, a: Assignment | None, p: Plan, cases: dict, problems: dict):
        self.a, self.p, self.cases, self.problems = a, p, cases, problems
        self.visible = {gid: (source, tuple(names)) for gid, source, names in p.visible}
        self._replayer = None

    @property
    def replayer(self):
        """The visible tests' replayer, made on first use (a notebook without visible tests needs none)."""
        from .replay import Replayer

        if self._replayer is None:
            self._replayer = Replayer.for_imports(self.p.imports)
            self._replayer.assignment, self._replayer.isolate = self.a, dict(self.p.isolate)
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
        self.replayer.failed = _failed(watch)
        verdict = self.replayer.run(VisibleCell(gid, source, names), record)
        if self.replayer.refused:
            findings.append(_steered(gid, sorted(self.replayer.refused)))
        return verdict, findings


def _steered(gid: str, names) -> str:
    """The finding for earlier functions that passed their own hidden checks yet answered a later function's calls
    otherwise than the reference does for the same arguments."""
    return (f"{gid}: the student's {', '.join(f'`{n}`' for n in names)} passes its own hidden test but answered "
            "otherwise than the reference for the same arguments when a later function called it (written to steer "
            "that function's check?)")


def _failed(watch: CellWatch) -> frozenset:
    """The checked functions whose hidden checks failed so far in this notebook, or passed carrying an earlier
    function's different answers: the earlier functions whose answers may stand in for the reference's when a later
    check is judged apart from them."""
    return frozenset(name for name, passed in getattr(watch, "own", {}).items() if not passed)


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
                    message = judge(a, name, cases[name], *record, failed=_failed(watch))
                    if getattr(message, "review", False):
                        findings.append(f"{gid}: {message.splitlines()[-1][:300]}")
                    if getattr(message, "untrusted", None):
                        findings.append(_steered(gid, message.untrusted))
            except RecordBudgetError as exc:
                message = f"`{name}` was not judged: {exc}"
                findings.append(f"{gid}: {exc}")
            except RecordError as exc:
                message = f"`{name}`: its recorded results could not be read ({exc})."
                findings.append(f"{gid}: a record for `{name}` that the kernel's recorder cannot have written ({exc})")
        passed = message is None or getattr(message, "passed", False)
        failed |= not passed
        watch.own[name] = passed and not getattr(message, "carried", False)
        lines.append(f"`{name}`: passed every hidden case." if message is None else message)
    if failed:
        return "\n".join(lines)
    if any(getattr(line, "passed", False) for line in lines):     # passed, judged with the earlier answers
        from .specs import Passed

        return Passed("\n".join(lines))
    return None


def _show_hidden(cell, verdict: str | None, replace: bool) -> None:
    """A hidden cell's outputs: the grader's verdict (what the kernel printed there is not trusted, and a
    traceback from a hidden region would show its source)."""
    if verdict is None:
        out = stream_output("Hidden tests: passed every case (judged by the grader).\n")
    elif getattr(verdict, "passed", False):
        out = stream_output(f"Hidden tests: passed (judged by the grader).\n{verdict}\n")
    else:
        out = error_output("HiddenTestFailure", verdict)
    cell.outputs = [out] if replace else list(cell.outputs) + [out]
