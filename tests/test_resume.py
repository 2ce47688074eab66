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

#: the small assignment's full marks (its one example question is worth 1 point)
FULL = 1


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


@pytest.fixture
def scratch_assignment(tmp_path, monkeypatch):
    """A course of one small assignment (what `elv new` writes): resuming is the engine's, not a notebook's, so
    the test grades notebooks that take seconds. Its reference submission gets a cell that waits 2 s, so that a
    batch is still running when the test kills it."""
    from autograder.course import get_assignment, rescan
    from autograder.course.scaffold import new_assignment

    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.setenv("ELVKIT_COURSE_ROOT", str(course))
    rescan()
    new_assignment("01_small", "A small assignment graded in seconds")
    yield get_assignment("01_small")
    monkeypatch.delenv("ELVKIT_COURSE_ROOT")
    rescan()


def _slow_reference(a):
    from nbformat.v4 import new_code_cell

    from autograder.course.classroom import reference_submission

    nb = reference_submission(a)
    nb.cells.append(new_code_cell("import time\ntime.sleep(2)"))
    return nb


def test_sigkill_mid_batch_then_rerun_resumes(tmp_path, scratch_assignment):
    from nbgrader.api import Gradebook

    from autograder.course.notebooks import write_notebook

    small = scratch_assignment
    subs = tmp_path / "subs"
    for i in range(5):
        write_notebook(_slow_reference(small), subs / f"student{i}" / "small.ipynb")
    out = tmp_path / "elv-resume-test"
    journal = out / "journal.jsonl"
    proc = subprocess.Popen(_elv("grade", "01_small", str(subs), "--out", str(out), "--jobs", "2", "--no-progress"),
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

    rerun = subprocess.run(_elv("grade", "01_small", str(subs), "--out", str(out), "--jobs", "2"),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(done_before)} submission(s) unchanged since they were graded" in rerun.stderr
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == [f"student{i}" for i in range(5)]
    assert all(r["status"] == "graded" and float(r["score"]) == FULL for r in rows)
    entries = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert sorted(entries) == sorted(set(entries)) == [f"student{i}" for i in range(5)], "each graded exactly once"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "elv") as gb:
        subs_db = gb.assignment_submissions("01_small")
        assert sorted(s.student_id for s in subs_db) == [f"student{i}" for i in range(5)]
        assert all(s.score == FULL for s in subs_db)

    # a changed submission is graded again; --regrade grades everything
    write_notebook(_slow_reference(small), subs / "student0" / "small.ipynb")
    nb = json.loads((subs / "student0" / "small.ipynb").read_text())
    nb["cells"][0]["source"] = ["# edited\n"] + list(nb["cells"][0]["source"])
    (subs / "student0" / "small.ipynb").write_text(json.dumps(nb))
    again = subprocess.run(_elv("grade", "01_small", str(subs), "--out", str(out), "--jobs", "2"),
                           capture_output=True, text=True, timeout=300)
    assert "4 submission(s) unchanged" in again.stderr

    # --student: only the named student is graded again (with --regrade); the others keep their rows
    one = subprocess.run(_elv("grade", "01_small", str(subs), "--out", str(out), "--student", "student3", "--regrade",
                              "--no-progress"), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    entries = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert entries.count("student3") == 2 and entries.count("student1") == 1
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == [f"student{i}" for i in range(5)]
    assert all(float(r["score"]) == FULL for r in rows)

    # a single notebook path: that student alone is this run's (unchanged here, so kept; the others too)
    before = journal.read_text()
    single = subprocess.run(_elv("grade", "01_small", str(subs / "student1" / "small.ipynb"), "--out", str(out),
                                 "--no-progress"), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    assert journal.read_text() == before                        # nothing graded again
    assert sorted(r["student"] for r in csv.DictReader(open(out / "grades.csv"))) == [f"student{i}" for i in range(5)]

    # an LMS's zip as it is downloaded: Canvas names matched to the roster's lms_id
    import zipfile

    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        zf.write(subs / "student2" / "small.ipynb", "twostudent_LATE_1002_77_small-1.ipynb")
    (tmp_path / "roster.csv").write_text("student,lms_id,name\nstudent2,1002,\"Two, Student\"\n")
    collected = subprocess.run(_elv("grade", "01_small", str(tmp_path / "canvas.zip"), "--out", str(tmp_path / "z"),
                                    "--roster", str(tmp_path / "roster.csv"), "--no-progress"),
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr[-2000:]
    row, = csv.DictReader(open(tmp_path / "z" / "grades.csv"))
    assert (row["student"], row["lms_id"], row["score"]) == ("student2", "1002", str(FULL))
    assert "marked late by Canvas" in row["flags"]
