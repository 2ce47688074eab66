"""The course's side of a grading run: the roster (LMS ids, extensions) and the late policy.

Roster
    A CSV file with a header. ``student`` (required) is the name of the
    submission (the file ``<student>.ipynb`` or the folder ``<student>/``);
    optional columns: ``lms_id`` (the id your learning-management system
    imports grades by), ``name``, ``email`` and ``extension``: extra time for
    this student, as days (``3``), hours (``36h``) or a new deadline
    (``2026-12-05T23:59``).

Late policy
    ``LatePolicy(deadline, per_day=10, cap=50, grace_minutes=15)``: a
    submission after its deadline (plus the grace period) loses ``per_day``
    percent of its score for every started day late, at most ``cap`` percent.
    ``per_day=100`` is nbgrader's "zero" policy; no policy is nbgrader's "none".

Submission times come from nbgrader's ``timestamp.txt`` beside the notebook
(its exchange writes one per submission). A file's modification time is used
only when asked for (``--submitted-from-mtime``; a ``cp`` without ``-p`` would
make a whole class late), and flagged; a submission without a time, or with a
``timestamp.txt`` that does not parse, loses nothing and is flagged as such.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["RosterEntry", "read_roster", "LatePolicy", "parse_time", "submission_time", "roster_name", "apply_roster",
           "apply_late"]


def parse_time(text: str, what: str = "time") -> datetime:
    """An ISO date-time (``2026-12-01T23:59``, ``2026-12-01 23:59:00 UTC``) as an aware UTC datetime.

    A time without a zone is taken as UTC.
    """
    raw = str(text).strip()
    cleaned = re.sub(r"\s*(UTC|Z)$", "+00:00", raw)
    try:
        t = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{what} must be an ISO date-time such as 2026-12-01T23:59 or "
                         f"2026-12-01 23:59:00 UTC; got {raw!r}.") from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster: the submission's name, LMS id, name, e-mail and extension."""

    student: str
    lms_id: str = ""
    name: str = ""
    email: str = ""
    extension: str = ""

    def deadline(self, base: datetime) -> datetime:
        """This student's deadline, given the course's."""
        ext = self.extension.strip()
        if not ext:
            return base
        m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([dh]?)", ext)
        if m:
            amount = float(m.group(1))
            return base + (timedelta(hours=amount) if m.group(2) == "h" else timedelta(days=amount))
        return parse_time(ext, f"the extension of {self.student}")


def read_roster(path: Path) -> dict[str, RosterEntry]:
    """The roster in ``path``: student -> entry.

    Raises
    ------
    ValueError
        If the file has no ``student`` or no ``lms_id`` column, a row without a student, a student twice,
        or an extension that is neither a number of days or hours nor a date-time.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"roster file {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        if "student" not in columns:
            raise ValueError(f"the roster {path} needs a 'student' column (the submission's name); "
                             f"its columns are: {', '.join(columns) or 'none'}.")
        if "lms_id" not in columns:
            raise ValueError(f"the roster {path} needs an 'lms_id' column (the id your LMS imports grades by); "
                             f"its columns are: {', '.join(columns)}.")
        entries: dict[str, RosterEntry] = {}
        for line, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            student = row.get("student", "")
            if not student:
                if any(row.values()):
                    raise ValueError(f"the roster {path}, line {line}: the student column is empty "
                                     f"({', '.join(v for v in row.values() if v)}).")
                continue            # a blank line
            if student in entries:
                raise ValueError(f"the roster {path} lists {student!r} twice (line {line}).")
            entry = RosterEntry(student=student, lms_id=row.get("lms_id", ""), name=row.get("name", ""),
                                email=row.get("email", ""), extension=row.get("extension", ""))
            entry.deadline(datetime(2000, 1, 1, tzinfo=timezone.utc))      # fail now on a bad extension
            entries[student] = entry
    return entries


@dataclass(frozen=True)
class LatePolicy:
    """Per-day late penalty with a cap (percent of the score)."""

    deadline: datetime
    per_day: float = 10.0
    cap: float = 100.0
    grace_minutes: float = 0.0
    extensions: dict = field(default_factory=dict, compare=False)     # student -> RosterEntry

    def __post_init__(self):
        if not 0 <= self.per_day <= 100:
            raise ValueError(f"the late penalty per day must be a percentage in [0, 100]; got {self.per_day}.")
        if not 0 <= self.cap <= 100:
            raise ValueError(f"the late penalty cap must be a percentage in [0, 100]; got {self.cap}.")
        if self.grace_minutes < 0:
            raise ValueError(f"the grace period must be >= 0 minutes; got {self.grace_minutes}.")

    def deadline_for(self, student: str) -> datetime:
        """The deadline of ``student``: the course's, or the one their extension gives."""
        entry = self.extensions.get(student)
        return entry.deadline(self.deadline) if entry else self.deadline

    def late_days(self, student: str, submitted: datetime) -> int:
        """Started days after the student's deadline and the grace period (0: on time)."""
        late = submitted - self.deadline_for(student) - timedelta(minutes=self.grace_minutes)
        if late <= timedelta(0):
            return 0
        return math.ceil(late / timedelta(days=1))

    def penalty_percent(self, student: str, submitted: datetime) -> float:
        """The percent of the score ``student`` loses for handing in at ``submitted`` (capped)."""
        return min(self.cap, self.per_day * self.late_days(student, submitted))


