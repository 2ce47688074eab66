"""What a course needs around the grades: the roster and LMS ids, late penalties with extensions,
Gradescope's results.json and autograder package, the HTML report, and `elv validate`."""

import json
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone

import installs
import pytest

from autograder.grading.policy import LatePolicy, RosterEntry, parse_time, read_roster, submission_time

UTC = timezone.utc


def test_times_parse_with_and_without_zone():
    assert parse_time("2026-12-01T23:59") == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    assert parse_time("2026-12-01 23:59:00.000000 UTC") == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    assert parse_time("2026-12-02T00:59+01:00") == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    with pytest.raises(ValueError, match="--deadline must be an ISO date-time.*got 'next friday'"):
        parse_time("next friday", "--deadline")


def test_late_policy_counts_started_days_with_grace_cap_and_extensions():
    deadline = datetime(2026, 12, 1, tzinfo=UTC)
    policy = LatePolicy(deadline, per_day=10, cap=25, grace_minutes=15,
                        extensions={"bo": RosterEntry("bo", extension="2"), "cy": RosterEntry("cy", extension="36h"),
                                    "di": RosterEntry("di", extension="2026-12-10T00:00")})
    at = lambda **kw: deadline + __import__("datetime").timedelta(**kw)      # noqa: E731
    assert policy.penalty_percent("al", at(minutes=10)) == 0                 # within the grace period
    assert policy.late_days("al", at(minutes=20)) == 1 and policy.penalty_percent("al", at(minutes=20)) == 10
    assert policy.penalty_percent("al", at(days=2, hours=1)) == 25           # 3 started days, capped at 25
    assert policy.penalty_percent("bo", at(days=1, hours=23)) == 0           # two extra days
    assert policy.penalty_percent("cy", at(hours=37)) == 10                  # 36 hours extra, 1 h late
    assert policy.penalty_percent("di", at(days=8)) == 0
    assert LatePolicy(deadline, per_day=100).penalty_percent("al", at(hours=1)) == 100   # nbgrader's 'zero'
    with pytest.raises(ValueError, match="percentage in \\[0, 100\\]; got 120"):
        LatePolicy(deadline, per_day=120)


