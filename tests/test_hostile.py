"""The hostile corpus (tests/hostile/): every case graded in one batch beside the demo class (the
shared ``stereo_batch``), each ending with its expected status, score and flag; no tampering scores above its
twin; the batch never aborts and no other submission is affected."""

import pytest

from autograder.isolation.sandbox import probe
from hostile import cases

pytestmark = pytest.mark.slow

CASES = cases()


@pytest.fixture(scope="module")
def batch(stereo_batch):
    return stereo_batch


def _student(name):
    return CASES[name].EXPECT.get("student", name)


def test_corpus_is_complete():
    assert len(CASES) >= 45
    for name, case in CASES.items():
        assert case.__doc__ and {"status", "score", "flagged"} <= set(case.EXPECT), name
        assert case.EXPECT.get("twin", "reference") in set(CASES) | {"reference"}, name
    assert sum(1 for c in CASES.values() if "twin" in c.EXPECT) >= 15


def test_batch_finishes_and_the_reference_is_untouched(batch):
    assert batch["code"] == 0
    assert {_student(n) for n in CASES} | {"reference"} <= set(batch["rows"])
    row = batch["rows"]["reference"]
    assert (row["status"], float(row["score"])) == ("graded", 100.0)


@pytest.mark.parametrize("name", list(CASES))
def test_case_ends_as_expected(batch, name):
    expect = CASES[name].EXPECT
    if expect.get("needs_sandbox") and not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    row = batch["rows"][_student(name)]
    got = {"status": row["status"], "flagged": "tampering" in row["flags"]}
    want = {"status": expect["status"], "flagged": expect["flagged"]}
    if expect["score"] is not None:
        got["score"], want["score"] = float(row["score"]), float(expect["score"])
    assert got == want, f"{name}: {row['message']} | {row['flags']}"
    if hasattr(CASES[name], "verify"):
        CASES[name].verify(batch["kits"][name], row, batch["out"])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "twin" in c.EXPECT])
def test_tampering_never_pays_and_is_flagged(batch, name):
    """The score of a tampering case is never above its twin's (the same submission without the trick)."""
    row, twin = batch["rows"][_student(name)], batch["rows"][_student(CASES[name].EXPECT["twin"])] \
        if CASES[name].EXPECT["twin"] != "reference" else batch["rows"]["reference"]
    assert float(row["score"]) <= float(twin["score"]), f"{name}: {row['score']} > twin {twin['score']}"
    assert "tampering" in row["flags"], f"{name}: not flagged ({row['flags']})"


def test_every_entry_of_the_submissions_folder_has_a_row(batch):
    entries = {p.name for p in batch["submissions"].iterdir()}
    files = {row["file"] for row in batch["rows"].values()}
    for entry in entries:
        assert any(f == str(batch["submissions"] / entry) or f.startswith(str(batch["submissions"] / entry) + "/")
                   for f in files), f"no row for {entry}"


def test_nothing_is_written_outside_the_grader_s_own_outputs(batch):
    """The results folder holds only what the grader writes (no kernel wrote into it through a link or a
    forged record)."""
    import re

    allowed = re.compile(r"^(\.elv-results\.json|gradebook\.db|grades\.csv|journal\.jsonl|summary\.(txt|json)|report\.html|"
                         r"histogram\.png|feedback/[^/]+\.html|autograded/[^/]+/stereo\.ipynb|nbgrader/.*)$")
    stray = [str(p.relative_to(batch["out"])) for p in batch["out"].rglob("*")
             if p.is_file() and not allowed.match(str(p.relative_to(batch["out"])))]
    assert stray == []


def test_nothing_reached_the_listener(batch):
    if not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    assert batch["listener"].reached == []


def test_tampering_is_in_the_gradebook_and_the_report(batch, stereo):
    from nbgrader.api import Gradebook

    flagged = {_student(n) for n, c in CASES.items() if c.EXPECT["flagged"]}
    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}", "elv") as gb:
        marked = {_student(n) for n in CASES if batch["rows"][_student(n)]["status"] in ("graded", "kernel-died", "timeout")
                  and gb.find_submission_notebook("stereo", stereo.id, _student(n)).flagged}
    assert marked == flagged
    report = (batch["out"] / "report.html").read_text()
    assert all(n in report for n in flagged)


def test_feedback_never_shows_hidden_source(batch):
    for name, row in batch["rows"].items():
        if row["feedback"]:
            page = (batch["out"] / row["feedback"]).read_text(errors="replace")
            assert "BEGIN HIDDEN TESTS" not in page and 'check("01_stereo"' not in page, name
