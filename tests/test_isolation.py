"""The pieces of grading that students cannot influence: the sandbox, the out-of-process hidden checks and the
tamper scan (the whole chain is in test_hostile.py)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from autograder.kernel_side.records import Other, decode, encode, read_record, write_record
from autograder.integrity.specs import checked_names, judge, make_cases
from autograder.integrity.reference import load
from autograder.isolation.sandbox import bwrap_command, probe
from autograder.integrity.tamper import scan
from elvkit.geometry import StereoCalibration


def test_records_round_trip_without_pickle(tmp_path):
    calib = StereoCalibration(focal=500.0, cx=10.0, cy=8.0, baseline=100.0, doffs=2.0)
    value = (np.arange(6, dtype=np.float32).reshape(2, 3), torch.ones(2, dtype=torch.float64), 3, 2.5, None,
             {"calib": calib, "mask": np.array([True, False])}, [np.int64(7)], object())
    arrays = {}
    data = encode(value, arrays)
    write_record(tmp_path / "r", {"value": data}, arrays)
    payload, back_arrays = read_record(tmp_path / "r")
    back = decode(payload["value"], back_arrays)
    np.testing.assert_array_equal(back[0], value[0])
    assert back[0].dtype == np.float32 and torch.is_tensor(back[1]) and back[1].dtype == torch.float64
    assert back[2:5] == (3, 2.5, None) and back[5]["calib"] == calib
    assert back[5]["mask"].dtype == bool and isinstance(back[7], Other) and back[7].type_name == "object"
    assert np.asarray(torch.zeros(())).shape == () and decode(encode(torch.zeros(()), arrays), arrays).shape == ()


def test_sparse_matrices_round_trip_as_csr_and_forged_ones_are_refused(tmp_path):
    """A sparse affinity matrix (any SciPy format) is recorded as CSR; its array or matrix kind survives. A record
    whose row pointers or column indices do not fit its shape is refused before SciPy reads it."""
    import scipy.sparse as sp

    from autograder.kernel_side.records import RecordError

    W = sp.random(9, 9, density=0.3, format="coo", random_state=np.random.default_rng(3))
    arrays = {}
    data = encode({"coo": W, "array": sp.csr_array(W), "lil": W.tolil()}, arrays)
    write_record(tmp_path / "r", {"value": data}, arrays)
    payload, back_arrays = read_record(tmp_path / "r")
    back = decode(payload["value"], back_arrays)
    for name in ("coo", "array", "lil"):
        np.testing.assert_array_equal(back[name].toarray(), W.toarray())
    assert isinstance(back["coo"], sp.csr_matrix) and isinstance(back["array"], sp.csr_array)
    entry = data["$dict"]["coo"]
    values, indices, indptr = (back_arrays[k] for k in entry["$sparse"])
    forged = [("a column index outside", {entry["$sparse"][1]: indices + 9}),
              ("row pointers", {entry["$sparse"][2]: indptr[::-1].copy()}),
              ("do not fit its shape", {entry["$sparse"][2]: indptr[:-1]}),
              ("wrong dtypes", {entry["$sparse"][1]: indices.astype(np.float64)})]
    for message, change in forged:
        with pytest.raises(RecordError, match=message):
            decode(entry, {**back_arrays, **change})
    with pytest.raises(RecordError, match="shape"):
        decode({**entry, "shape": [9, 2**40]}, back_arrays)


def test_a_record_with_a_pickle_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import zipfile

    with zipfile.ZipFile(tmp_path / "r.npz", "w") as z:
        z.write(tmp_path / "x.npy", "a0.npy")
    (tmp_path / "r.json").write_text('{"cases": [{"returned": {"$array": "a0"}}]}')
    with pytest.raises(ValueError, match="pickle"):
        read_record(tmp_path / "r")


def test_judge_is_strict_about_type_dtype_and_shape(stereo):
    ref = load(stereo.id)
    cases = make_cases(stereo, "sad_cost", 5)

    def recorded(fn):
        arrays = {}
        entries = [{"returned": encode(fn(*c.args, **c.kwargs), arrays)} for c in cases]
        return {"cases": entries}, arrays

    assert judge(stereo, "sad_cost", cases, *recorded(ref.sad_cost)) is None
    msg = judge(stereo, "sad_cost", cases, *recorded(lambda *a, **k: ref.sad_cost(*a, **k).astype(np.float64)))
    assert "dtype float64, expected float32" in msg
    msg = judge(stereo, "sad_cost", cases, *recorded(lambda *a, **k: ref.sad_cost(*a, **k)[1:]))
    assert "shape" in msg
    msg = judge(stereo, "sad_cost", cases, *recorded(lambda *a, **k: torch.from_numpy(ref.sad_cost(*a, **k))))
    assert "should return a NumPy array" in msg
    payload, arrays = recorded(ref.sad_cost)
    payload["cases"] = payload["cases"][:-1]                # a truncated record
    assert "incomplete" in judge(stereo, "sad_cost", cases, payload, arrays)


def test_a_huge_empty_sparse_record_is_judged_as_a_wrong_type_without_making_it_dense(stereo):
    """A well-formed sparse record of 1 x (2^31 - 1) with no entries (what a densifying judge would turn into
    16 GB) ends as the student's wrong answer, in milliseconds."""
    import time

    import scipy.sparse as sp

    cases = make_cases(stereo, "disparity_to_depth", 5)
    arrays = {}
    wide = encode(sp.csr_matrix((1, 2**31 - 1)), arrays)
    start = time.perf_counter()
    msg = judge(stereo, "disparity_to_depth", cases, {"cases": [{"returned": wide}] * len(cases)}, arrays)
    assert "should return a NumPy array" in msg or "shape" in msg
    assert time.perf_counter() - start < 5