def test_roster_is_read_and_checked(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("Student,LMS_ID,Name,extension\nal,1,Al A,\nbo,2,Bo B,3\n", encoding="utf-8")
    roster = read_roster(path)
    assert roster["bo"].lms_id == "2" and roster["bo"].name == "Bo B" and roster["bo"].extension == "3"
    path.write_text("name,id\nal,1\n")
    with pytest.raises(ValueError, match="needs a 'student' column.*name, id"):
        read_roster(path)
    path.write_text("student,lms_id\nal,1\nal,2\n")
    with pytest.raises(ValueError, match="lists 'al' twice \\(line 3\\)"):
        read_roster(path)
    path.write_text("student,lms_id,extension\nal,1,soon\n")
    with pytest.raises(ValueError, match="the extension of al must be an ISO date-time"):
        read_roster(path)


def test_submission_time_prefers_nbgrader_timestamp(tmp_path):
    subs = tmp_path / "subs"
    (subs / "al" / "01_stereo").mkdir(parents=True)
    nb = subs / "al" / "01_stereo" / "stereo.ipynb"
    nb.write_text("{}")
    (subs / "al" / "01_stereo" / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    assert submission_time(nb, subs) == (datetime(2026, 12, 1, 10, tzinfo=UTC), "timestamp.txt")
    flat = subs / "bo.ipynb"
    flat.write_text("{}")
    (subs / "timestamp.txt").write_text("2020-01-01 00:00:00 UTC")      # not a student's: ignored
    assert submission_time(flat, subs) == (None, "none")                 # a copy's mtime is no evidence
    assert submission_time(flat, subs, from_mtime=True)[1] == "mtime"    # unless the TA says so
    (subs / "al" / "01_stereo" / "timestamp.txt").write_text("yesterday evening")
    assert submission_time(nb, subs, from_mtime=True) == (None, "unparsable: 'yesterday evening'")


def test_submission_times_that_are_unknown_cost_nothing_and_are_flagged(tmp_path):
    from autograder.grading.policy import apply_late, apply_roster
    from autograder.grading.submissions import Found
    from autograder.grading.types import GradeOptions, SubmissionResult

    subs = tmp_path / "subs"
    (subs / "al").mkdir(parents=True)
    (subs / "al" / "stereo.ipynb").write_text("{}")
    (subs / "al" / "timestamp.txt").write_text("2026-13-45 25:00")
    (subs / "bo.ipynb").write_text("{}")
    late = LatePolicy(parse_time("2020-01-01T00:00"), per_day=10)        # every file here is years late
    for mtime in (False, True):
        options = GradeOptions(late=late, submitted_from_mtime=mtime)
        results = {}
        for name, path in (("al", subs / "al" / "stereo.ipynb"), ("bo", subs / "bo.ipynb")):
            r = SubmissionResult(student=name, status="graded", scores={"q1": 10.0}, max_scores={"q1": 10.0})
            apply_roster(r, Found(name, path, "", original=name), subs, options)
            apply_late(r, options, name)
            results[name] = r
        assert results["al"].penalty == 0 and results["al"].submitted == ""
        assert any("timestamp.txt does not parse ('2026-13-45 25:00')" in f for f in results["al"].flags)
        if mtime:
            assert results["bo"].penalty > 0 and any("--submitted-from-mtime" in f for f in results["bo"].flags)
        else:
            assert results["bo"].penalty == 0 and results["bo"].submitted == ""
            assert any("no timestamp.txt; no late penalty" in f for f in results["bo"].flags)


def test_cli_explains_a_late_policy_without_deadline(tmp_path, capsys):
    from autograder.cli import main

    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "al.ipynb").write_text("{}")
    assert main(["grade", "01_stereo", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                 "--late-per-day", "20"]) == 2
    assert "--late-per-day needs --deadline" in capsys.readouterr().err


@pytest.mark.slow
def test_roster_late_penalties_gradescope_and_report(tmp_path, stereo, capsys):
    from nbgrader.api import Gradebook

    from autograder.course.classroom import blank_submission, reference_submission, without_demonstrations
    from autograder.cli import main
    from autograder.course.notebooks import write_notebook

    subs = tmp_path / "subs"
    lean = without_demonstrations(reference_submission(stereo))      # the figures between questions cost time only
    write_notebook(lean, subs / "alice" / "stereo.ipynb")
    (subs / "alice" / "timestamp.txt").write_text("2026-12-03 10:00:00.000000 UTC")   # 3 started days late
    write_notebook(lean, subs / "bob" / "stereo.ipynb")
    (subs / "bob" / "timestamp.txt").write_text("2026-12-03 10:00:00.000000 UTC")     # within his extension
    write_notebook(blank_submission(stereo), subs / "zoe" / "stereo.ipynb")           # not on the roster
    (tmp_path / "roster.csv").write_text("student,lms_id,name,email,extension\n"
                                         "alice,1001,\"Liddell, Alice\",a@x.edu,\nbob,1002,Bob Builder,b@x.edu,3\n"
                                         "carol,1003,Carol Danvers,c@x.edu,\n")
    out = tmp_path / "out"
    assert main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress",
                 "--roster", str(tmp_path / "roster.csv"), "--deadline", "2026-12-01T00:00",
                 "--late-per-day", "10", "--late-cap", "30", "--gradescope"]) == 0
    import csv

    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["alice"]["lms_id"] == "1001" and rows["alice"]["name"] == "Liddell, Alice"     # kept whole
    assert rows["alice"]["email"] == "a@x.edu"
    assert (rows["alice"]["raw_score"], rows["alice"]["late_penalty"], rows["alice"]["score"]) == ("100", "30", "70")
    assert rows["alice"]["late_days"] == "3" and "late by 3 day(s)" in rows["alice"]["flags"]
    assert rows["bob"]["score"] == "100" and rows["bob"]["late_penalty"] == "0"
    assert rows["carol"]["status"] == "missing" and "on the roster, no submission" in rows["carol"]["message"]
    assert "not on the roster" in rows["zoe"]["flags"] and rows["zoe"]["lms_id"] == ""
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "elv") as gb:
        alice = gb.find_student("alice")
        assert (alice.lms_user_id, alice.first_name, alice.last_name, alice.email) == \
            ("1001", "Alice", "Liddell", "a@x.edu")
        assert gb.find_assignment("01_stereo").duedate == datetime(2026, 12, 1)      # nbgrader's own due date
        assert gb.find_submission("01_stereo", "bob").extension == timedelta(days=3)  # and extension column
        nb = gb.find_submission_notebook("stereo", "01_stereo", "alice")
        assert nb.late_submission_penalty == 30 and nb.score == 100      # nbgrader keeps both
    page = (out / "feedback" / "alice.html").read_text()     # the page shows the final score, as every output does
    assert "Score: <b>70 / 112</b> (the tests gave 100; late penalty -30 for 3 day(s) late) — 6 written answer(s) " \
        "still to be graded by a TA, not counted yet" in page
    assert "late by 3 day(s)" in page
    res = json.loads((out / "gradescope" / "alice" / "results.json").read_text())
    assert res["score"] == 70 and "Late penalty: -30 points" in res["output"]
    assert len(res["tests"]) == 37 and sum(t["max_score"] for t in res["tests"]) == 112    # 31 tests, 6 written
    numbers = [t["number"] for t in res["tests"]]
    assert len(set(numbers)) == 37 and numbers[:3] == ["1.1", "1.2", "1.3"]     # one number per test
    waiting = [t for t in res["tests"] if "status" not in t]
    assert [t["number"] for t in waiting] == [f"written.{i}" for i in range(1, 7)]
    assert all(t["score"] == 0 and "not graded yet" in t["output"] for t in waiting)
    assert not (out / "gradescope" / "carol").exists()          # on the roster, nothing submitted: no upload
    assert {t["visibility"] for t in res["tests"] if t["name"].endswith("-hidden")} == {"after_published"}
    blank = json.loads((out / "gradescope" / "zoe" / "results.json").read_text())
    failing = [t for t in blank["tests"] if t["status"] == "failed"]
    assert len(failing) == 37 and "not written yet" in failing[0]["output"]            # 31 tests, 6 blank answers
    assert all(t["output"] == "No answer was written." for t in failing if t["number"].startswith("written"))
    assert not any("check(" in t["output"] or "autograder" in t["output"] for t in blank["tests"])
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "q4" in page and "carol" in page and "1 late submission" in page
    assert (out / "histogram.png").read_bytes()[:4] == b"\x89PNG"

    # the same batch again with a harsher policy: nothing is graded again, and every output changes with it
    assert main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress",
                 "--roster", str(tmp_path / "roster.csv"), "--deadline", "2026-12-01T00:00",
                 "--late-per-day", "20", "--late-cap", "50", "--gradescope"]) == 0
    printed = capsys.readouterr().out
    assert "raw" in printed and "final" in printed             # the console's table adds up
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert (rows["alice"]["raw_score"], rows["alice"]["late_penalty"], rows["alice"]["score"]) == ("100", "50", "50")
    page = (out / "feedback" / "alice.html").read_text()
    assert "Score: <b>50 / 112</b> (the tests gave 100; late penalty -50" in page and "late penalty -30" not in page
    assert json.loads((out / "gradescope" / "alice" / "results.json").read_text())["score"] == 50
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "elv") as gb:
        assert gb.find_submission_notebook("stereo", "01_stereo", "alice").late_submission_penalty == 50


