"""The hostile corpus (autograder/tests/hostile/): every case graded in one batch beside the reference, each
ending with its expected status, score and flag; the batch never aborts and no other submission is affected."""

import csv
import socket
import threading

import nbformat
import pytest

from autograder.classroom import reference_submission
from autograder.cli import main
from autograder.sandbox import probe
from autograder.tests.hostile import Kit, cases

pytestmark = pytest.mark.slow

CASES = cases()


class Listener:
    """A TCP listener on 127.0.0.1 that records whoever reaches it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.reached = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.reached.append(addr)
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, stereo):
    base = tmp_path_factory.mktemp("hostile")
    subs, out = base / "submissions", base / "results"
    listener = Listener()
    ref = reference_submission(stereo)
    release = nbformat.read(stereo.release_notebook, as_version=4)
    kits = {}
    for name, case in CASES.items():
        kit = Kit(ref=ref, release=release, folder=subs / name, submissions=subs, results=out,
                  solution=stereo.source, port=listener.port)
        case.build(kit)
        kits[name] = kit
    Kit(ref=ref, release=None, folder=subs / "reference", submissions=subs, results=out, solution=stereo.source,
        port=listener.port).write(ref)
    try:
        code = main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "150",
                     "--cell-timeout", "20", "--no-progress"])
    finally:
        listener.close()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return {"code": code, "rows": rows, "out": out, "kits": kits, "listener": listener}


def test_corpus_is_complete():
    assert len(CASES) >= 25
    for name, case in CASES.items():
        assert case.__doc__ and {"status", "score", "flagged"} <= set(case.EXPECT), name


def test_batch_finishes_and_the_reference_is_untouched(batch):
    assert batch["code"] == 0
    assert set(batch["rows"]) == set(CASES) | {"reference"}
    row = batch["rows"]["reference"]
    assert (row["status"], float(row["score"])) == ("graded", 100.0)


@pytest.mark.parametrize("name", list(CASES))
def test_case_ends_as_expected(batch, name):
    expect = CASES[name].EXPECT
    if expect.get("needs_sandbox") and not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    row = batch["rows"][name]
    got = {"status": row["status"], "score": float(row["score"]), "flagged": "tampering" in row["flags"]}
    want = {"status": expect["status"], "score": float(expect["score"]), "flagged": expect["flagged"]}
    assert got == want, f"{name}: {row['message']} | {row['flags']}"
    if hasattr(CASES[name], "verify"):
        CASES[name].verify(batch["kits"][name], row, batch["out"])


def test_nothing_reached_the_listener(batch):
    if not probe()[0]:
        pytest.skip(f"needs the bubblewrap sandbox: {probe()[1]}")
    assert batch["listener"].reached == []


def test_tampering_is_in_the_gradebook_and_the_report(batch, stereo):
    from nbgrader.api import Gradebook

    flagged = {n for n, c in CASES.items() if c.EXPECT["flagged"]}
    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}", "elv") as gb:
        marked = {n for n in CASES if batch["rows"][n]["status"] == "graded"
                  and gb.find_submission_notebook("stereo", stereo.id, n).flagged}
    assert marked == flagged
    report = (batch["out"] / "report.html").read_text()
    assert all(n in report for n in flagged)


def test_feedback_never_shows_hidden_source(batch):
    for name, row in batch["rows"].items():
        if row["feedback"]:
            page = (batch["out"] / row["feedback"]).read_text(errors="replace")
            assert "BEGIN HIDDEN TESTS" not in page and 'check("01_stereo"' not in page, name
