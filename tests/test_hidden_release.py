"""Hidden tests judged by hand (an instructor's run): what a failure says, types and devices, tuples and
accuracy, threshold decisions; the leak scan and the stale-release check. The guarantees every assignment
gives are in test_assignments.py."""

import json

import nbformat
import numpy as np
import pytest

from autograder.hidden import check
from autograder.integrity.specs import HiddenTestFailure, specs


def test_hidden_failure_says_what_differs_without_source(ref):
    def shifted(left, right, max_disp, window=5):
        return np.roll(ref.sad_cost(left, right, max_disp, window), 1, axis=2)

    with pytest.raises(HiddenTestFailure) as info:
        check("01_stereo", "sad_cost", shifted)
    msg = str(info.value)
    assert "`sad_cost` differs from the reference on hidden case 1" in msg and "window=" in msg
    assert "_cost_cases" not in msg and "def " not in msg


def test_hidden_checks_type_device_and_crashes(ref):
    def numpy_only(cost, P1, P2, directions=4):
        return np.asarray(ref.aggregate_sgm(np.asarray(cost.cpu() if hasattr(cost, "cpu") else cost), P1, P2, directions))

    with pytest.raises(HiddenTestFailure, match="should return a torch tensor"):
        check("01_stereo", "aggregate_sgm", numpy_only)

    def crash(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    with pytest.raises(HiddenTestFailure, match="raised IndexError: index 7"):
        check("01_stereo", "winner_take_all", crash)

    def unfinished(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(HiddenTestFailure, match="not implemented yet"):
        check("01_stereo", "winner_take_all", unfinished)


def test_hidden_inputs_are_seeded(monkeypatch, stereo):
    spec = specs(stereo)["census_cost"]
    from autograder.integrity.specs import _seed

    a = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    b = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    np.testing.assert_array_equal(a[0].args[0], b[0].args[0])
    monkeypatch.setenv("ELVKIT_HIDDEN_SEED", "17")
    c = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    assert a[0].args[0].shape != c[0].args[0].shape or not np.array_equal(a[0].args[0], c[0].args[0])


def test_leak_scan_catches_solution_code(stereo):
    from autograder.course.release import build_release, leaks

    built = build_release(stereo)
    files = dict(built.files)
    nb = json.loads(files["stereo.ipynb"])
    # a release that kept one line of the reference's SGM
    nb["cells"][5]["source"] = ["best = torch.minimum(L_prev, m + P2)\n"]
    files["stereo.ipynb"] = json.dumps(nb).encode()
    files["helpers.py"] = b"### BEGIN SOLUTION\nx = 1\n"
    found = leaks(files, built.secrets, stereo.id)
    assert any("helpers.py" in str(p) and "BEGIN SOLUTION" in str(p) for p in found)
    assert any("stereo.ipynb" in str(p) and "solution or hidden-test code" in str(p) for p in found)


def test_release_check_reports_a_stale_release(tmp_path, monkeypatch, stereo):
    import shutil

    from autograder import course
    from autograder.course import rescan
    from autograder.course.release import check_release

    root = tmp_path / "course"
    shutil.copytree(course.root() / "solutions", root / "solutions", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(course.root() / "assignments", root / "assignments")
    monkeypatch.setenv("ELVKIT_COURSE_ROOT", str(root))
    rescan()
    try:
        src = root / "solutions" / "01_stereo" / "stereo.nb.py"
        src.write_text(src.read_text().replace("Two cameras side by side", "Two cameras, side by side,"))
        problems = check_release()
        assert any("differs from a fresh build" in str(p) for p in problems)
        (root / "assignments" / "99_ghost").mkdir()
        assert any("without a solution script" in str(p) for p in check_release())
    finally:
        rescan()


def test_hidden_checks_of_tuples_and_of_accuracy(flow_ref):
    def two_results(I1, I2):
        return flow_ref.image_gradients(I1, I2)[:2]

    with pytest.raises(HiddenTestFailure, match="should return 3 results"):
        check("02_optical_flow", "image_gradients", two_results)

    def swapped(I1, I2):
        Ix, Iy, It = flow_ref.image_gradients(I1, I2)
        return Iy, Ix, It

    with pytest.raises(HiddenTestFailure, match="result 0 of 3"):
        check("02_optical_flow", "image_gradients", swapped)

    def no_motion(I1, I2, **kwargs):
        return np.zeros(np.shape(I1) + (2,), np.float32)

    with pytest.raises(HiddenTestFailure, match="average endpoint error is .* px; the reference reaches"):
        check("02_optical_flow", "pyramidal_lk", no_motion)

    def one_level(I1, I2, **kwargs):          # a weaker but sound method still passes on the affine pair?
        return flow_ref.pyramidal_lk(I1, I2, levels=1)

    with pytest.raises(HiddenTestFailure, match="hidden case 1 of 2"):
        check("02_optical_flow", "pyramidal_lk", one_level)


def test_threshold_decisions_may_differ_on_a_few_pixels(flow_ref):
    import torch

    def almost(fw, bw, tau=3.0, beta=0.05):
        mask = flow_ref.forward_backward_mask(fw, bw, tau, beta).clone()
        mask.view(-1)[0] = ~mask.view(-1)[0]          # one pixel decided the other way
        return mask

    check("02_optical_flow", "forward_backward_mask", almost)

    def l1(fw, bw, tau=3.0, beta=0.05):
        b_at = flow_ref.backward_warp(bw.permute(2, 0, 1), fw).permute(1, 2, 0)
        return (fw + b_at).abs().sum(-1) < torch.clamp(beta * fw.abs().sum(-1), min=tau)

    with pytest.raises(HiddenTestFailure, match="forward_backward_mask"):
        check("02_optical_flow", "forward_backward_mask", l1)
