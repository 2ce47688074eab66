"""Submissions as an LMS hands them over: Canvas's bulk-download names matched to the roster, and a zip of
them unpacked as data (no path, link or size in it is trusted)."""

import stat
import zipfile

import pytest

from autograder.grading import submissions as subs_module
from autograder.grading.policy import RosterEntry
from autograder.grading.submissions import collect_zip, find_submissions


def test_canvas_names_are_matched_to_the_roster(tmp_path):
    for name in ("liddellalice_1001_555_stereo.ipynb", "builderbob_LATE_1002_556_stereo-1.ipynb",
                 "builderbob_1002_540_stereo.ipynb", "unknownzed_9999_557_stereo.ipynb"):
        (tmp_path / name).write_text("{}")
    roster = {"alice": RosterEntry("alice", lms_id="1001"), "bob": RosterEntry("bob", lms_id="1002")}
    found = {f.entry.name: f for f in find_submissions(tmp_path, "stereo", "01_stereo", roster)}
    alice = found["liddellalice_1001_555_stereo.ipynb"]
    assert (alice.student, alice.ignored, alice.note) == ("alice", False, "")       # nothing to flag
    bob = found["builderbob_LATE_1002_556_stereo-1.ipynb"]
    assert bob.student == "bob" and "marked late by Canvas" in bob.note
    earlier = found["builderbob_1002_540_stereo.ipynb"]
    assert earlier.ignored and "an earlier Canvas submission of bob" in earlier.note
    zed = found["unknownzed_9999_557_stereo.ipynb"]
    assert zed.student == "unknownzed" and "Canvas user 9999 is on no roster row" in zed.note
    plain = find_submissions(tmp_path, "stereo", "01_stereo")          # without a roster: Canvas's own names
    assert {f.student for f in plain if not f.ignored} == {"liddellalice", "builderbob", "unknownzed"}


def test_a_file_name_alone_does_not_make_a_student_someone_else(tmp_path):
    """Among ordinary submissions, a file named like a Canvas download of another student's id keeps its name."""
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "mallory_1002_1_stereo.ipynb").write_text("{}")
    roster = {"alice": RosterEntry("alice", lms_id="1001"), "bob": RosterEntry("bob", lms_id="1002")}
    students = {f.student for f in find_submissions(tmp_path, "stereo", "01_stereo", roster)}
    assert students == {"alice", "mallory_1002_1_stereo"}


def test_a_zip_is_unpacked_as_data(tmp_path, monkeypatch):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("liddellalice_1001_555_stereo.ipynb", "{}")
        zf.writestr("../../escaped.ipynb", "{}")
        zf.writestr("/absolute.ipynb", "{}")
        zf.writestr("__MACOSX/._liddellalice_1001_555_stereo.ipynb", "mac")
        link = zipfile.ZipInfo("link.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    dest = tmp_path / "results" / "collected"
    folder = collect_zip(archive, dest)
    names = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert folder == dest and names == ["liddellalice_1001_555_stereo.ipynb"]
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path.parent / "escaped.ipynb").exists()

    monkeypatch.setattr(subs_module, "ZIP_LIMITS", (1 << 20, 1000))
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.ipynb", "0" * 100_000)                     # compresses to almost nothing
    with pytest.raises(ValueError, match="unpacks to more than the grader takes"):
        collect_zip(archive, dest)
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(ValueError, match="is not a readable zip"):
        collect_zip(tmp_path / "not.zip", dest)
