import json

import nbformat
import numpy as np
import pytest

from autograder.hidden import HiddenTestFailure, _specs, check


def test_every_graded_function_has_a_spec_and_the_reference_passes(ref, stereo):
    from autograder.notebooks import read_source

    specs = _specs(stereo.id)
    for name in specs:
        check(stereo.id, name, getattr(ref, name))
    # each hidden test cell checks functions that have a spec
    for cell in read_source(stereo.source).cells:
        for name in __import__("re").findall(r'check\("01_stereo", "(\w+)"', cell.source):
            assert name in specs


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


def test_release_notebook_is_a_valid_blank_assignment(stereo):
    nb = nbformat.read(stereo.release_notebook, as_version=4)
    nbformat.validate(nb)
    text = stereo.release_notebook.read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "from autograder" not in text
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solution_cells) == 10
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


def test_mistakes_corpus_is_complete(stereo):
    from autograder.classroom import mistake_submission, mistakes

    corpus = mistakes(stereo)
    assert len(corpus) >= 8
    assert {m.question for m in corpus} >= {"q1", "q2", "q3", "q4", "q5"}
    for m in corpus:
        nb = mistake_submission(stereo, m)
        text = "\n".join(c.source for c in nb.cells)
        for fn in m.functions:
            assert f"def {fn}(" in text
