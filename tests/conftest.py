"""Shared fixtures: devices present, seeded generators, the course's assignments and their references."""

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def _devices():
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


DEVICES = _devices()


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA or MPS device")
    for item in items:
        if "gpu" in item.keywords and len(DEVICES) == 1:
            item.add_marker(skip_gpu)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def stereo():
    from autograder.course import get_assignment

    return get_assignment("01_stereo")


@pytest.fixture(scope="session")
def ref():
    from autograder.reference import load

    return load("01_stereo")


@pytest.fixture(scope="session")
def flow_assignment():
    from autograder.course import get_assignment

    return get_assignment("02_optical_flow")


@pytest.fixture(scope="session")
def flow_ref():
    from autograder.reference import load

    return load("02_optical_flow")


@pytest.fixture(scope="session")
def stereo_batch(tmp_path_factory, stereo):
    """One graded batch of the stereo assignment, shared by every test that needs one (about 11 minutes on
    2 cores): the demo class (the reference, the blank release and every mistake of the corpus) and the
    hostile corpus (``autograder/tests/hostile/``), graded together with ``elv grade`` as a TA would.

    A TCP listener on 127.0.0.1 records whoever reaches it (the network case aims at it).
    """
    import csv
    import socket
    import threading

    import nbformat

    from autograder.classroom import build_class, reference_submission
    from autograder.cli import main
    from autograder.tests.hostile import Kit, cases

    class Listener:
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

    base = tmp_path_factory.mktemp("stereo-batch")
    subs, out = base / "submissions", base / "results"
    roster = build_class(stereo, subs)
    listener = Listener()
    ref = reference_submission(stereo)
    release = nbformat.read(stereo.release_notebook, as_version=4)
    kits = {}
    for name, case in cases().items():
        kit = Kit(ref=ref, release=release, folder=subs / name, submissions=subs, results=out,
                  solution=stereo.source, port=listener.port)
        case.build(kit)
        kits[name] = kit
    try:
        code = main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "150",
                     "--cell-timeout", "20", "--no-progress"])
    finally:
        listener.close()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8"))}
    return {"code": code, "rows": rows, "out": out, "kits": kits, "listener": listener, "submissions": subs,
            "roster": roster}
