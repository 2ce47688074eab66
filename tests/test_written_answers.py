"""Written answers, graded by people: a blank one scores 0 at once, any other waits for a TA; what TAs give in
the gradebook reaches grades.csv, the report, the feedback page and Gradescope's results; an answer that
changed since a TA graded it is graded again. The TA's side in a real browser is in test_formgrade.py."""

import dataclasses
import json

import nbformat
import pytest

from autograder.course.notebooks import (ANSWER_STUB, is_blank_answer, manual_cells, read_source,
                                         released_answer)
from autograder.grading import SubmissionResult
from autograder.outputs.feedback import refresh_page, render_feedback
from autograder.outputs.gradescope import results_json
from autograder.outputs.report import gradebook_table, summary_data, summary_text

SOURCE = "### BEGIN SOLUTION\n**Model answer.** Ties.\n\n**Rubric.** 2: all.\n### END SOLUTION"


def test_a_written_answer_is_blank_when_it_is_the_release_unchanged():
    released = released_answer(SOURCE)
    assert released == ANSWER_STUB
    assert released_answer("Intro kept.\n" + SOURCE) == f"Intro kept.\n{ANSWER_STUB}"
    for blank in ("", "   \n", ANSWER_STUB, f"  {ANSWER_STUB}\n\n", None, ["a list"], 3):
        assert is_blank_answer(blank, released), repr(blank)
    assert not is_blank_answer("Census costs are integers, so several disparities tie.", released)
    assert not is_blank_answer(f"{ANSWER_STUB} Census ties because ...", released)


@pytest.mark.parametrize("assignment_id", ["01_stereo", "02_optical_flow", "03_self_supervised", "04_normalized_cuts",
                                           "05_slot_attention"])
def test_every_notebook_asks_four_to_six_written_questions_with_a_rubric(assignment_id):
    from autograder.course import get_assignment
    from autograder.outputs.formgrade import rubrics

    a = get_assignment(assignment_id)
    cells = manual_cells(read_source(a.source))
    assert 4 <= len(cells) <= 6 and all(gid.startswith("written-") for gid, _ in cells), cells
    assert "written" in a.questions
    notes = rubrics(a)
    for gid, _ in cells:
        assert "**Model answer.**" in notes[gid] and "**Rubric.**" in notes[gid], gid
    release = nbformat.read(a.release_notebook, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
               if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("written-")}
    assert set(answers) == {gid for gid, _ in cells}
    assert all(text.strip() == ANSWER_STUB for text in answers.values()), "the release holds no model answer"


def test_the_judge_gives_a_blank_answer_zero_and_leaves_the_others_to_people(stereo, tmp_path):
    from autograder.integrity.judge import CellWatch, plan, score

    p = plan(stereo, read_source(stereo.source))
    written = [gid for gid in p.manual]
    assert written and all(gid.startswith("written-") for gid in written)
    release = nbformat.read(stereo.release_notebook, as_version=4)
    answered = written[0]
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == answered:
            cell.source = "Census costs are whole numbers: several disparities tie at the minimum."
    only_written = dataclasses.replace(p, hidden={}, visible=[])          # the tests are not this test's subject
    verdicts = score(release, only_written, CellWatch(tmp_path, only_written), {}, {}, stereo)
    assert verdicts.scores[answered] is None                               # waits for a TA
    assert all(verdicts.scores[gid] == 0.0 for gid in written[1:])         # blank: 0 at once
    assert all("no answer" in verdicts.messages[gid] for gid in written[1:])


def _results():
    full = {"q1-a": 2.0, "written-ties": 2.0, "written-brightness": 2.0}     # two of the notebook's written answers
    ann = SubmissionResult("ann", "graded", scores={"q1-a": 2.0, "written-ties": None, "written-brightness": None},
                           max_scores=full, manual={"written-ties": (1.5, "Good; no tie-breaker."), "q1-a": (None, "")})
    bea = SubmissionResult("bea", "graded", scores={"q1-a": 0.0, "written-ties": 0.0, "written-brightness": 0.0}, max_scores=full)
    return ann, bea


