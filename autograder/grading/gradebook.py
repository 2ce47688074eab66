"""The gradebook's side of grading (the batch's own process only): nbgrader's course folder, each
submission made safe to run, and the scores written.

A submission is data. Before it runs, :meth:`Gradebook.sanitise` takes every piece of metadata that
only the release may set from the release, strips the cells the release does not have of their
grading metadata, and restores read-only and test cells with nbgrader's own preprocessors.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path

from ..course import Assignment
from ..course.nbgrader_course import COURSE_ID, generate_assignment
from ..course.notebooks import grade_id, read_source, without_hidden_region, write_notebook
from ..integrity.judge import TAMPERING
from .types import SubmissionResult

__all__ = ["Gradebook", "answer_digests"]


class Gradebook:
    """nbgrader's course folder and gradebook under ``RESULTS/``, for one assignment.

    Only the batch's own process uses it (the gradebook has one writer): it registers the assignment,
    makes each submission safe to run (:meth:`sanitise`) and writes the scores (:meth:`save`).
    """

    def __init__(self, a: Assignment, out: Path, db_url: str | None, late=None):
        self.a, self.late = a, late          # late: the batch's policy.LatePolicy (deadline, extensions) or None
        self.out = out
        self.root = out / "nbgrader"
        self.db_url = db_url or f"sqlite:///{(out / 'gradebook.db').resolve()}"
        self._source = {gid: cell for cell in read_source(a.source).cells if (gid := grade_id(cell))}
        self._released = {gid: without_hidden_region(cell.source) for gid, cell in self._source.items()}

    def open(self):
        """nbgrader's ``Gradebook`` (a context manager) on this course's database."""
        from nbgrader.api import Gradebook as NbgraderGradebook

        from ..course.alembic_head import install

        install()
        return NbgraderGradebook(self.db_url, COURSE_ID)

    def register(self) -> None:
        """Put the assignment's source notebook in the gradebook (skipped when it is unchanged since the last
        run on the same database), with the late policy's deadline as nbgrader's due date. nbgrader's errors
        propagate."""
        nb = read_source(self.a.source)
        src = self.root / "source" / self.a.id / f"{self.a.notebook}.ipynb"
        write_notebook(nb, src)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        stamp = self.root / f".registered-{self.a.id}"
        if not (stamp.is_file() and stamp.read_text() == f"{digest} {self.db_url}"):
            generate_assignment(self.root, self.db_url, self.a.id)
            stamp.write_text(f"{digest} {self.db_url}")
        if self.late is not None:               # nbgrader's own due date, beside which it keeps extensions
            with self.open() as gb:
                gb.update_or_create_assignment(self.a.id, duedate=self.late.deadline.replace(tzinfo=None))

    def source_cells(self) -> dict:
        """grade_id -> the source notebook's cell (complete nbgrader metadata, hidden tests included)."""
        return self._source

    def released_sources(self) -> dict:
        """grade_id -> source of the cell as students received it (hidden tests removed)."""
        return self._released

    def sanitise(self, nb, student: str):
        """The submission as it will run; returns ``(notebook, flags that say what was changed, tampering
        found)``. nbgrader's errors propagate (the batch reports the submission as malformed).

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
        before = {gid: c.source for c in nb.cells if (gid := grade_id(c))}
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

        present = {gid for c in nb.cells if (gid := grade_id(c))}
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
                    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == earlier) + 1
                    break
            nb.cells.insert(at, new)
            present.add(gid)
            added.append(gid)
        return added

    def save(self, result: SubmissionResult) -> None:
        """Write one submission's scores, late penalty, student details and tampering flag to the gradebook
        (the student and the submission are created when new)."""
        import warnings

        from sqlalchemy.exc import SAWarning

        # nbgrader's models trigger SQLAlchemy 2's autoflush warnings when a submission is created
        warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
        with self.open() as gb:
            student = {"lms_user_id": result.lms_id} if result.lms_id else {}
            if result.name:
                student.update(_first_last(result.name))
            if result.email:
                student["email"] = result.email
            gb.update_or_create_student(result.student, **student)
            submission = {"timestamp": _naive_utc(result.submitted)} if result.submitted else {}
            if self.late is not None:           # the roster's extension, in nbgrader's extension column
                extra = self.late.deadline_for(result.student) - self.late.deadline
                if extra.total_seconds() > 0:
                    submission["extension"] = extra
            gb.update_or_create_submission(self.a.id, result.student, **submission)
            nb = gb.find_submission_notebook(self.a.notebook, self.a.id, result.student)
            changed = set(result.answers_changed)
            for grade in nb.grades:
                score = result.scores.get(grade.name, 0.0)
                grade.auto_score = score
                if grade.name in changed:           # the answer a person graded is not this one any more
                    grade.manual_score = None
                # a written answer waits for a person until one gives it a score; a blank one got 0 already
                grade.needs_manual_grade = score is None and grade.manual_score is None
            for comment in nb.comments:
                comment.auto_comment = None
                if comment.name in changed:
                    comment.manual_comment = None
            nb.late_submission_penalty = result.penalty or None     # nbgrader keeps it beside the score
            nb.flagged = any(f.startswith(TAMPERING) for f in result.flags)
            gb.db.commit()


    def manual_grades(self) -> dict:
        """What people gave in the gradebook (nbgrader's formgrader): student -> {grade_id: (score or None,
        comment)} for every cell with a person's score or comment, read once per run."""
        from nbgrader.api import MissingEntry

        out: dict = {}
        with self.open() as gb:
            try:
                assignment = gb.find_assignment(self.a.id)
            except MissingEntry:
                return out
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    if nb.name != self.a.notebook:
                        continue
                    comments = {c.name: (c.manual_comment or "").strip() for c in nb.comments}
                    given = {}
                    for grade in nb.grades:
                        comment = comments.get(grade.name, "")
                        if grade.manual_score is not None or comment:
                            given[grade.name] = (None if grade.manual_score is None else float(grade.manual_score),
                                                 comment)
                    if given:
                        out[submission.student.id] = given
        return out


def _first_last(name: str) -> dict:
    """A roster name as nbgrader's first and last name: "Liddell, Alice" (as LMS exports write it) or
    "Alice Pleasance Liddell" (the last word is the last name)."""
    if "," in name:
        last, _, first = name.partition(",")
    else:
        first, _, last = name.strip().rpartition(" ")
        if not first:
            first, last = last, ""
    return {"first_name": first.strip(), "last_name": last.strip()}


def _naive_utc(iso: str):
    """An ISO time as the naive UTC datetime nbgrader stores."""
    from .policy import parse_time

    return parse_time(iso).replace(tzinfo=None)      # nbgrader stores naive UTC times


def answer_digests(nb, manual) -> dict:
    """grade_id -> digest of each written answer of ``nb`` (whitespace aside), to tell a changed answer."""
    wanted = set(manual)
    out = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in wanted and isinstance(cell.get("source"), str):
            out[gid] = hashlib.sha256(" ".join(cell.source.split()).encode()).hexdigest()[:16]
    return out
