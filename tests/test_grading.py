"""The stereo class graded with `elv grade` beside the broken and hostile submissions of a real course: statuses,
partial credit, restored cells, the gradebook, what feedback pages and the summary say. The graded batch is
shared with test_hostile.py and test_assignments.py (``graded_class`` in conftest.py)."""

import json

import pytest


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(stereo_batch):
    return stereo_batch


def test_broken_submissions_get_a_status_and_keep_partial_credit(graded):
    rows = graded["rows"]
    assert rows["malformed_json"]["status"] == "malformed" and float(rows["malformed_json"]["score"]) == 0
    assert "not a readable notebook" in rows["malformed_json"]["message"]
    assert rows["missing_notebook"]["status"] == "missing" and "stereo.ipynb" in rows["missing_notebook"]["message"]
    assert rows["misnamed_notebook"]["status"] == "graded" and float(rows["misnamed_notebook"]["score"]) == 100
    killer = rows["os_exit"]
    assert killer["status"] == "kernel-died" and float(killer["q4"]) == 20 and float(killer["q5"]) < 12
    spinner = rows["endless_top_level"]
    assert spinner["status"] == "graded" and "cells stopped after 20 s" in spinner["flags"]
    assert float(spinner["score"]) == 100
    endless = rows["endless_function"]
    assert endless["status"] == "timeout" and "100 s" in endless["message"] and float(endless["q4"]) == 20


def test_a_30_gb_allocation_fails_in_its_cell_under_the_memory_limit(graded):
    row = graded["rows"]["huge_allocation"]
    assert row["status"] == "graded", "the kernel survives: the allocation fails with MemoryError"
    assert (float(row["q1"]), float(row["q2"]), float(row["q3"]), float(row["q4"])) == (10, 18, 12, 20)
    assert float(row["q5"]) < 12
    page = (graded["out"] / "feedback" / "huge_allocation.html").read_text()
    assert "MemoryError" in page


def test_edited_and_deleted_test_cells_are_restored_and_noted(graded):
    assert "q2-sad-visible" in graded["rows"]["test_cell_edited"]["flags"]
    row = graded["rows"]["test_cell_deleted"]
    assert float(row["score"]) == 100, "the restored tests pass on the reference code"
    assert "q3-wta-hidden" in row["flags"] and "added back" in row["flags"]


def test_gradebook_and_csv_agree(graded, stereo):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}", "elv") as gb:
        for student, row in graded["rows"].items():
            if row["status"] == "ignored":
                continue
            sub = gb.find_submission(stereo.id, student)
            assert sub.score == pytest.approx(float(row["score"])), student


def test_feedback_pages_hide_the_hidden_tests_and_say_where_it_differs(graded):
    out = graded["out"]
    page = (out / "feedback" / "mistake-p1-p2-swapped.html").read_text()
    assert "HiddenTestFailure" in page and "sgm_step" in page
    assert 'check(&quot;01_stereo&quot;' not in page and 'check("01_stereo"' not in page
    assert "BEGIN HIDDEN TESTS" not in page and "autograder.hidden" not in page and "_e2e(" not in page
    assert "disparity d=" in page, "a hidden-test message names the disparity, row and column of the difference"
    zeros = (out / "feedback" / "zeros.html").read_text()
    assert "placeholder" in zeros and "recognisable way: this is the argmax" not in zeros
    assert (out / "autograded" / "reference" / "stereo.ipynb").is_file()
    assert not (out / "feedback" / "malformed_json.html").exists()


def test_summary_reports_questions_and_flagged(graded):
    text = (graded["out"] / "summary.txt").read_text()
    assert "Per question" in text and "q4   Semi-global matching" in text
    for student in ("malformed_json", "missing_notebook", "os_exit", "endless_function", "patch_numpy_testing"):
        assert student in text.split("Flagged submissions")[1]
    data = json.loads((graded["out"] / "summary.json").read_text())
    assert data["statuses"]["graded"] >= 40 and 0 < data["questions"]["q4"]["pass_rate"] < 1
    assert {entry["reason"] for entry in data["ignored"]}


def test_the_gradebooks_schema_revision_is_the_one_alembic_reports(tmp_path):
    """A new gradebook records its schema's alembic revision. nbgrader asks the `alembic heads` command (a new
    process, seconds); the grader reads the same revision from nbgrader's migration scripts in-process."""
    import subprocess

    from nbgrader.api import Gradebook
    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.course.alembic_head import alembic_head, install      # (autograder puts `alembic` on PATH)

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'x.db'}") as ini:
        reported = subprocess.run(["alembic", "-c", ini, "heads"], capture_output=True, text=True,
                                  check=True).stdout.split()[0]
    assert alembic_head() == reported and len(reported) == 12
    install()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "course") as gb:
        from sqlalchemy import text

        assert gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar() == reported


def _workers_of(pid: int) -> list[int]:
    """The grading pool's worker processes: children of ``pid`` started by multiprocessing's spawn."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_a_worker_killed_mid_batch_costs_no_student_a_row(tmp_path, tmp_path_factory):
    """A grading worker killed with SIGKILL while the batch runs (what the kernel's OOM killer does): the jobs its
    pool held are run again, each alone, and every student's row equals the row of the same batch graded without
    the kill; no row says grader error."""
    import csv
    import os
    import shutil
    import signal
    import threading
    import time

    from autograder.cli import main
    from conftest import graded_class

    batch = graded_class("04_normalized_cuts", tmp_path_factory)
    subs, out = tmp_path / "submissions", tmp_path / "results"
    for student in sorted(batch["roster"])[:7]:                     # half the class: enough to kill a worker mid-way
        shutil.copytree(batch["submissions"] / student, subs / student)
    shutil.copytree(batch["out"], out)       # its secret too: the same hidden inputs; --regrade grades all again
    (out / "journal.jsonl").unlink()
    codes, killed = [], []

    def grade():
        codes.append(main(["grade", "04_normalized_cuts", str(subs), "--out", str(out), "--jobs", "2", "--regrade",
                           "--timeout", "300", "--cell-timeout", "120", "--no-progress"]))

    thread = threading.Thread(target=grade)
    thread.start()
    deadline = time.monotonic() + 600
    while thread.is_alive() and not killed and time.monotonic() < deadline:
        journal = out / "journal.jsonl"
        done = len(journal.read_text().splitlines()) if journal.is_file() else 0
        workers = _workers_of(os.getpid())
        if done >= 2 and workers:
            os.kill(workers[0], signal.SIGKILL)              # mid-way: some rows written, others not yet
            killed.append(workers[0])
        time.sleep(0.2)
    thread.join(900)
    assert killed, "the batch ended before a worker could be killed"
    assert codes == [0]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8"))}
    graded = {p.name for p in subs.iterdir()}
    assert graded <= set(rows)
    for student, row in ((s, r) for s, r in rows.items() if s in graded):
        want = batch["rows"][student]
        assert (row["status"], row["score"]) == (want["status"], want["score"]), (student, row["message"])
        assert "grader error" not in row["message"]
