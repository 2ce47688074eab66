"""The command line answers every misuse in one line (exit status 2) and writes nothing when it refuses."""

import json
import os

import pytest

from autograder.cli import main


def test_list(capsys):
    """(`elv release --check` is run on a scratch course by tests/test_scaffold.py, and each of this course's
    releases is checked fresh and leak-free by tests/test_assignments.py.)"""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "01_stereo" in out and "q4: Semi-global matching" in out


@pytest.fixture
def course(tmp_path):
    """A submissions folder with one (unread) notebook, and the paths a TA might mistype."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "al.ipynb").write_text("{}")
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path


def _one_line_error(capsys, argv, expected: str, untouched=()) -> None:
    """``elv argv`` exits with 2, says ``expected`` in one line on stderr, prints nothing else, writes nothing."""
    before = {p: sorted(os.listdir(p)) if p.is_dir() else None for p in untouched}
    assert main(argv) == 2, argv
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("elv: ") and expected in lines[0], (argv, captured.err)
    assert "Traceback" not in captured.err and captured.out == ""
    for p, listing in before.items():
        assert (sorted(os.listdir(p)) if p.is_dir() else None) == listing, f"{p} changed"


MISUSE = {
    "unknown assignment": (["grade", "99_nothing", "{subs}", "--out", "{tmp}/r"], "no assignment '99_nothing'"),
    "submissions absent": (["grade", "01_stereo", "{tmp}/absent", "--out", "{tmp}/r"], "does not exist"),
    "no submissions": (["grade", "01_stereo", "{tmp}/empty", "--out", "{tmp}/r"], "no submissions in"),
    "no workers": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--jobs", "0"],
                   "--jobs expects a whole number from 1 to 256; got 0"),
    "zero notebook time": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--timeout", "0"],
                           "--timeout expects a whole number from 1 to 604800 seconds; got 0"),
    "negative cell time": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--cell-timeout", "-1"],
                           "--cell-timeout expects a whole number from 1 to 86400 seconds; got -1"),
    "cell longer than notebook": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--cell-timeout", "700"],
                                  "--cell-timeout (700 s) is longer than --timeout"),
    "negative memory": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--memory", "-1"],
                        "--memory expects 0 (no limit) or a number of MB from 256"),
    "out is a file": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/a-file"], "is a file; expected a results"),
    "out under a file": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/a-file/r"],
                         "a-file is a file, so the results folder cannot be made under it"),
    "out not writable": (["grade", "01_stereo", "{subs}", "--out", "/proc/elv-nope/r"],
                         "cannot create the results folder in /proc"),
    "out not elv's": (["grade", "01_stereo", "{subs}", "--out", "{subs}"], "holds no results of `elv grade`"),
    "bad database url": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--db", "gradebook"],
                         "--db 'gradebook' is not a database URL"),
    "database down": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--db",
                       "postgresql+psycopg2://ta:secret@127.0.0.1:9/course"], "the database does not answer"),
    "late policy without deadline": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--late-per-day", "20"],
                                     "--late-per-day needs --deadline"),
    "no sandbox and no account": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--sandbox", "user"],
                                  "and the kernels would run as this account, which can read the reference"),
    "kernel account missing": (["grade", "01_stereo", "{subs}", "--out", "{tmp}/r", "--sandbox", "user",
                                "--kernel-user", "nobody-here"], "--kernel-user nobody-here"),
    "gradescope into a folder": (["gradescope", "01_stereo", "--out", "{tmp}"], "is a folder; expected the zip"),
    "gradescope under a file": (["gradescope", "01_stereo", "--out", "{tmp}/a-file/x.zip"], "(it is a file)"),
    "validate the wrong assignment": (["validate", "{tmp}/stereo.ipynb", "--assignment", "02_optical_flow"],
                                      "is not a notebook of 02_optical_flow"),
}


@pytest.mark.parametrize("case", MISUSE, ids=list(MISUSE))
def test_every_misuse_gets_one_line_and_exit_2(case, course, capsys):
    from autograder.course import get_assignment

    argv, expected = MISUSE[case]
    (course / "empty").mkdir()
    (course / "stereo.ipynb").write_bytes(get_assignment("01_stereo").release_notebook.read_bytes())
    argv = [a.format(tmp=course, subs=course / "subs") for a in argv]
    _one_line_error(capsys, argv, expected, untouched=[course, course / "subs"])
    if case == "database down":
        assert "secret" not in capsys.readouterr().err


def test_a_results_folder_keeps_to_its_assignment(course, capsys):
    out = course / "results"
    out.mkdir()
    (out / ".elv-results.json").write_text(json.dumps({"assignment": "02_optical_flow"}))
    (out / "grades.csv").write_text("the flow grades\n")
    _one_line_error(capsys, ["grade", "01_stereo", str(course / "subs"), "--out", str(out)],
                    "holds the results of 02_optical_flow; grade 01_stereo into a folder of its own", [out])
    assert (out / "grades.csv").read_text() == "the flow grades\n"


def test_an_unreachable_scheduler_gets_one_line(course, capsys, monkeypatch):
    from autograder.grading import executors

    monkeypatch.setattr(executors, "SCHEDULER_TIMEOUT", 3)
    _one_line_error(capsys, ["grade", "01_stereo", str(course / "subs"), "--out", str(course / "r"),
                             "--scheduler", "tcp://127.0.0.1:9"], "no Dask scheduler answered", [course])


def test_roster_rows_are_whole_or_refused(course, capsys):
    roster = course / "roster.csv"
    roster.write_text("student,lms_id,name\nal,1,Al\n,2,Nobody Here\n")
    _one_line_error(capsys, ["grade", "01_stereo", str(course / "subs"), "--out", str(course / "r"),
                             "--roster", str(roster)], "line 3: the student column is empty (2, Nobody Here)", [course])
    roster.write_text("student,name\nal,Al\n")
    _one_line_error(capsys, ["grade", "01_stereo", str(course / "subs"), "--out", str(course / "r"),
                             "--roster", str(roster)], "needs an 'lms_id' column", [course])


def test_grades_export_in_the_lms_import_layouts(tmp_path, capsys):
    import csv

    results = tmp_path / "results"
    results.mkdir()
    (results / ".elv-results.json").write_text(json.dumps({"assignment": "01_stereo"}))
    (results / "grades.csv").write_text(
        "student,lms_id,name,status,score,raw_score,late_penalty\n"
        "alice,1001,\"Liddell, Alice\",graded,70,100,30\n"
        "bob,1002,Bob Builder,graded,100,100,0\n"
        "carol,1003,Carol Danvers,missing,0,0,0\n"
        "zoe,,,graded,12,12,0\n"
        "._stereo.ipynb,,,ignored,,,\n", encoding="utf-8")
    assert main(["export", str(results), "--lms", "canvas", "--out", str(tmp_path / "canvas.csv"),
                 "--column", "Assignment 1 (123456)"]) == 0
    err = capsys.readouterr().err
    assert "Left out, without an LMS id (not on the roster): zoe" in err
    canvas = list(csv.reader(open(tmp_path / "canvas.csv", newline="")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 1 (123456)"]
    assert canvas[1] == ["Liddell, Alice", "1001", "", "", "", "70"]          # the final score, quoted name whole
    assert canvas[3][1] == "1003" and canvas[3][5] == ""                      # nothing submitted: left as it was
    assert main(["export", str(results), "--lms", "brightspace", "--out", str(tmp_path / "d2l.csv"),
                 "--missing", "zero"]) == 0
    d2l = list(csv.reader(open(tmp_path / "d2l.csv", newline="")))
    assert d2l[0] == ["OrgDefinedId", "Assignment 1: stereo disparity and depth Points Grade", "End-of-Line Indicator"]
    assert d2l[1:] == [["1001", "70", "#"], ["1002", "100", "#"], ["1003", "0", "#"]]
    capsys.readouterr()
    _one_line_error(capsys, ["export", str(tmp_path), "--lms", "canvas", "--out", str(tmp_path / "x.csv")],
                    "has no grades.csv", [tmp_path])


@pytest.mark.parametrize("command", ["list", "release", "grade", "validate", "export", "gradescope", "publish", "new",
                                     "demo"])
def test_every_subcommand_says_what_it_reads_and_writes_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert f"example:\n  elv {command}" in text and ("Reads" in text or "Writes" in text), text
