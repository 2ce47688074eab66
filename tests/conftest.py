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


def pytest_collection_finish(session):
    """Start the fresh installations the selected tests need (``tests/installs.py``) in the background now, so
    that they overlap the graded batches."""
    import installs

    chosen = {item.nodeid for item in session.items if not item.get_closest_marker("skip")}
    if any("test_student_distribution.py" in n for n in chosen):
        installs.start("student")
    if any("installs_and_grades_like_gradescope" in n for n in chosen) and installs.gradescope_possible():
        installs.start("gradescope")


def pytest_sessionfinish(session, exitstatus):
    import installs

    installs.cleanup()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def stereo():
    from autograder.course import get_assignment

    return get_assignment("01_stereo")


@pytest.fixture(scope="session")
def ref():
    from autograder.integrity.reference import load

    return load("01_stereo")


@pytest.fixture(scope="session")
def flow_assignment():
    from autograder.course import get_assignment

    return get_assignment("02_optical_flow")


@pytest.fixture(scope="session")
def flow_ref():
    from autograder.integrity.reference import load

    return load("02_optical_flow")


def _ids():
    from autograder.course import assignments

    return [a.id for a in assignments()]


#: the course's assignments, discovered (tests parametrised over them need no list)
ASSIGNMENT_IDS = _ids()
_BATCHES: dict = {}


class _Listener:
    """A TCP listener on 127.0.0.1 that records whoever reaches it (the hostile network case aims at it)."""

    def __init__(self):
        import socket
        import threading

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


def graded_class(assignment_id: str, tmp_path_factory) -> dict:
    """One graded batch per assignment, made once per test session and shared by every test that needs it:
    the demo class (the reference, the blank release and every mistake of its corpus), graded with
    ``elv grade`` as a TA would; for the assignment of the hostile corpus (``tests/hostile/``) every hostile
    case joins the same batch. The mistakes and the hostile cases leave out the demonstration cells that no
    graded cell needs (:func:`~autograder.course.classroom.without_demonstrations`); the reference and the blank
    release are whole. About 10 minutes on 2 cores for the stereo batch (66 notebooks), 2.3 for optical flow and
    5.6 for self-supervised learning, about 1.5 for Normalized Cuts (14 notebooks) and 1.2 for slot attention (15)."""
    if assignment_id in _BATCHES:
        return _BATCHES[assignment_id]
    import csv

    import nbformat

    from autograder.cli import main
    from autograder.course import get_assignment
    from autograder.course.classroom import build_class, reference_submission, without_demonstrations
    from hostile import ASSIGNMENT, Kit, cases

    a = get_assignment(assignment_id)
    base = tmp_path_factory.mktemp(f"batch-{a.id}")
    subs, out = base / "submissions", base / "results"
    roster = build_class(a, subs, lean=True)
    listener = _Listener()
    kits = {}
    hostile = cases(a.id)
    if hostile:
        ref = without_demonstrations(reference_submission(a))
        release = nbformat.read(a.release_notebook, as_version=4)
        for name, case in hostile.items():
            kit = Kit(ref=ref, release=release, folder=subs / name, submissions=subs, results=out,
                      solution=a.source, port=listener.port, notebook=f"{a.notebook}.ipynb")
            case.build(kit)
            kits[name] = kit
    # the stereo corpus has endless loops: shorter limits keep its batch short
    limits = ["--timeout", "100", "--cell-timeout", "20"] if a.id == ASSIGNMENT else \
        ["--timeout", "300", "--cell-timeout", "120"]
    try:
        code = main(["grade", a.id, str(subs), "--out", str(out), "--jobs", "2", *limits, "--no-progress"])
    finally:
        listener.close()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8"))}
    _BATCHES[a.id] = {"assignment": a, "code": code, "rows": rows, "out": out, "kits": kits, "listener": listener,
                      "submissions": subs, "roster": roster}
    return _BATCHES[a.id]


@pytest.fixture(scope="session", params=ASSIGNMENT_IDS)
def class_batch(request, tmp_path_factory):
    """The graded demo class of each assignment of the course (see :func:`graded_class`)."""
    return graded_class(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def stereo_batch(tmp_path_factory):
    """The graded batch of the hostile corpus's assignment: its demo class and every hostile case."""
    from hostile import ASSIGNMENT

    return graded_class(ASSIGNMENT, tmp_path_factory)


@pytest.fixture
def fake_dino(tmp_path, monkeypatch):
    """DINO's ViT-S/16 and ViT-S/8 as an instructor's machine holds them, made on the fly: random weights in the
    official checkpoints' exact key layout in the data cache, and a registry whose entries hold their sha256."""
    import tomllib

    import torch

    from elvkit.data.registry import _registry_path, file_sha256
    from elvkit.models import DINO_MODELS, vit_small

    cache = tmp_path / "cache"
    monkeypatch.setenv("ELVKIT_DATA_DIR", str(cache))
    table = tomllib.loads(_registry_path().read_text())
    for seed, (name, (file, patch)) in enumerate(DINO_MODELS.items()):
        torch.manual_seed(seed)
        (cache / file).parent.mkdir(parents=True, exist_ok=True)
        torch.save(vit_small(patch=patch).state_dict(), cache / file)          # the published backbone's keys
        table[file]["sha256"] = file_sha256(cache / file)
    (tmp_path / "registry.toml").write_text(
        "\n".join(f'["{k}"]\nurl = "{v["url"]}"\nsha256 = "{v.get("sha256", "")}"\n' for k, v in table.items()))
    return tmp_path
