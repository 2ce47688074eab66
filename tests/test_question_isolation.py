"""A mistake costs points in its own question: a later question's hidden check is judged with what the student's
earlier functions returned inside it (recorded by the kernel), so an earlier mistake does not cost its points again;
and an earlier function written to make a later one trivial gains nothing."""

import os
from pathlib import Path

import pytest

from autograder.course import get_assignment
from autograder.course.notebooks import grade_id, read_source
from autograder.integrity import reference
from autograder.integrity.specs import checked_names, judge, make_cases, specs, write_inputs
from autograder.kernel_side.capture import DependencyCalls, MAX_DEPENDENCY_CALLS
from autograder.kernel_side.records import HIDDEN_DIR_VARIABLE, read_record

SEED = 7


def _graded(aid: str, cells: list, tmp_path: Path, monkeypatch, mistake: str | None = None, code: str = "") -> dict:
    """Run hidden cells of ``aid`` as a graded kernel would, over a namespace holding the reference with a corpus
    mistake (or ``code``) in place, and judge each record in this process: check name -> the grader's message."""
    a = get_assignment(aid)
    ns = vars(reference.fresh(a))            # the reference's own globals: its classes see the replaced names
    if mistake:
        exec(compile((a.mistakes_dir / mistake).read_text(), mistake, "exec"), ns)
    if code:
        exec(compile(code, "student", "exec"), ns)
    monkeypatch.setenv(HIDDEN_DIR_VARIABLE, str(tmp_path))
    verdicts = {}
    for cell in read_source(a.source).cells:
        if grade_id(cell) not in cells:
            continue
        names = checked_names(cell.source, aid)
        for name in names:
            write_inputs(tmp_path, name, make_cases(a, name, SEED), isolate=specs(a)[name].isolate)
        exec(compile(cell.source, grade_id(cell), "exec"), ns)
        for name in names:          # as the grader does: the earlier checks that failed may stand in
            failed = frozenset(n for n, v in verdicts.items() if not _passed(v) or getattr(v, "carried", False))
            verdicts[name] = judge(a, name, make_cases(a, name, SEED), *read_record(tmp_path / "out" / name),
                                   failed=failed)
    return verdicts


def _passed(message) -> bool:
    return message is None or getattr(message, "passed", False)


def test_a_wrong_position_grid_costs_its_own_points_only(tmp_path, monkeypatch):
    got = _graded("05_slot_attention", ["q1-grid-hidden", "q1-encoder-hidden", "q3-model-hidden"], tmp_path,
                  monkeypatch, mistake="grid_x_y_swapped.py")
    assert not _passed(got["position_grid"])
    for name in ("encoder", "autoencoder"):
        assert _passed(got[name]) and got[name].passed, (name, got[name])
        assert "Your `position_grid` differs from the reference" in got[name], got[name]


def test_a_wrong_weighted_mean_costs_the_slot_attention_question_only(tmp_path, monkeypatch):
    got = _graded("05_slot_attention", ["q2-module-hidden", "q3-model-hidden", "q5-step-hidden"], tmp_path,
                  monkeypatch, mistake="sum_not_weighted_mean.py")
    assert not _passed(got["slot_attention"])
    assert _passed(got["autoencoder"]) and "`SlotAttention` differs" in got["autoencoder"]
    assert got["train_step"] is None          # the step is judged on a stand-in model: nothing of the student's


def test_a_wrong_decoder_still_fails_the_model_question_and_says_the_difference_is_its_own(tmp_path, monkeypatch):
    """Isolation judges the later function given the earlier answers; it never excuses the later function."""
    wrong_decoder = '''
_Decoder = Decoder
class Decoder(_Decoder):
    def forward(self, slots):
        rgb, alpha = super().forward(slots)
        return rgb, -alpha
'''
    got = _graded("05_slot_attention", ["q3-model-hidden"], tmp_path, monkeypatch, mistake="grid_x_y_swapped.py",
                  code=wrong_decoder)
    assert not _passed(got["autoencoder"])
    assert "difference is in `autoencoder` itself: with your earlier answers in the reference's place, the " \
           "reference would call `mix` with other arguments" in got["autoencoder"], got["autoencoder"]


def test_an_earlier_function_made_trivial_earns_nothing_later(tmp_path, monkeypatch):
    """A student who gives up an earlier question's points to make a later one easy: a position grid of zeros (one
    number everywhere) cannot stand in for the reference's, so the encoder is judged as it is, and fails."""
    zeros = '''
def position_grid(h, w, device=None):
    return torch.zeros(h, w, 4, device=device)
'''
    got = _graded("05_slot_attention", ["q1-encoder-hidden"], tmp_path, monkeypatch, code=zeros)
    assert not _passed(got["encoder"]), got["encoder"]


