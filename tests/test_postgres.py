"""The gradebook on a real PostgreSQL server: a throw-away cluster started by the test (Debian's
postgresql package), reached over a Unix socket only."""

import csv
import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    return found[-1] if found and found[-1] else None


@pytest.fixture(scope="module")
def postgres_url():
    import tempfile

    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="elv-pg-"))     # under /tmp: the server's user must reach it
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as = []
    if os.geteuid() == 0:                      # the server refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to start the server as")
        for p in (base, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run_as + [initdb, "-D", str(data), "-U", "elv", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"),
                             "-o", f"-c listen_addresses='' -k {sock}", "start"], check=True, capture_output=True)
    try:
        subprocess.run(run_as + [_bin("createdb") or "createdb", "-h", str(sock), "-U", "elv", "gradebook"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg2://elv@/gradebook?host={sock}"
    finally:
        subprocess.run(run_as + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_grading_into_a_postgresql_gradebook_and_resuming(postgres_url, tmp_path, stereo):
    from nbgrader.api import Gradebook

    from autograder.course.classroom import blank_submission, reference_submission, without_demonstrations
    from autograder.cli import main
    from autograder.course.notebooks import write_notebook

    subs = tmp_path / "subs"
    write_notebook(without_demonstrations(reference_submission(stereo)), subs / "ana" / "stereo.ipynb")
    write_notebook(blank_submission(stereo), subs / "ben" / "stereo.ipynb")
    out = tmp_path / "out"
    args = ["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress", "--db", postgres_url]
    assert main(args) == 0
    assert not (out / "gradebook.db").exists(), "no sqlite file when a database URL is given"
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    with Gradebook(postgres_url, "elv") as gb:
        assert gb.db.bind.dialect.name == "postgresql"
        for student, row in rows.items():
            assert gb.find_submission("01_stereo", student).score == pytest.approx(float(row["score"]))
        assert gb.find_submission("01_stereo", "ana").score == 100
        assert len(gb.find_submission_notebook("stereo", "01_stereo", "ben").grades) == 37
    assert main(args) == 0                                # a rerun keeps both results and changes nothing
    with Gradebook(postgres_url, "elv") as gb:
        assert sorted(s.student_id for s in gb.assignment_submissions("01_stereo")) == ["ana", "ben"]
