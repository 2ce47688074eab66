"""Grade the optical-flow demo class with `elv grade`: the reference, the blank release and every
mistake of the corpus (about 1.5 minutes on 2 cores)."""

import csv

import pytest

from autograder.classroom import build_class, mistakes
from autograder.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory, flow_assignment):
    base = tmp_path_factory.mktemp("flow-class")
    roster = build_class(flow_assignment, base / "submissions")
    out = base / "results"
    code = main(["grade", flow_assignment.id, str(base / "submissions"), "--out", str(out), "--jobs", "2",
                 "--timeout", "300", "--cell-timeout", "120", "--no-progress"])
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return {"code": code, "out": out, "rows": rows, "roster": roster}


def test_reference_full_blank_zero(graded, flow_assignment):
    from nbgrader.api import Gradebook

    assert graded["code"] == 0 and set(graded["rows"]) == set(graded["roster"])
    ref = graded["rows"]["reference"]
    assert ref["status"] == "graded" and float(ref["score"]) == float(ref["max_score"]) == 100, ref
    assert float(graded["rows"]["blank"]["score"]) == 0
    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}", "elv") as gb:
        nb = gb.find_submission_notebook(flow_assignment.notebook, flow_assignment.id, "blank")
        assert len(nb.grades) == 25 and all(g.auto_score == 0 for g in nb.grades)


def test_every_flow_mistake_loses_points_in_its_question(graded, flow_assignment):
    maxima = {q: float(graded["rows"]["reference"][q]) for q in flow_assignment.questions}
    for m in mistakes(flow_assignment):
        row = graded["rows"][m.student]
        assert row["status"] == "graded", m.student
        assert float(row[m.question]) < maxima[m.question], f"{m.student} keeps full marks in {m.question}"
        assert float(row["score"]) > 0, f"{m.student}: partial credit for the parts that are right"


def test_flow_feedback_hides_the_hidden_tests(graded):
    page = (graded["out"] / "feedback" / "mistake-fb-mask-l1-norm.html").read_text()
    assert "HiddenTestFailure" in page and "forward_backward_mask" in page
    assert "autograder.hidden" not in page and "BEGIN HIDDEN TESTS" not in page