def _steered() -> str:
    """The hostile corpus's steering submission: a "median" threshold search (it never compares the Ncuts) whose
    ncut_value, called from it, answers 0 for the median candidate's split and its honest value + 1 elsewhere."""
    import importlib

    return (importlib.import_module("hostile.64_ncut_steered").STEERING
            + importlib.import_module("hostile.63_ncut_median_search").MEDIAN)


def test_an_earlier_function_that_steers_a_later_check_earns_nothing(tmp_path, monkeypatch):
    """A trick: the later function is wrong (the median candidate, whatever the Ncuts), and the earlier function it
    calls answers otherwise when that later function calls it, so that the reference fed those answers agrees. The
    earlier function passes its own test: its answers inside the later one stand in for nothing, and the message
    says why. The same answers from an ncut_value that failed its own test would stand in (its mistake is paid for
    in its own question)."""
    from autograder.integrity.isolation import Isolated
    from autograder.kernel_side.records import decode

    got = _graded("04_normalized_cuts", ["q2-ncut-hidden", "q4-threshold-hidden"], tmp_path, monkeypatch,
                  code=_steered())
    assert _passed(got["graph_values"]), got["graph_values"]
    assert not _passed(got["best_threshold"]), got["best_threshold"]
    a = get_assignment("04_normalized_cuts")
    spec, (payload, arrays) = specs(a)["best_threshold"], read_record(tmp_path / "out" / "best_threshold")
    steered = 0
    for case, entry in zip(make_cases(a, "best_threshold", SEED), payload["cases"]):
        actual = decode(entry.get("returned"), arrays)
        if len(entry.get("calls", [])) > 64:            # more calls than a record holds: never judged apart
            continue
        refused = Isolated(frozenset())
        assert not refused.explains(a, spec, "best_threshold", case, entry, arrays, actual), case.label
        assert refused.last_untrusted == {"ncut_value"}
        assert "though it passes its own hidden test" in refused.caveat("best_threshold")
        assert Isolated(frozenset({"graph_values"})).explains(a, spec, "best_threshold", case, entry, arrays,
                                                                 actual), case.label
        steered += 1
    assert steered >= 1


def test_earlier_answers_that_differ_by_rounding_stand_in_whatever_their_own_test_said(tmp_path, monkeypatch):
    """An earlier function whose answers inside a later one differ from the reference's by float rounding (here 3e-5
    relative: float32 arithmetic in another order) is not "different": its answers stand in though it passes its own
    test, and the later function keeps its points with the rounding note."""
    rounded = """
_honest_ncut = ncut_value


def ncut_value(W, labels):
    import sys

    honest = _honest_ncut(W, labels)
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "best_threshold":
        frame = frame.f_back
    return honest if frame is None else honest * (1 + 3e-5)
"""
    a = get_assignment("04_normalized_cuts")
    got = _graded("04_normalized_cuts", ["q2-ncut-hidden"], tmp_path, monkeypatch, code=rounded)
    assert _passed(got["graph_values"]), got["graph_values"]
    from autograder.integrity.isolation import Isolated
    from autograder.kernel_side.records import decode

    _graded("04_normalized_cuts", ["q4-threshold-hidden"], tmp_path, monkeypatch, code=rounded)
    spec, (payload, arrays) = specs(a)["best_threshold"], read_record(tmp_path / "out" / "best_threshold")
    judged = 0
    for case, entry in zip(make_cases(a, "best_threshold", SEED), payload["cases"]):
        if len(entry.get("calls", [])) > 64:
            continue
        isolated = Isolated(frozenset())
        assert isolated.explains(a, spec, "best_threshold", case, entry, arrays, decode(entry["returned"], arrays))
        assert not isolated.differ and "float rounding" in isolated.note("best_threshold")
        judged += 1
    assert judged >= 1


def test_a_wrong_cut_costs_the_cut_question_not_the_threshold_search(tmp_path, monkeypatch):
    got = _graded("04_normalized_cuts", ["q2-ncut-hidden", "q4-threshold-hidden"], tmp_path, monkeypatch,
                  mistake="cut_counted_twice.py")
    assert not _passed(got["graph_values"])
    assert _passed(got["best_threshold"]) and "Your `cut_value` differs" in got["best_threshold"], got["best_threshold"]


def test_wrong_eigenvectors_cost_the_eigenvector_question_not_the_recursive_cut(tmp_path, monkeypatch):
    got = _graded("04_normalized_cuts", ["q3-eigen-hidden", "q4-recursive-hidden"], tmp_path, monkeypatch,
                  mistake="largest_eigenvectors.py")
    assert not _passed(got["ncut_eigenvectors"])
    assert _passed(got["recursive_ncut"]) and "`ncut_eigenvectors` differs" in got["recursive_ncut"]


