"""The hostile corpus (tests/hostile/): every case graded in one batch per assignment beside that assignment's demo
class (the shared ``graded_class`` batches), each ending with its expected status, score and flag; no tampering
scores above its twin; the batch never aborts and no other submission is affected."""

import pytest

from autograder.isolation.sandbox import probe
from hostile import assignment_of, cases

pytestmark = pytest.mark.slow

CASES = cases()
ASSIGNMENTS = sorted({assignment_of(c) for c in CASES.values()})


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    from conftest import graded_class

    return lambda assignment_id: graded_class(assignment_id, tmp_path_factory)


def _student(name):
    return CASES[name].EXPECT.get("student", name)


def _row(batches, name):
    return batches(assignment_of(CASES[name]))["rows"][_student(name)]


def test_corpus_is_complete():
    assert len(CASES) >= 45
    for name, case in CASES.items():
        assert case.__doc__ and {"status", "score", "flagged"} <= set(case.EXPECT), name
        twin = case.EXPECT.get("twin", "reference")
        assert twin == "reference" or assignment_of(CASES[twin]) == assignment_of(case), name
    assert sum(1 for c in CASES.values() if "twin" in c.EXPECT) >= 15
    assert len(ASSIGNMENTS) >= 3, "the corpus attacks more than one assignment's checks"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_batch_finishes_and_the_reference_is_untouched(batches, assignment_id):
    batch = batches(assignment_id)
    assert batch["code"] == 0
    assert {_student(n) for n in cases(assignment_id)} | {"reference"} <= set(batch["rows"])
    row = batch["rows"]["reference"]
    assert row["status"] == "graded" and float(row["score"]) == 100.0


@pytest.mark.parametrize("name", list(CASES))
def test_case_ends_as_expected(batches, name):
    expect = CASES[name].EXPECT
    if expect.get("needs_sandbox") and not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    batch = batches(assignment_of(CASES[name]))
    row = batch["rows"][_student(name)]
    got = {"status": row["status"], "flagged": "tampering" in row["flags"]}
    want = {"status": expect["status"], "flagged": expect["flagged"]}
    if expect["score"] is not None:
        got["score"], want["score"] = float(row["score"]), float(expect["score"])
    assert got == want, f"{name}: {row['message']} | {row['flags']}"
    if hasattr(CASES[name], "verify"):
        CASES[name].verify(batch["kits"][name], row, batch["out"])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "twin" in c.EXPECT])
def test_tampering_never_pays_and_is_flagged(batches, name):
    """The score of a tampering case is never above its twin's (the same submission without the trick)."""
    twin = CASES[name].EXPECT["twin"]
    row = _row(batches, name)
    other = _row(batches, twin) if twin != "reference" else batches(assignment_of(CASES[name]))["rows"]["reference"]
    print(f"{name}: {float(row['score']):g} (twin {twin}: {float(other['score']):g})")
    assert float(row["score"]) <= float(other["score"]), f"{name}: {row['score']} > twin {other['score']}"
    assert "tampering" in row["flags"], f"{name}: not flagged ({row['flags']})"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_every_entry_of_the_submissions_folder_has_a_row(batches, assignment_id):
    batch = batches(assignment_id)
    entries = {p.name for p in batch["submissions"].iterdir()}
    files = {row["file"] for row in batch["rows"].values()}
    for entry in entries:
        assert any(f == str(batch["submissions"] / entry) or f.startswith(str(batch["submissions"] / entry) + "/")
                   for f in files), f"no row for {entry}"


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_nothing_is_written_outside_the_grader_s_own_outputs(batches, assignment_id):
    """The results folder holds only what the grader writes (no kernel wrote into it through a link or a
    forged record)."""
    import re

    batch = batches(assignment_id)
    notebook = re.escape(batch["assignment"].notebook)
    allowed = re.compile(r"^(\.elv-results\.json|gradebook\.db|grades\.csv|journal\.jsonl|summary\.(txt|json)|report\.html|"
                         rf"histogram\.png|feedback/[^/]+\.html|autograded/[^/]+/{notebook}\.ipynb|nbgrader/.*)$")
    stray = [str(p.relative_to(batch["out"])) for p in batch["out"].rglob("*")
             if p.is_file() and not allowed.match(str(p.relative_to(batch["out"])))]
    assert stray == []


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_nothing_reached_the_listener(batches, assignment_id):
    if not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    assert batches(assignment_id)["listener"].reached == []


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_tampering_is_in_the_gradebook_and_the_report(batches, assignment_id):
    from nbgrader.api import Gradebook

    batch = batches(assignment_id)
    a, mine = batch["assignment"], cases(assignment_id)
    flagged = {_student(n) for n, c in mine.items() if c.EXPECT["flagged"]}
    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}", "elv") as gb:
        marked = {_student(n) for n in mine if batch["rows"][_student(n)]["status"] in ("graded", "kernel-died", "timeout")
                  and gb.find_submission_notebook(a.notebook, a.id, _student(n)).flagged}
    assert marked == flagged
    report = (batch["out"] / "report.html").read_text()
    assert all(n in report for n in flagged)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_feedback_never_shows_hidden_source(batches, assignment_id):
    batch = batches(assignment_id)
    for name, row in batch["rows"].items():
        if row["feedback"]:
            page = (batch["out"] / row["feedback"]).read_text(errors="replace")
            assert "BEGIN HIDDEN TESTS" not in page and f'check("{assignment_id}"' not in page, name