def test_hidden_inputs_differ_per_student_seed(stereo):
    a, b = make_cases(stereo, "census_cost", 1), make_cases(stereo, "census_cost", 2)
    assert a[0].args[0].shape != b[0].args[0].shape or not np.array_equal(a[0].args[0], b[0].args[0])
    assert checked_names('from autograder.hidden import check\ncheck("01_stereo", "sad_cost", sad_cost)',
                         "01_stereo") == ["sad_cost"]


@pytest.mark.parametrize("source, finding", [
    ("import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None", "replaces `np.testing.assert_allclose`"),
    ("import torch\ntorch.allclose = lambda *a: True", "replaces `torch.allclose`"),
    ("from elvkit import testing\ntesting.assert_close = print", "replaces `testing.assert_close`"),
    ("assert_true = lambda *a: None", "rebinds `assert_true`"),
    ("from autograder.hidden import check", "imports the grader"),
    ("import importlib\nimportlib.import_module('autograder.integrity.reference')", "imports the grader"),
    ("import sys\nsys.modules['elvkit.testing'] = None", "writes `sys.modules"),
    ("get_ipython().showtraceback = lambda *a, **k: None", "showtraceback"),
    ("get_ipython().set_custom_exc((Exception,), None)", "set_custom_exc"),
    ("import numpy as np\nsetattr(np, 'allclose', max)", "calls `setattr` on `np`"),
    ("class A:\n    def __eq__(self, other):\n        return True", "`__eq__`"),
])
def test_scan_finds_tampering(source, finding):
    found = scan([("q1", source)])
    assert any(finding in f for f in found), found


def test_scan_leaves_ordinary_code_alone():
    source = """
import numpy as np
import torch
torch.backends.cudnn.benchmark = True
np.set_printoptions(precision=3)
ok = np.allclose(np.ones(2), np.ones(2))
def helper(check=None):
    assert_close = 1
    return assert_close
class Pixel:
    def __eq__(self, other):
        return self.x == other.x
%matplotlib inline
"""
    assert scan([("q1", source)]) == []


