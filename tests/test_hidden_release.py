import json

import nbformat
import numpy as np
import pytest

from autograder.hidden import HiddenTestFailure, _specs, check


ASSIGNMENTS = ["01_stereo", "02_optical_flow"]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_every_graded_function_has_a_spec_and_the_reference_passes(assignment_id):
    import re

    from autograder.course import get_assignment
    from autograder.notebooks import read_source
    from autograder.reference import load

    from autograder.notebooks import HIDDEN_TESTS, marked_lines
    from autograder.replay import _base_namespace, _imports_source

    a, ref = get_assignment(assignment_id), load(assignment_id)
    specs = _specs(a.id)
    source = read_source(a.source)
    checked = set()
    for cell in source.cells:
        found = set(re.findall(rf'check\("{a.id}", "(\w+)"', cell.source))
        if not found:
            continue
        checked |= found
        # the cell's hidden region, run as the kernel runs it, on the reference's functions (judged in-process)
        hidden = "\n".join(line for line, inside in marked_lines(cell.source, HIDDEN_TESTS) if inside)
        ns = dict(_base_namespace(_imports_source(source)))
        ns.update({k: v for k, v in vars(ref).items() if not k.startswith("__")})
        exec(compile(hidden, cell.metadata["nbgrader"]["grade_id"], "exec"), ns)
    # each hidden test cell checks functions that have a spec, and every spec is used
    assert checked == set(specs)


def _hidden_regions(assignment_id):
    """grade_id -> the hidden region of each cell that checks something, and a namespace to run it in: the
    notebook's imports and the reference's functions, as a graded kernel of the reference would hold them."""
    import re

    from autograder.course import get_assignment
    from autograder.notebooks import HIDDEN_TESTS, marked_lines, read_source
    from autograder.reference import load
    from autograder.replay import _base_namespace, _imports_source

    a = get_assignment(assignment_id)
    source = read_source(a.source)
    ns = dict(_base_namespace(_imports_source(source)))
    ns.update({k: v for k, v in vars(load(a.id)).items() if not k.startswith("__")})
    regions = {}
    for cell in source.cells:
        if re.search(rf'check\("{a.id}", "e2e_', cell.source):
            regions[cell.metadata["nbgrader"]["grade_id"]] = "\n".join(
                line for line, inside in marked_lines(cell.source, HIDDEN_TESTS) if inside)
    return regions, ns


@pytest.mark.parametrize("assignment_id, seeds", [("01_stereo", 25), ("02_optical_flow", 4)])
def test_end_to_end_limits_leave_room_for_a_correct_pipeline(assignment_id, seeds, monkeypatch):
    """The end-to-end checks run on data drawn from each student's secret seed: the reference passes them on
    every seed tried (the specs' docstrings give the margins measured on more)."""
    regions, ns = _hidden_regions(assignment_id)
    assert regions, "the end-to-end cells check the student's pipeline on new data"
    for seed in range(1, seeds + 1):
        monkeypatch.setenv("ELVKIT_HIDDEN_SEED", str(1000 + seed))
        for gid, region in regions.items():
            if assignment_id == "02_optical_flow" and "e2e_optimise" in region and seed > 2:
                continue                            # 2 s a run: two seeds here, more in the spec's docstring
            exec(compile(region, gid, "exec"), dict(ns))


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
    spec = _specs(stereo.id)["census_cost"]
    from autograder.hidden import _seed

    a = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    b = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    np.testing.assert_array_equal(a[0].args[0], b[0].args[0])
    monkeypatch.setenv("ELVKIT_HIDDEN_SEED", "17")
    c = spec.cases(np.random.default_rng(_seed(stereo.id, "census_cost")))
    assert a[0].args[0].shape != c[0].args[0].shape or not np.array_equal(a[0].args[0], c[0].args[0])


def test_committed_release_is_fresh_and_leaks_nothing():
    from autograder.release import check_release

    problems = check_release()
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("assignment_id, n_solution_cells", [("01_stereo", 10), ("02_optical_flow", 12)])
def test_release_notebook_is_a_valid_blank_assignment(assignment_id, n_solution_cells):
    from autograder.course import get_assignment

    a = get_assignment(assignment_id)
    nb = nbformat.read(a.release_notebook, as_version=4)
    nbformat.validate(nb)
    text = a.release_notebook.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "from autograder" not in text
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solution_cells) == n_solution_cells
    for cell in solution_cells:
        assert "raise NotImplementedError()" in cell.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert sum(float(c.metadata["nbgrader"]["points"]) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade")) == 100
    assert len(grade_ids) == len(set(grade_ids))


def test_leak_scan_catches_solution_code(stereo):
    from autograder.release import build_release, leaks

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
    from autograder.release import check_release

    root = tmp_path / "course"
    shutil.copytree(course.root() / "solutions", root / "solutions", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(course.root() / "assignments", root / "assignments")
    monkeypatch.setenv("ELVKIT_COURSE_ROOT", str(root))
    course._scan.cache_clear()
    try:
        src = root / "solutions" / "01_stereo" / "stereo.nb.py"
        src.write_text(src.read_text().replace("Two cameras side by side", "Two cameras, side by side,"))
        problems = check_release()
        assert any("differs from a fresh build" in str(p) for p in problems)
        (root / "assignments" / "99_ghost").mkdir()
        assert any("without a solution script" in str(p) for p in check_release())
    finally:
        course._scan.cache_clear()


@pytest.mark.parametrize("assignment_id, questions", [("01_stereo", {"q1", "q2", "q3", "q4", "q5"}),
                                                      ("02_optical_flow", {"q2", "q3", "q4", "q5", "q6"})])
def test_mistakes_corpus_is_complete(assignment_id, questions):
    from autograder.classroom import mistake_submission, mistakes
    from autograder.course import get_assignment

    a = get_assignment(assignment_id)
    corpus = mistakes(a)
    assert len(corpus) >= 8
    assert {m.question for m in corpus} >= questions
    for m in corpus:
        nb = mistake_submission(a, m)
        text = "\n".join(c.source for c in nb.cells)
        for fn in m.functions:
            assert f"def {fn}(" in text


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

    def almost(fw, bw, alpha=3.0, beta=0.05):
        mask = flow_ref.forward_backward_mask(fw, bw, alpha, beta).clone()
        mask.view(-1)[0] = ~mask.view(-1)[0]          # one pixel decided the other way
        return mask

    check("02_optical_flow", "forward_backward_mask", almost)

    def l1(fw, bw, alpha=3.0, beta=0.05):
        b_at = flow_ref.backward_warp(bw.permute(2, 0, 1), fw).permute(1, 2, 0)
        return (fw + b_at).abs().sum(-1) < torch.clamp(beta * fw.abs().sum(-1), min=alpha)

    with pytest.raises(HiddenTestFailure, match="forward_backward_mask"):
        check("02_optical_flow", "forward_backward_mask", l1)