def submission_time(notebook: Path, submissions: Path, from_mtime: bool = False) -> tuple[datetime | None, str]:
    """When a submission was handed in, and where that came from: ``(time, "timestamp.txt")``; ``(None,
    "unparsable: <text>")`` for a ``timestamp.txt`` that does not parse; else ``(the file's modification time,
    "mtime")`` when ``from_mtime``, ``(None, "none")`` otherwise.

    ``timestamp.txt`` is looked for in the folders between the notebook and the submissions
    folder (the student's folder, nbgrader's ``<student>/<assignment>/``), never in the
    submissions folder itself.
    """
    notebook = Path(notebook).parent.resolve() / Path(notebook).name     # the file itself, not a link's target
    submissions = Path(submissions).resolve()
    folders = []
    folder = notebook.parent
    while folder != submissions and submissions in folder.parents:
        folders.append(folder)
        folder = folder.parent
    for folder in folders:
        stamp = folder / "timestamp.txt"
        if stamp.is_file():
            text = stamp.read_text(encoding="utf-8", errors="replace").strip()
            try:
                return parse_time(text, f"{stamp}"), "timestamp.txt"
            except ValueError:
                return None, f"unparsable: {text[:40]!r}"
    if from_mtime:
        return datetime.fromtimestamp(notebook.lstat().st_mtime, tz=timezone.utc), "mtime"
    return None, "none"


def roster_name(student: str, original: str, roster: dict) -> str:
    """The roster's name for a submission: its gradebook id, else the name it was submitted under."""
    return student if student in roster else original


def apply_roster(result, found, submissions: Path, options) -> None:
    """Fill in a :class:`~autograder.grading.types.SubmissionResult` from the roster of ``options``: its
    LMS id and name (flagged when the student is not on it), and when the :class:`Found` submission was
    handed in."""
    roster = options.roster
    entry = None if roster is None else roster.get(roster_name(result.student, found.original, roster))
    if entry is not None:
        result.lms_id, result.name, result.email = entry.lms_id, entry.name, entry.email
    elif roster is not None:
        result.flags.append("not on the roster")
    if found.path is not None:
        when, source = submission_time(found.path, submissions, options.submitted_from_mtime)
        if when is not None:
            result.submitted = when.isoformat(timespec="seconds")
        if options.late is None:
            return
        if source == "mtime":
            result.flags.append("submission time from the file's modification time (--submitted-from-mtime)")
        elif source.startswith("unparsable"):
            stamp = source.partition(": ")[2]
            result.flags.append(f"submission time unknown: timestamp.txt does not parse ({stamp}); no late penalty "
                                "applied")
        elif source == "none":
            result.flags.append("submission time unknown: no timestamp.txt; no late penalty applied "
                                "(--submitted-from-mtime takes the file's modification time)")


def apply_late(result, options, original: str = "") -> None:
    """Take the late penalty of ``options.late`` off ``result``: a share of the points the tests gave, with
    a flag that says how late and how much (``original``: the name it was submitted under)."""
    if options.late is None or not result.submitted:
        return
    who = roster_name(result.student, original, options.late.extensions)
    when = parse_time(result.submitted)
    result.late_days = options.late.late_days(who, when)
    percent = options.late.penalty_percent(who, when)
    if percent:
        result.penalty = round(result.raw_score * percent / 100.0, 4)
        deadline = options.late.deadline_for(who).isoformat(timespec="minutes")
        result.flags.append(f"late by {result.late_days} day(s) after {deadline}: -{percent:g} % "
                            f"({result.penalty:g} points)")