def test_sandbox_hides_the_grader_and_the_network(tmp_path, stereo):
    ok, why = probe()
    if not ok:
        pytest.skip(why)
    work, conn = tmp_path / "work", tmp_path / "conn"
    work.mkdir()
    conn.mkdir()
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    from autograder.isolation.sandbox import secret_folders

    assert stereo.solution_dir.parent in secret_folders()
    probe_code = f"""
import os, socket
print("secret", os.path.exists({str(secret)!r}))
print("spec", os.path.exists({str(stereo.spec_path)!r}))
print("solutions", os.path.exists({str(stereo.solution_dir.parent)!r}))
open("mine.txt", "w").write("ok")
try:
    open("/usr/evil", "w")
    print("usr writable")
except OSError:
    print("usr read-only")
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("net yes")
except OSError:
    print("net no")
import elvkit, numpy
print("uid", os.getuid())
"""
    argv = bwrap_command(work, conn, environment={"PATH": "/usr/bin:/bin"}) + [sys.executable, "-c", probe_code]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert "secret False" in lines and "spec False" in lines and "solutions False" in lines
    assert "usr read-only" in lines and "net no" in lines and "uid 65534" in lines
    assert (work / "mine.txt").read_text() == "ok"


@pytest.mark.gpu
@pytest.mark.slow
def test_the_reference_grades_on_the_gpu_inside_the_sandbox(tmp_path, stereo):
    """CUDA inside bubblewrap: the NVIDIA devices are bound into the sandbox and the kernels use them."""
    import csv

    from autograder.course.classroom import reference_submission
    from autograder.cli import main
    from autograder.course.notebooks import write_notebook

    if not torch.cuda.is_available():
        pytest.skip("grading with --device cuda needs an NVIDIA GPU")
    ok, why = probe()
    if not ok:
        pytest.skip(why)
    nb = reference_submission(stereo)
    nb.cells.append(__import__("nbformat").v4.new_code_cell(
        "import torch\nassert torch.cuda.is_available()\nprint('DEVICE', elvkit.device())"))
    write_notebook(nb, tmp_path / "subs" / "gpu-student" / "stereo.ipynb")
    out = tmp_path / "out"
    assert main(["grade", "01_stereo", str(tmp_path / "subs"), "--out", str(out), "--jobs", "1", "--device", "cuda",
                 "--sandbox", "bwrap", "--no-progress"]) == 0
    row = next(csv.DictReader(open(out / "grades.csv")))
    assert (row["status"], float(row["score"])) == ("graded", 100.0), row["message"]
    executed = (out / "autograded" / "gpu-student" / "stereo.ipynb").read_text()
    assert "DEVICE cuda" in executed


def test_process_limit_without_a_cgroup_counts_from_what_the_user_runs():
    code = ("import resource\nfrom autograder.isolation.limits import _user_tasks, apply_limits\nbefore = _user_tasks()\n"
            "apply_limits(processes=7)\nsoft, hard = resource.getrlimit(resource.RLIMIT_NPROC)\n"
            "print(hard != resource.RLIM_INFINITY or before + 7 <= soft <= before + 7 + 50)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.slow
def test_hidden_tests_are_judged_with_relative_folders(tmp_path, monkeypatch, stereo):
    """`elv grade A subs --out results` from the course folder: the kernel still finds its hidden inputs."""
    import csv

    from autograder.course.classroom import reference_submission
    from autograder.cli import main
    from autograder.course.notebooks import write_notebook

    monkeypatch.chdir(tmp_path)
    write_notebook(reference_submission(stereo), tmp_path / "subs" / "alice" / "stereo.ipynb")
    assert main(["grade", "01_stereo", "subs", "--out", "results", "--jobs", "1", "--no-progress"]) == 0
    row = next(csv.DictReader(open(tmp_path / "results" / "grades.csv")))
    assert (row["status"], float(row["score"])) == ("graded", 100.0), row["flags"]
