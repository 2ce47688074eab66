"""Grade a whole demo class with `elv grade`: the reference, the blank release, every mistake, and
submissions that are broken in the usual ways. One grading run (about 2 minutes on 2 cores) feeds
every test of this module."""

import csv
import json

import nbformat
import pytest

from autograder.classroom import build_class, mistakes, reference_submission
from autograder.cli import main
from autograder.notebooks import write_notebook

pytestmark = pytest.mark.slow


def _with_cell(nb, grade_id, source):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory, stereo):
    base = tmp_path_factory.mktemp("class")
    cls = base / "submissions"
    roster = build_class(stereo, cls)
    ref = reference_submission(stereo)
    # broken in the usual ways
    (cls / "malformed").mkdir()
    (cls / "malformed" / "stereo.ipynb").write_text('{"cells": [ {"cell_type": "code", ')
    (cls / "missing").mkdir()
    (cls / "missing" / "notes.txt").write_text("forgot the notebook")
    write_notebook(ref, cls / "misnamed" / "stereo (1).ipynb")
    write_notebook(ref, cls / "flat-file-student.ipynb")
    write_notebook(_with_cell(ref, "q3-wta", "import os\nos._exit(1)"), cls / "kernel-killer" / "stereo.ipynb")
    sleepy = ref
    for gid in ("q4-sgm-step", "q4-aggregate", "q5-right-cost"):     # 3 x 25 s: each cell within its limit
        sleepy = _with_cell(sleepy, gid, "import time\ntime.sleep(25)")
    write_notebook(sleepy, cls / "sleeper" / "stereo.ipynb")
    write_notebook(_with_cell(ref, "q5-lr-check", "while True:\n    pass"), cls / "spinner" / "stereo.ipynb")
    write_notebook(_with_cell(ref, "q5-right-cost", "import numpy as np\nhog = np.ones(30 * 10**9, dtype=np.uint8)"),
                   cls / "memory-hog" / "stereo.ipynb")
    tampered = _with_cell(ref, "q2-sad-visible", "print('all good')")
    tampered.cells = [c for c in tampered.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "q3-wta-hidden"]
    write_notebook(tampered, cls / "tamperer" / "stereo.ipynb")
    out = base / "results"
    code = main(["grade", "01_stereo", str(cls), "--out", str(out), "--jobs", "2", "--timeout", "60",
                 "--cell-timeout", "30", "--no-progress"])
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return {"code": code, "out": out, "rows": rows, "roster": roster}


def test_batch_finishes_and_grades_everyone(graded):
    assert graded["code"] == 0
    assert set(graded["roster"]) | {"malformed", "missing", "misnamed", "flat-file-student", "kernel-killer",
                                    "sleeper", "spinner", "tamperer", "memory-hog"} == set(graded["rows"])


def test_reference_scores_full_marks(graded):
    row = graded["rows"]["reference"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) == 100


def test_blank_release_scores_zero_on_every_autograded_cell(graded, stereo):
    from nbgrader.api import Gradebook

    assert float(graded["rows"]["blank"]["score"]) == 0
    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}", "elv") as gb:
        nb = gb.find_submission_notebook("stereo", stereo.id, "blank")
        assert len(nb.grades) == 26
        assert all(g.auto_score == 0 for g in nb.grades)


def test_every_mistake_loses_points_in_its_question(graded, stereo):
    maxima = {q: float(graded["rows"]["reference"][q]) for q in stereo.questions}
    for m in mistakes(stereo):
        row = graded["rows"][m.student]
        assert row["status"] == "graded", m.student
        assert float(row[m.question]) < maxima[m.question], f"{m.student} keeps full marks in {m.question}"


def test_broken_submissions_get_a_status_and_keep_partial_credit(graded):
    rows = graded["rows"]
    assert rows["malformed"]["status"] == "malformed" and float(rows["malformed"]["score"]) == 0
    assert "not a readable notebook" in rows["malformed"]["message"]
    assert rows["missing"]["status"] == "missing" and "no stereo.ipynb" in rows["missing"]["message"]
    assert rows["misnamed"]["status"] == "graded" and float(rows["misnamed"]["score"]) == 100
    assert "stereo (1).ipynb" in rows["misnamed"]["flags"]
    assert float(rows["flat-file-student"]["score"]) == 100
    killer = rows["kernel-killer"]
    assert killer["status"] == "kernel-died"
    assert (float(killer["q1"]), float(killer["q2"]), float(killer["q3"]), float(killer["q4"])) == (10, 20, 0, 0)
    sleeper = rows["sleeper"]
    assert sleeper["status"] == "timeout" and "60 s" in sleeper["message"]
    assert (float(sleeper["q3"]), float(sleeper["q4"])) == (12, 0)
    spinner = rows["spinner"]
    assert spinner["status"] == "graded" and "cells stopped after 30 s: q5-lr-check" in spinner["flags"]
    assert float(spinner["q4"]) == 22 and float(spinner["q5"]) == 5, "the LR check's tests fail, the rest stands"


def test_a_30_gb_allocation_fails_in_its_cell_under_the_memory_limit(graded):
    row = graded["rows"]["memory-hog"]
    assert row["status"] == "graded", "the kernel survives: the allocation fails with MemoryError"
    assert (float(row["q1"]), float(row["q2"]), float(row["q3"]), float(row["q4"])) == (10, 20, 12, 22)
    assert float(row["q5"]) < 12
    page = (graded["out"] / "feedback" / "memory-hog.html").read_text()
    assert "MemoryError" in page


def test_edited_and_deleted_test_cells_are_restored_and_flagged(graded):
    row = graded["rows"]["tamperer"]
    assert float(row["score"]) == 100, "the restored tests pass on the reference code"
    assert "q2-sad-visible" in row["flags"] and "q3-wta-hidden" in row["flags"]


def test_gradebook_and_csv_agree(graded, stereo):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}", "elv") as gb:
        for student, row in graded["rows"].items():
            sub = gb.find_submission(stereo.id, student)
            assert sub.score == pytest.approx(float(row["score"])), student


def test_feedback_pages_hide_the_hidden_tests(graded):
    out = graded["out"]
    page = (out / "feedback" / "mistake-p1-p2-swapped.html").read_text()
    assert "HiddenTestFailure" in page and "sgm_step" in page
    assert 'check(&quot;01_stereo&quot;' not in page and 'check("01_stereo"' not in page
    assert "BEGIN HIDDEN TESTS" not in page and "autograder.hidden" not in page
    assert "Score: 78" in page or "78 / 100" in page
    assert (out / "autograded" / "reference" / "stereo.ipynb").is_file()
    assert not (out / "feedback" / "malformed.html").exists()


def test_summary_reports_questions_and_flagged(graded):
    text = (graded["out"] / "summary.txt").read_text()
    assert "Per question" in text and "q4   Semi-global matching" in text
    for student in ("malformed", "missing", "kernel-killer", "sleeper", "spinner", "tamperer"):
        assert student in text.split("Flagged submissions")[1]
    data = json.loads((graded["out"] / "summary.json").read_text())
    assert data["statuses"]["graded"] >= 15 and 0 < data["questions"]["q4"]["pass_rate"] < 1