def test_a_ta_score_counts_and_the_waiting_answers_are_named_everywhere(stereo, tmp_path):
    ann, bea = _results()
    assert ann.final_scores == {"q1-a": 2.0, "written-ties": 1.5, "written-brightness": None}
    assert ann.pending == ["written-brightness"] and ann.raw_score == 3.5 and bea.pending == []
    table = gradebook_table(stereo, [ann, bea])
    assert "1.5*" in table and "elv formgrade RESULTS" in table
    data = summary_data(stereo, [ann, bea])
    assert data["awaiting_manual_grading"] == [{"student": "ann", "answers": ["written-brightness"]}]
    assert "written-ties" not in data["test_cells"]
    assert "Written answers waiting for a TA: 1 answer(s) of 1 submission(s)" in summary_text(stereo, [ann, bea])
    res = results_json(stereo, ann)
    tests = {t["name"].rsplit(": ", 1)[1]: t for t in res["tests"]}
    assert res["score"] == 3.5 and "1 written answer(s) still to be graded" in res["output"]
    assert tests["written-ties"]["score"] == 1.5 and "Good; no tie-breaker." in tests["written-ties"]["output"]
    assert "status" not in tests["written-brightness"] and "not graded yet" in tests["written-brightness"]["output"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": "q1-a", "points": 2, "solution": False, "locked": True}})])
    page = render_feedback(nb, notebook="stereo", scores=ann.scores, max_scores=ann.max_scores, title="A1")
    fresh = refresh_page(page, ann)
    assert "Score: <b>3.5 / 6</b>" in fresh and "1 written answer(s) still to be graded by a TA" in fresh
    assert "written-ties: 1.5 / 2 from a TA — Good; no tie-breaker." in fresh
    assert "written answers not graded yet (their points are not in the score): written-brightness" in fresh


def test_the_gradebook_keeps_a_ta_grade_until_the_answer_changes(stereo, tmp_path):
    from nbgrader.api import Gradebook as NbGradebook

    from autograder.course.notebooks import read_source
    from autograder.grading.gradebook import Gradebook, answer_digests
    from autograder.integrity.judge import plan

    p = plan(stereo, read_source(stereo.source))
    gb = Gradebook(stereo, tmp_path, None)
    gb.register()
    scores = {gid: (None if gid in p.manual else 0.0) for gid in p.points}
    first = SubmissionResult("ann", "graded", scores=dict(scores), max_scores=dict(p.points))
    gb.save(first)
    gid = p.manual[0]
    with NbGradebook(gb.db_url, "elv") as nbg:
        nb = nbg.find_submission_notebook(stereo.notebook, stereo.id, "ann")
        grade = next(g for g in nb.grades if g.name == gid)
        assert grade.needs_manual_grade and grade.auto_score is None
        grade.manual_score = 1.0
        next(c for c in nb.comments if c.name == gid).manual_comment = "Half right."
        nbg.db.commit()
    assert gb.manual_grades() == {"ann": {gid: (1.0, "Half right.")}}
    gb.save(SubmissionResult("ann", "graded", scores=dict(scores), max_scores=dict(p.points)))     # a rerun
    assert gb.manual_grades() == {"ann": {gid: (1.0, "Half right.")}}       # nothing a TA gave is lost
    with NbGradebook(gb.db_url, "elv") as nbg:
        nb = nbg.find_submission_notebook(stereo.notebook, stereo.id, "ann")
        assert not next(g for g in nb.grades if g.name == gid).needs_manual_grade
    gb.save(SubmissionResult("ann", "graded", scores=dict(scores), max_scores=dict(p.points), answers_changed=[gid]))
    assert gb.manual_grades() == {}                                           # a new answer: graded again
    with NbGradebook(gb.db_url, "elv") as nbg:
        nb = nbg.find_submission_notebook(stereo.notebook, stereo.id, "ann")
        assert next(g for g in nb.grades if g.name == gid).needs_manual_grade
    one = nbformat.v4.new_markdown_cell("My answer.", metadata={"nbgrader": {"grade_id": gid}})
    two = nbformat.v4.new_markdown_cell("My  answer.\n", metadata={"nbgrader": {"grade_id": gid}})
    assert answer_digests(nbformat.v4.new_notebook(cells=[one]), [gid]) == \
        answer_digests(nbformat.v4.new_notebook(cells=[two]), [gid])       # whitespace is not a new answer
    assert json.dumps(answer_digests(nbformat.v4.new_notebook(cells=[one]), [gid]))


def test_elv_validate_tells_a_student_which_written_answers_are_still_blank(stereo, tmp_path):
    from autograder.course.release import manifest
    from elvkit.validate import as_json, validate

    nb = nbformat.read(stereo.release_notebook, as_version=4)
    written = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("written-")]
    written[0].source = "Census costs are whole numbers, so disparities tie."
    path = tmp_path / "stereo.ipynb"
    nbformat.write(nb, path)
    v = validate(path, manifest(stereo), run=lambda nb, files, cell, total: (nb, "graded", "", 1.0))
    states = [(gid, done) for gid, _, done in v.written]
    assert states == [(c.metadata["nbgrader"]["grade_id"], i == 0) for i, c in enumerate(written)]
    text = v.text()
    assert "Written answers (graded by TAs after the deadline; a blank one scores 0)" in text
    assert text.count("not answered yet") == len(written) - 1
    assert json.loads(as_json(v))["written"][0][2] is True
