"""``elv export RESULTS --lms canvas|brightspace``: the grades in the import layout of the course's LMS.

Both are made from ``RESULTS/grades.csv`` (the final score of each student, late penalty included) and the
roster's ``lms_id``:

* **Canvas** (Grades ▸ Import): ``Student, ID, SIS User ID, SIS Login ID, Section`` and one column for the
  assignment, headed as Canvas heads it (``"Assignment 1 (123456)"``: give ``--column`` the header of your
  gradebook's export; without one Canvas creates a new assignment). Canvas matches students by ``ID``.
* **Brightspace** (Grades ▸ Import): ``OrgDefinedId``, ``"<item> Points Grade"`` and the
  ``End-of-Line Indicator`` column (``#``).

A student without an LMS id (not on the roster) cannot be imported: they are left out and named. A roster
student who submitted nothing gets an empty cell (the LMS leaves the grade as it was), or 0 with
``--missing zero``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .report import neutralise

__all__ = ["export", "LAYOUTS"]

#: LMS -> its import columns before the grade
LAYOUTS = {"canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], "brightspace": ["OrgDefinedId"]}


def _assignment_name(results: Path) -> str:
    """The title of the assignment the results folder holds (its id, or the folder's name, when unknown)."""
    import json

    from ..grading.preflight import MARKER

    try:
        assignment_id = json.loads((results / MARKER).read_text(encoding="utf-8"))["assignment"]
    except (OSError, ValueError, KeyError, TypeError):
        return results.resolve().name
    from ..course import get_assignment

    try:
        return get_assignment(assignment_id).title
    except KeyError:
        return str(assignment_id)


def _grade(row: dict, missing: str) -> str:
    if row["status"] == "missing":
        return "0" if missing == "zero" else ""
    return row["score"]


def export(results: Path, lms: str, out: Path, *, column: str | None = None, missing: str = "blank") -> list[str]:
    """Write ``out`` in the import layout of ``lms`` from ``results/grades.csv``; returns the students left out
    (no LMS id).

    Raises
    ------
    ValueError
        For an unknown LMS or ``missing`` value, or a results folder without grades.csv.
    """
    if lms not in LAYOUTS:
        raise ValueError(f"--lms expects {' or '.join(LAYOUTS)}; got {lms!r}.")
    if missing not in ("blank", "zero"):
        raise ValueError(f"--missing expects blank or zero; got {missing!r}.")
    grades = Path(results) / "grades.csv"
    if not grades.is_file():
        raise ValueError(f"{results} has no grades.csv: give the results folder of an `elv grade` run.")
    with open(grades, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] != "ignored"]
    assignment = _assignment_name(Path(results))
    header = column or (f"{assignment} Points Grade" if lms == "brightspace" else assignment)
    if lms == "brightspace" and not header.endswith("Points Grade"):
        header = f"{header} Points Grade"
    left_out, table = [], []
    for r in sorted(rows, key=lambda r: r["student"]):
        lms_id = r.get("lms_id", "").lstrip("'")
        if not lms_id:
            left_out.append(r["student"])
            continue
        grade = _grade(r, missing)
        if lms == "canvas":
            table.append({"Student": r.get("name") or r["student"], "ID": lms_id, "SIS User ID": "",
                          "SIS Login ID": "", "Section": "", header: grade})
        else:
            table.append({"OrgDefinedId": lms_id, header: grade, "End-of-Line Indicator": "#"})
    fields = LAYOUTS[lms] + [header] + (["End-of-Line Indicator"] if lms == "brightspace" else [])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in table)
    return left_out
