"""`elv new`: a new assignment folder that passes `elv release --check` at once, and that the release, the
parametrised guarantees of every assignment (test_assignments.py) and the bench pick up without any other
file being edited. Run in a scratch course (``ELVKIT_COURSE_ROOT``) that holds only the new assignment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course import rescan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """An empty course: the toolkit's assignments are not in it."""
    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.setenv("ELVKIT_COURSE_ROOT", str(course))
    rescan()
    yield course
    monkeypatch.delenv("ELVKIT_COURSE_ROOT")
    rescan()


def test_new_assignment_passes_the_release_check_at_once(scratch, capsys):
    assert main(["new", "99_scratch", "--title", "Assignment 99: a scratch assignment"]) == 0
    folder = scratch / "solutions" / "99_scratch"
    assert sorted(p.name for p in folder.iterdir()) == ["lecture.py", "mistakes", "scratch.ipynb", "scratch.nb.py",
                                                        "spec.py"]
    assert (folder / "mistakes" / "README.md").is_file() and len(list((folder / "mistakes").glob("*.py"))) == 1
    assert (scratch / "assignments" / "99_scratch" / "scratch.ipynb").is_file()
    assert "solutions/99_scratch/" in capsys.readouterr().out
    assert main(["release", "--check"]) == 0
    capsys.readouterr()
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "99_scratch" in listed and "Assignment 99: a scratch assignment" in listed and "q1: An example question" in listed
    from autograder.lecture import find_topic, load_demos   # its first lecture demo, drawn by its reference

    demo = load_demos(find_topic("scratch")).DEMOS[0]
    assert demo.png() != demo.png(factor=-1.0) and "peaks reach 2" in demo.render()[1]


@pytest.mark.parametrize("args, message", [
    (["new", "scratch", "--title", "T"], "two digits, an underscore and a lower-case name"),
    (["new", "99_Scratch", "--title", "T"], "two digits, an underscore and a lower-case name"),
    (["new", "99_scratch", "--title", " "], "--title must be one line"),
])
def test_new_refuses_bad_ids_and_titles_in_one_line(scratch, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (scratch / "solutions").exists()


def test_new_refuses_an_id_or_notebook_the_course_has(scratch, capsys):
    assert main(["new", "98_scratch", "--title", "First", "--no-release"]) == 0
    assert main(["new", "98_scratch", "--title", "Again"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["new", "97_scratch", "--title", "Same notebook name"]) == 2
    assert "has 98_scratch (scratch.ipynb) already" in capsys.readouterr().err


@pytest.mark.slow
def test_the_guarantees_and_the_bench_pick_up_a_new_assignment(scratch, tmp_path):
    """The generic tests, collected in a course that has only the new assignment, are parametrised over it
    and pass (its demo class graded for real); the bench executes and grades its notebook."""
    assert main(["new", "99_scratch", "--title", "Assignment 99: a scratch assignment"]) == 0
    env = dict(os.environ, ELVKIT_COURSE_ROOT=str(scratch))
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                            str(REPO / "tests" / "test_assignments.py")], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=900)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    passed = [line for line in tests.stdout.splitlines() if line.startswith("PASSED") and "99_scratch" in line]
    names = {line.split("::")[1].split("[")[0] for line in passed}
    assert {"test_release_is_fresh_and_leaks_nothing", "test_mistakes_corpus_covers_the_questions",
            "test_reference_scores_full_marks_on_the_cpu", "test_blank_release_scores_zero_on_every_autograded_cell",
            "test_every_mistake_loses_points_in_its_question", "test_feedback_never_shows_hidden_source"} <= names, \
        tests.stdout[-3000:]
    bench = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--only", "grading", "--throughput", "0",
                            "--mistakes", "0", "--no-anchor", "--out", str(tmp_path / "bench")], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=900)
    # it ran to the end (the overhead target is for real classes: two submissions cannot amortise a worker's start)
    assert bench.returncode in (0, 1) and "Traceback" not in bench.stderr, bench.stdout[-3000:] + bench.stderr[-2000:]
    assert "All targets met." in bench.stdout or "target(s) missed." in bench.stdout
    assert "## grading: 99_scratch" in (tmp_path / "bench" / "bench.md").read_text()
    assert "notebook: 99_scratch" in bench.stdout