@pytest.mark.slow
@pytest.mark.skipif(not installs.gradescope_possible(),
                    reason="needs root, useradd and a system Python >= 3.11 (setup.sh creates the kernels' account "
                           "and a virtual environment it can read, as in Gradescope's image)")
def test_gradescope_package_installs_and_grades_like_gradescope(stereo):
    """The zip's setup.sh and run_autograder, as Gradescope runs them (root, a container's PATH, a stand-in for
    /autograder): a fresh virtual environment, the kernels' unprivileged account, and a submission whose extra
    cell tries to read the reference and the spec and is denied, while the reference earns every point."""
    import nbformat

    from autograder.course.classroom import reference_submission
    from autograder.course.notebooks import write_notebook

    root, env = installs.gradescope_root()     # unpacked and set up in the background (tests/installs.py)
    names = zipfile.ZipFile(root / "autograder.zip").namelist()
    assert {"setup.sh", "run_autograder", "source/pyproject.toml", "source/solutions/01_stereo/stereo.nb.py",
            "source/solutions/01_stereo/spec.py"} <= set(names)
    # what grading this one assignment needs, nothing more
    assert not [n for n in names if "mistakes" in n or "02_optical_flow" in n or "bench" in n
                or n.endswith(".ipynb") and n.startswith("source/solutions/")
                or n.startswith(("source/tests/", "source/docs/"))]
    assert "+cpu" in subprocess.run([str(root / "venv" / "bin" / "python"), "-c", "import torch; "
                                     "print(torch.__version__)"], capture_output=True, text=True).stdout
    nb = reference_submission(stereo)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os, pathlib\n"
        "course = pathlib.Path(os.environ['ELVKIT_COURSE_ROOT'])\n"
        "for target in (course / 'solutions' / '01_stereo' / 'stereo.nb.py', course / 'solutions' / '01_stereo' / 'spec.py'):\n"
        "    try:\n"
        "        target.read_bytes(); print('READ', target)\n"
        "    except OSError as exc:\n"
        "        print('DENIED', type(exc).__name__, target)\n"
        "print('UID', os.getuid())\n"))
    write_notebook(nb, root / "submission" / "stereo.ipynb")
    run = subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 100 and all(t["status"] == "passed" for t in res["tests"] if "status" in t), res["output"]
    assert sum(1 for t in res["tests"] if "status" not in t) == 6         # the written answers wait for a TA
    executed = (root / "grading" / "results" / "autograded" / "student" / "stereo.ipynb").read_text()
    assert executed.count("DENIED PermissionError") == 2 and "READ " not in executed
    assert "UID 0" not in executed
    summary = (root / "grading" / "results" / "summary.txt").read_text()
    assert "ran as the unprivileged account elv-kernel" in summary


