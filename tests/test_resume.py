"""Killing the grader mid-batch loses nothing: a rerun keeps what was finished and grades the rest."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _elv(*args):
    return [str(Path(sys.executable).parent / "elv"), *args]


def _kernels_in(folder: Path) -> list:
    """Kernel processes whose working directory is under ``folder`` (the grader runs them there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if "ipykernel" in cmdline and cwd.startswith(str(folder)):
            found.append(int(proc.name))
    return found


def test_sigkill_mid_batch_then_rerun_resumes(tmp_path, stereo):
    from nbgrader.api import Gradebook

    from autograder.course.classroom import reference_submission
    from autograder.course.notebooks import write_notebook

    subs = tmp_path / "subs"
    for i in range(5):
        write_notebook(reference_submission(stereo), subs / f"student{i}" / "stereo.ipynb")
    out = tmp_path / "elv-resume-test"
    journal = out / "journal.jsonl"
    proc = subprocess.Popen(_elv("grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 2 and _kernels_in(out):
            break                           # two finished, and kernels are running the next ones
        if proc.poll() is not None:
            pytest.fail("the batch finished before it could be killed")
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("no submission finished within 240 s")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {json.loads(line)["student"] for line in journal.read_text().splitlines()}
    assert 2 <= len(done_before) < 5
    for _ in range(50):
        if not _kernels_in(out):
            break
        time.sleep(0.2)
    assert not _kernels_in(out), "a killed grader must not leave kernels running"

    rerun = subprocess.run(_elv("grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2"),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(done_before)} submission(s) unchanged since they were graded" in rerun.stderr
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == [f"student{i}" for i in range(5)]
    assert all(r["status"] == "graded" and float(r["score"]) == 100 for r in rows)
    entries = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert sorted(entries) == sorted(set(entries)) == [f"student{i}" for i in range(5)], "each graded exactly once"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "elv") as gb:
        subs_db = gb.assignment_submissions("01_stereo")
        assert sorted(s.student_id for s in subs_db) == [f"student{i}" for i in range(5)]
        assert all(s.score == 100 for s in subs_db)

    # a changed submission is graded again; --regrade grades everything
    write_notebook(reference_submission(stereo), subs / "student0" / "stereo.ipynb")
    nb = json.loads((subs / "student0" / "stereo.ipynb").read_text())
    nb["cells"][0]["source"] = ["# edited\n"] + list(nb["cells"][0]["source"])
    (subs / "student0" / "stereo.ipynb").write_text(json.dumps(nb))
    again = subprocess.run(_elv("grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2"),
                           capture_output=True, text=True, timeout=300)
    assert "4 submission(s) unchanged" in again.stderr

    # --student: only the named student is graded again (with --regrade); the others keep their rows
    one = subprocess.run(_elv("grade", "01_stereo", str(subs), "--out", str(out), "--student", "student3", "--regrade",
                              "--no-progress"), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    entries = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert entries.count("student3") == 2 and entries.count("student1") == 1
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == [f"student{i}" for i in range(5)]
    assert all(float(r["score"]) == 100 for r in rows)

    # a single notebook path: that student alone is this run's (unchanged here, so kept; the others too)
    before = journal.read_text()
    single = subprocess.run(_elv("grade", "01_stereo", str(subs / "student1" / "stereo.ipynb"), "--out", str(out),
                                 "--no-progress"), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    assert journal.read_text() == before                        # nothing graded again
    assert sorted(r["student"] for r in csv.DictReader(open(out / "grades.csv"))) == [f"student{i}" for i in range(5)]

    # an LMS's zip as it is downloaded: Canvas names matched to the roster's lms_id
    import zipfile

    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        zf.write(subs / "student2" / "stereo.ipynb", "twostudent_LATE_1002_77_stereo-1.ipynb")
    (tmp_path / "roster.csv").write_text("student,lms_id,name\nstudent2,1002,\"Two, Student\"\n")
    collected = subprocess.run(_elv("grade", "01_stereo", str(tmp_path / "canvas.zip"), "--out", str(tmp_path / "z"),
                                    "--roster", str(tmp_path / "roster.csv"), "--no-progress"),
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr[-2000:]
    row, = csv.DictReader(open(tmp_path / "z" / "grades.csv"))
    assert (row["student"], row["lms_id"], row["score"]) == ("student2", "1002", "100")
    assert "marked late by Canvas" in row["flags"]
