"""The guarantees every assignment of the course gives, one parametrised test each, over the assignments found
in ``solutions/`` (an assignment added with ``elv new`` is tested without editing this file):

* its release is fresh and leaks no solution or hidden test, and is a valid blank notebook;
* every function a hidden test checks has a spec, and the reference passes the hidden tests (end-to-end
  checks on several of the secret seeds a student's grading could draw);
* its mistakes corpus covers its questions;
* graded as a class (one batch per assignment, shared): the reference scores full marks on the CPU, the
  blank release scores 0 on every autograded cell, every mistake loses points in its own question (and
  only there is it told why), and no feedback page shows a hidden test's source.

Tests of what is specific to one assignment's library code live in that assignment's own test files.
"""

import html
import re

import nbformat
import pytest

from autograder.course import get_assignment
from autograder.course.classroom import mistake_submission, mistakes
from autograder.course.notebooks import (grade_cells, grade_id, grade_meta, hidden_region, imports_source, manual_cells,
                                         read_source, without_hidden_region)
from autograder.integrity.reference import load
from autograder.integrity.replay import base_namespace
from autograder.integrity.specs import checked_names, spec_module, specs
from conftest import ASSIGNMENT_IDS

#: the end-to-end checks are tried on this many secret seeds unless the spec says otherwise (``TRIALS``)
DEFAULT_TRIALS = 3


@pytest.fixture(params=ASSIGNMENT_IDS)
def a(request):
    return get_assignment(request.param)


def test_release_is_fresh_and_leaks_nothing(a):
    from autograder.course.release import check_release

    problems = check_release([a.id])
    assert not problems, "\n".join(map(str, problems))