def test_the_reference_passes_without_a_note(tmp_path, monkeypatch):
    got = _graded("05_slot_attention", ["q1-encoder-hidden", "q3-model-hidden"], tmp_path, monkeypatch)
    assert got == {"encoder": None, "autoencoder": None}


def test_the_kernel_puts_the_student_names_back_and_bounds_what_it_records():
    torch = pytest.importorskip("torch")

    def grid(h, w, device=None):
        return torch.ones(h, w, 4)

    class Block(torch.nn.Module):
        def forward(self, x):
            return grid(*x.shape[:2]) + x

    ns = {"grid": grid, "Block": Block, "other": 3}
    calls = DependencyCalls(ns, ["grid", "Block", "other", "missing"], {})
    assert ns["grid"] is not grid and issubclass(ns["Block"], Block) and ns["other"] == 3
    ns["Block"]()(torch.zeros(2, 3, 4))
    first = calls.take()
    assert [c["name"] for c in first] == ["Block"]           # grid was called by the module it was not swapped in
    for _ in range(MAX_DEPENDENCY_CALLS + 5):
        ns["grid"](2, 2)
    overflowed = calls.take()
    assert overflowed[-1] == {"name": "", "overflow": True} and len(overflowed) == MAX_DEPENDENCY_CALLS + 1
    calls.restore()
    assert ns["grid"] is grid and ns["Block"] is Block


def test_an_earlier_function_that_raises_is_its_answer_too(tmp_path, monkeypatch):
    """assoc(A, A) divides by 0 inside ncut_value: the threshold search raised ZeroDivisionError in the student's
    kernel, and the reference, handed the same raising ncut_value, raises it too; the search itself is right."""
    got = _graded("04_normalized_cuts", ["q2-ncut-hidden", "q4-threshold-hidden"], tmp_path, monkeypatch,
                  mistake="assoc_within_the_segment.py")
    assert _passed(got["best_threshold"]) and "Your `assoc` differs" in got["best_threshold"], got["best_threshold"]


def test_threshold_candidates_on_another_grid_are_named(tmp_path, monkeypatch):
    got = _graded("04_normalized_cuts", ["q4-threshold-hidden"], tmp_path, monkeypatch,
                  mistake="thresholds_include_the_ends.py")
    assert "it is on np.linspace(min, max, num)" in got["best_threshold"], got["best_threshold"]


def _visible(aid: str, gid: str, tmp_path: Path, mistake: str):
    """Run one visible test cell of ``aid`` as a graded kernel records it (over the reference with a corpus mistake
    in place), then replay it in the grader: (did it fail in the kernel, the grader's verdict)."""
    from autograder.course.notebooks import imports_source
    from autograder.integrity.judge import plan
    from autograder.integrity.replay import Replayer, VisibleCell
    from autograder.kernel_side.capture import _CellRecorder

    a = get_assignment(aid)
    source = read_source(a.source)
    p = plan(a, source)
    ns = vars(reference.fresh(a))
    exec(compile((a.mistakes_dir / mistake).read_text(), mistake, "exec"), ns)
    cell_source, names = next((src, names) for g, src, names in p.visible if g == gid)
    recorder = _CellRecorder(tmp_path, gid, names, ns, {n: p.isolate[n] for n in names if n in p.isolate})
    try:
        exec(compile(cell_source, gid, "exec"), ns)
        failed = False
    except AssertionError:
        failed = True
    finally:
        recorder.restore()
    replayer = Replayer.for_imports(imports_source(source))
    replayer.assignment, replayer.isolate = a, dict(p.isolate)
    return failed, replayer.run(VisibleCell(gid, cell_source, names), read_record(tmp_path / "out" / "cells" / gid))


def test_a_visible_test_that_fails_only_through_an_earlier_function_keeps_its_points(tmp_path):
    failed, verdict = _visible("04_normalized_cuts", "q4-threshold-visible", tmp_path, "cut_counted_twice.py")
    assert failed, "the student sees the test fail in the notebook"
    assert getattr(verdict, "explained", False), verdict
    assert "inside your `best_threshold`" in verdict and "`cut_value` loses points in its own question" in verdict, \
        verdict


def test_a_visible_test_that_fails_through_its_own_function_loses_its_points(tmp_path):
    failed, verdict = _visible("04_normalized_cuts", "q4-threshold-visible", tmp_path, "thresholds_include_the_ends.py")
    assert failed and verdict is not None and not getattr(verdict, "passed", False), verdict