@pytest.mark.slow
def test_validate_tells_a_student_what_the_grader_will_see(tmp_path, stereo, capsys):
    from autograder.course.classroom import blank_submission, mistake_submission, mistakes, reference_submission
    from autograder.cli import main
    from autograder.course.notebooks import write_notebook

    good = tmp_path / "good" / "stereo.ipynb"
    write_notebook(reference_submission(stereo), good)
    assert main(["validate", str(good)]) == 0
    text = capsys.readouterr().out
    assert "Ready to submit." in text and "hidden test: runs when your notebook is graded" in text

    m = next(m for m in mistakes(stereo) if m.name == "p1_p2_swapped")
    bad = mistake_submission(stereo, m)
    for cell in bad.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q2-sad-visible":
            cell.source = "print('all good')"
    bad.cells = [c for c in bad.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "q3-wta"]
    write_notebook(bad, tmp_path / "bad" / "stereo.ipynb")
    assert main(["validate", str(tmp_path / "bad" / "stereo.ipynb"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"]
    assert any("q2-sad-visible was edited" in p for p in report["problems"])
    assert any("solution cell q3-wta is missing" in p for p in report["problems"])
    failed = {t[0] for t in report["tests"] if t[2] == "fail"}
    assert "q4-sgm-step-visible" in failed and "q2-sad-visible" not in failed   # run as released

    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    assert main(["validate", str(tmp_path / "broken.ipynb"), "--assignment", "01_stereo"]) == 1
    assert "cannot be graded: not a readable notebook" in capsys.readouterr().out
    blank = tmp_path / "fresh" / "stereo.ipynb"
    write_notebook(blank_submission(stereo), blank)
    assert main(["validate", str(blank)]) == 1