def test_release_notebook_is_a_valid_blank_assignment(a):
    nb = nbformat.read(a.release_notebook, as_version=4)
    nbformat.validate(nb)
    text = a.release_notebook.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "from autograder" not in text
    source = read_source(a.source)
    solution_cells = [c for c in nb.cells if grade_meta(c).get("solution")]
    assert len(solution_cells) == sum(1 for c in source.cells if grade_meta(c).get("solution")) > 0
    for cell in solution_cells:
        if cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, grade_meta(cell)["grade_id"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    cells = grade_cells(nb)
    assert len(cells) == len({gid for gid, _ in cells}) and cells == grade_cells(source)
    if len(cells) > 2:
        assert sum(points for _, points in cells) == 100
    assert {gid.split("-", 1)[0] for gid, _ in cells} <= set(a.questions) | {"imports"}


def _reference_namespace(a) -> dict:
    """The notebook's imports and the reference's functions, as a graded kernel of the reference holds them."""
    ns = dict(base_namespace(imports_source(read_source(a.source))))
    ns.update({k: v for k, v in vars(load(a)).items() if not k.startswith("__")})
    return ns


def test_every_checked_function_has_a_spec_and_the_reference_passes(a):
    found = specs(a)
    checked = set()
    ns = _reference_namespace(a)        # one kernel: a hidden cell may use what an earlier hidden cell defined
    for cell in read_source(a.source).cells:
        names = set(checked_names(cell.source, a.id))
        if not names:
            continue
        checked |= names
        # the cell's hidden region, run as the kernel runs it, on the reference's functions (judged in-process)
        exec(compile(hidden_region(cell.source), grade_meta(cell)["grade_id"], "exec"), ns)
    assert checked == set(found), "each hidden test checks functions that have a spec, and every spec is used"


def test_end_to_end_limits_leave_room_for_a_correct_pipeline(a, monkeypatch):
    """End-to-end checks run on data drawn from each student's secret seed: the reference passes them on every
    seed tried here (the specs' docstrings give the margins measured on many more)."""
    trials = dict(getattr(spec_module(a), "TRIALS", {}))
    regions = {}
    for cell in read_source(a.source).cells:
        names = [n for n in checked_names(cell.source, a.id) if n.startswith("e2e_")]
        if names:
            regions[grade_meta(cell)["grade_id"]] = (hidden_region(cell.source),
                                                     min(trials.get(n, DEFAULT_TRIALS) for n in names))
    if not regions:
        pytest.skip(f"{a.id} has no end-to-end checks")
    ns = _reference_namespace(a)
    for gid, (region, seeds) in regions.items():
        for seed in range(1, seeds + 1):
            monkeypatch.setenv("ELVKIT_HIDDEN_SEED", str(1000 + seed))
            exec(compile(region, gid, "exec"), dict(ns))


def _not_covered(a) -> set:
    """Questions the mistakes README says have no mistake (a line ``Not covered: q1 (why)``)."""
    readme = a.mistakes_dir / "README.md"
    text = readme.read_text() if readme.is_file() else ""
    return {q for line in re.findall(r"^Not covered:(.*)$", text, re.M) for q in re.findall(r"\bq\d+\b", line)}


def test_mistakes_corpus_covers_the_questions(a):
    from autograder.integrity.judge import plan

    corpus = mistakes(a)
    assert corpus, f"solutions/{a.id}/mistakes/ holds no mistake: the demo class needs at least one"
    for m in corpus:
        assert m.question in a.questions, f"{m.path.name}: no question {m.question} in {a.id}"
        text = "\n".join(c.source for c in mistake_submission(a, m).cells)
        for fn in m.functions:
            assert f"def {fn}(" in text or f"class {fn}(" in text, \
                f"{m.path.name}: {fn} is not a function or class of a solution cell"
    p = plan(a, read_source(a.source))
    checked = {gid.split("-", 1)[0] for gid, names in p.hidden.items() if any(not n.startswith("e2e_") for n in names)}
    missing = checked - {m.question for m in corpus} - _not_covered(a)
    assert not missing, (f"questions with hidden tests but no mistake in solutions/{a.id}/mistakes/: {sorted(missing)} "
                         "(add one, or say why in its README with a line 'Not covered: qN (why)')")


# ----------------------------------------------------------------------------------------------
# graded as a class

@pytest.mark.slow
def test_batch_finishes_and_grades_everyone(class_batch):
    assert class_batch["code"] == 0
    assert set(class_batch["roster"]) <= set(class_batch["rows"])


@pytest.mark.slow
def test_reference_scores_full_marks_on_the_cpu(class_batch):
    from autograder.outputs.report import written_cells

    a, row = class_batch["assignment"], class_batch["rows"]["reference"]
    written = written_cells(a)
    tests = sum(points for _, points in grade_cells(read_source(a.source)))
    assert row["status"] == "graded" and float(row["autograded"]) == tests > 0, row
    assert float(row["max_score"]) == tests + sum(written.values())
    # its written answers (the model answers) wait for a TA: not counted, named
    assert float(row["score"]) == tests and row["written_pending"].split() == list(written), row
    assert row["flags"] == "", row["flags"]


@pytest.mark.slow
def test_blank_release_scores_zero_on_every_autograded_cell(class_batch):
    from nbgrader.api import Gradebook

    a = class_batch["assignment"]
    assert float(class_batch["rows"]["blank"]["score"]) == 0
    with Gradebook(f"sqlite:///{class_batch['out'] / 'gradebook.db'}", "elv") as gb:
        nb = gb.find_submission_notebook(a.notebook, a.id, "blank")
        source = read_source(a.source)
        assert len(nb.grades) == len(grade_cells(source)) + len(manual_cells(source))
        assert all(g.auto_score == 0 and not g.needs_manual_grade for g in nb.grades)     # blank answers: 0 at once
        ref = gb.find_submission_notebook(a.notebook, a.id, "reference")
        assert {g.name for g in ref.grades if g.needs_manual_grade} == {gid for gid, _ in manual_cells(source)}
    assert class_batch["rows"]["blank"]["written_pending"] == ""


@pytest.mark.slow
def test_every_mistake_loses_points_in_its_question(class_batch):
    a, rows = class_batch["assignment"], class_batch["rows"]
    maxima = {q: float(rows["reference"][q]) for q in a.questions if q in rows["reference"]}
    for m in mistakes(a):
        row = rows[m.student]
        assert row["status"] == "graded", m.student
        assert float(row[m.question]) < maxima[m.question], f"{m.student} keeps full marks in {m.question}"
        if float(rows["reference"]["max_score"]) > maxima[m.question]:
            assert float(row["score"]) > 0, f"{m.student}: partial credit for the parts that are right"
        assert "tampering" not in row["flags"], f"{m.student}: an honest mistake is not flagged ({row['flags']})"
        executed = nbformat.read(class_batch["out"] / "autograded" / m.student / f"{a.notebook}.ipynb", as_version=4)
        told = [grade_id(c) for c in executed.cells if (grade_id(c) or "").startswith(f"{m.question}-")
                and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert told, f"{m.student}: a cell of {m.question} on its feedback page says why it lost points"


@pytest.mark.slow
def test_every_mistake_costs_points_once_with_a_message_that_names_it(class_batch):
    """For a corpus whose mistakes say what their feedback must show (a ``Message:`` line each): every message is
    on the feedback page of its question, and no other question loses points beyond those a mistake declares
    (``Also loses:``, the end-to-end checks that train what the student wrote)."""
    from autograder.course.classroom import corpus_report

    a = class_batch["assignment"]
    corpus = mistakes(a)
    if not all(m.message for m in corpus):
        pytest.skip(f"the mistakes of {a.id} do not all say what their feedback must show yet")
    report = corpus_report(a, class_batch["out"])
    assert {r["mistake"] for r in report} == {m.name for m in corpus}
    unnamed = [(r["mistake"], r["message"]) for r in report if not r["named"]]
    assert not unnamed, f"feedback pages that do not show their mistake's message: {unnamed}"
    cascades = [(r["mistake"], r["cascades"]) for r in report if r["cascades"]]
    assert not cascades, f"mistakes that cost points in another question too: {cascades}"


@pytest.mark.gpu
@pytest.mark.slow
def test_the_demo_class_scores_the_same_on_the_gpu(class_batch, tmp_path):
    """`elv grade --device cuda`: the reference, the blank release and every mistake get, question by question, the
    scores they got on the CPU (the hostile cases join only the CPU batch: they test the engine, not the device)."""
    import csv
    import shutil

    import torch

    from autograder.cli import main

    if not torch.cuda.is_available():
        pytest.skip("grading with --device cuda needs an NVIDIA GPU")
    a, rows = class_batch["assignment"], class_batch["rows"]
    subs, out = tmp_path / "submissions", tmp_path / "results"
    for student in class_batch["roster"]:
        shutil.copytree(class_batch["submissions"] / student, subs / student)
    assert main(["grade", a.id, str(subs), "--out", str(out), "--jobs", "1", "--device", "cuda", "--timeout", "300",
                 "--cell-timeout", "120", "--no-progress"]) in (0, 1)
    gpu = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8"))}
    assert set(gpu) == set(class_batch["roster"])
    for student, row in gpu.items():
        assert row["status"] == rows[student]["status"] == "graded", (student, row["message"])
        for q in a.questions:
            if q in rows[student] and rows[student][q] not in ("", None):
                assert float(row[q]) == pytest.approx(float(rows[student][q]), abs=1e-9), (student, q)


@pytest.mark.slow
def test_feedback_never_shows_hidden_source(class_batch):
    a, out = class_batch["assignment"], class_batch["out"]
    source = read_source(a.source)
    public = "\n".join(without_hidden_region(cell.source) for cell in source.cells)    # solutions included
    secret = {line.strip() for cell in source.cells for line in hidden_region(cell.source).splitlines()
              if len(line.strip()) >= 24 and not line.strip().startswith("#") and line.strip() not in public}
    pages = [out / "feedback" / f"{student}.html" for student in class_batch["roster"]]   # the demo class's
    assert pages
    for page in pages:
        text = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "autograder.hidden" not in text, page.name
        assert not [line for line in secret if line in text or html.escape(line) in text], page.name
        assert f'check(&quot;{a.id}&quot;' not in text and f'check("{a.id}"' not in text, page.name


def test_every_diagnosis_of_a_visible_test_can_appear(a):
    """Each known mistake a visible test names must be reachable: its value differs from the right answer and
    from every other mistake of the same check (the first would always win), and it is not all zeros or NaN
    (such an answer is taken for a function not written yet, never for the mistake)."""
    import numpy as np

    from elvkit import testing
    from elvkit.testing import _close, _constant, tolerance

    seen, dead = [], []

    def recording(actual, expected, *args, mistakes=None, rtol=None, atol=None, equal_nan=True, **kwargs):
        seen.append(kwargs.get("name", "?"))
        e = np.asarray(testing.to_numpy(expected), dtype=np.float64)
        d_rtol, d_atol = tolerance(e)
        r, t = (d_rtol if rtol is None else rtol), (d_atol if atol is None else atol)
        values = []
        for text, wrong in (mistakes or {}).items():
            w = np.asarray(testing.to_numpy(wrong), dtype=np.float64)
            if w.shape == e.shape and _close(w, e, r, t, True).all():
                dead.append(f"{kwargs.get('name')}: '{text[:50]}' is the right answer")
            if _constant(w) is not None and (np.isnan(_constant(w)) or _constant(w) == 0):
                dead.append(f"{kwargs.get('name')}: '{text[:50]}' is all zeros or NaN (read as a placeholder)")
            for other, v in values:
                if v.shape == w.shape and _close(w, v, r, t, True).all():
                    dead.append(f"{kwargs.get('name')}: '{text[:50]}' equals '{other[:50]}'")
            values.append((text, w))
        return testing.assert_close(actual, expected, *args, mistakes=mistakes, rtol=rtol, atol=atol,
                                    equal_nan=equal_nan, **kwargs)

    ns = _reference_namespace(a)
    ns["assert_close"] = recording
    for cell in read_source(a.source).cells:
        gid = grade_meta(cell).get("grade_id", "")
        if cell.cell_type == "code" and gid.endswith("-visible"):
            exec(compile(without_hidden_region(cell.source), gid, "exec"), ns)
    assert seen, f"{a.id}: no visible test called assert_close"
    assert not dead, "diagnoses no student can ever see:\n" + "\n".join(dead)


@pytest.mark.slow
def test_the_executed_notebook_prints_no_stray_object_reprs(class_batch):
    """A figure cell ends with a statement, not with a call whose value Jupyter would print (`<Axes: ...>`)."""
    a = class_batch["assignment"]
    executed = nbformat.read(class_batch["out"] / "autograded" / "reference" / f"{a.notebook}.ipynb", as_version=4)
    stray = [f"cell {i}: {o['data']['text/plain'][:60]}" for i, c in enumerate(executed.cells) if c.cell_type == "code"
             for o in c.get("outputs", []) if o.get("output_type") == "execute_result"
             and re.match(r"<(Axes|Figure|matplotlib)", str(o.get("data", {}).get("text/plain", "")))]
    assert not stray, stray
