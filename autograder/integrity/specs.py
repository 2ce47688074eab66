"""Hidden tests, the grader's side: the student's function against the reference, on inputs the grader
chooses.

A notebook's hidden test cell calls ``autograder.hidden.check("01_stereo", "census_cost", census_cost)``.
The inputs, the comparison rules and the tolerances of each checked function live in the assignment's
spec, ``solutions/<id>/spec.py``, which defines ``SPECS = {"census_cost": Spec(...), ...}``. The
reference answer comes from :mod:`autograder.integrity.reference`.

Under the grader, the score is never decided in the student's kernel: the grader makes the inputs
(:func:`make_cases`, seeded per student) and writes them next to the notebook (:func:`write_inputs`);
``check`` in the kernel only records what the student's function returns
(:mod:`autograder.kernel_side.capture`); the grader then computes the reference in its own process and
compares (:func:`judge`): type, dtype and shape strictly first, then the tolerances. Run by hand (an
instructor running the solution notebook), ``check`` does all of this in one process
(:func:`self_check`), with the seed of ``ELVKIT_HIDDEN_SEED`` or 0.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from elvkit.testing import StudentCheckError, assert_close

from ..course import Assignment, get_assignment
from ..kernel_side.capture import call_cases
from ..kernel_side.records import Other, decode, encode, write_record
from . import reference

__all__ = ["Case", "Spec", "HiddenTestFailure", "ForReview", "Verdict", "specs", "checked_names", "make_cases", "write_inputs", "judge",
           "self_check", "axis_names", "spec_module", "Passed"]


class ForReview(StudentCheckError):
    """A check that failed in a way no honest mistake explains (a forward pass that is not what its recorded
    weights compute, representations that know the labels): the cell scores 0 and the submission is flagged for a
    person to look at."""


class Verdict(str):
    """The message of a failed hidden check; ``review`` when it asks a person to look (:class:`ForReview`);
    ``untrusted``: earlier functions that passed their own checks yet answered otherwise inside this one."""

    review = False
    passed = False
    untrusted: list = []
    carried = False     # passed only judged with an earlier function's different answers


class Passed(Verdict):
    """A hidden check that passed, with a note for the student: it was judged with what the student's earlier
    functions returned inside it (their own questions judge them)."""

    passed = True


class PassedNote(Exception):
    """Raised by a spec's ``compare``: the case passes, and the student reads this note (a part judged apart from a
    mistake that another cell takes points for). Not a StudentCheckError: nothing failed."""


class HiddenTestFailure(AssertionError):
    """A hidden test failed; the message says what differed, never the test's source."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


@dataclass
class Case:
    """One hidden input: positional and keyword arguments, a description, what to compare."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    region: np.ndarray | None = None     # compare only where True (same shape as the output)
    returns: str = "any"                 # "numpy", "torch", "same" (type of the first argument), "any"
    truth: object = None                 # ground truth for a Spec.compare that scores accuracy


@dataclass
class Spec:
    """How to test one function: ``cases(rng)`` makes the inputs; tolerances compare outputs."""

    cases: Callable[[np.random.Generator], list]
    rtol: float = 1e-5
    atol: float = 1e-6
    hint: str = ""
    #: fraction of the compared values allowed to differ (threshold decisions that float rounding may flip)
    max_mismatch: float = 0.0
    #: ``compare(actual, expected, case)`` raising StudentCheckError, instead of the elementwise comparison
    #: (for methods judged by their accuracy against ``case.truth`` rather than by their exact output)
    compare: Callable | None = None
    #: the reference function whose output is ``expected``: the spec's own name when "", none (``expected``
    #: is None) for end-to-end checks judged against ground truth alone
    reference: str | None = ""
    #: names of the result's axes, for messages: ("disparity d", "row y", "column x")
    axes: tuple = ()
    #: the earlier functions (or ``nn.Module`` classes) of the notebook that the function under test calls and
    #: that other questions judge: the kernel records what they returned during this check, and a case that fails
    #: is judged again with those answers in the reference's place (a mistake costs points in its own question)
    isolate: tuple = ()


def spec_module(a: Assignment):
    """The spec module of ``a`` (``solutions/<id>/spec.py``), loaded once per version of the file; None when
    the assignment has none. Besides ``SPECS`` it may define ``TRIALS`` (function name -> how many secret
    seeds the test suite tries an end-to-end check on)."""
    path = a.spec_path
    return _load_module(a.id, str(path), path.stat().st_mtime_ns if path.is_file() else 0)


def specs(a: Assignment) -> dict:
    """The hidden-test specs of ``a``: function name -> :class:`Spec`, from ``solutions/<id>/spec.py`` (loaded
    once per version of the file; an assignment without one has none).

    Raises
    ------
    ValueError
        When the spec file defines no ``SPECS`` dict.
    """
    module = spec_module(a)
    if module is None:
        return {}
    found = getattr(module, "SPECS", None)
    if not isinstance(found, dict):
        raise ValueError(f"{a.spec_path} must define SPECS = {{function name: Spec(...)}}; got {type(found).__name__}.")
    return found


@lru_cache(maxsize=None)
def _load_module(assignment_id: str, path: str, mtime_ns: int):
    """A spec file executed as a module (cached by its modification time)."""
    if not mtime_ns:
        return None
    spec = importlib.util.spec_from_file_location(f"elv_spec_{assignment_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(assignment_id: str, name: str, base: int | None = None) -> int:
    """The seed of one function's hidden inputs: the student's ``base`` (``ELVKIT_HIDDEN_SEED`` or 0 when
    None) mixed with the assignment and the function's name."""
    if base is None:
        base = int(os.environ.get("ELVKIT_HIDDEN_SEED", "0"))
    return (base * 1_000_003 + sum(ord(c) * 31 ** i for i, c in enumerate(f"{assignment_id}/{name}"))) % 2**32


def checked_names(source: str, assignment_id: str) -> list[str]:
    """The functions a hidden test cell's ``source`` checks: the names of its
    ``check("<assignment_id>", "<name>", ...)`` calls, in order ([] for a cell that does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check" \
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2]) \
                and node.args[0].value == assignment_id:
            names.append(node.args[1].value)
    return names


def make_cases(a: Assignment, name: str, base_seed: int | None = None) -> list:
    """The hidden inputs (a list of :class:`Case`) of the function ``name`` of ``a``, seeded by ``base_seed``
    (one per student under the grader).

    Raises
    ------
    KeyError
        When the spec of ``a`` has no entry for ``name``.
    """
    found = specs(a)
    if name not in found:
        raise KeyError(f"no hidden-test spec for {name!r} in solutions/{a.id}/spec.py")
    return found[name].cases(np.random.default_rng(_seed(a.id, name, base_seed)))


def _encode_cases(cases: list) -> tuple[list, dict]:
    """Cases as the record format holds them: (entries, arrays)."""
    arrays: dict = {}
    encoded = [{"args": [encode(a, arrays) for a in c.args],
                "kwargs": {k: encode(v, arrays) for k, v in c.kwargs.items()}} for c in cases]
    return encoded, arrays


def write_inputs(folder: Path, name: str, cases: list, isolate=()) -> None:
    """The inputs of ``cases`` as the kernel reads them (``folder/in/<name>.json`` and ``.npz``), with the names of
    the earlier functions whose calls the kernel records during the check (:attr:`Spec.isolate`)."""
    encoded, arrays = _encode_cases(cases)
    payload = {"cases": encoded}
    if isolate:
        payload["isolate"] = [str(n) for n in isolate]
    write_record(Path(folder) / "in" / name, payload, arrays)


def _where(i: int, cases: list, case: Case) -> str:
    """Which hidden case, in words."""
    return f"hidden case {i} of {len(cases)} ({case.label})" if case.label else f"hidden case {i} of {len(cases)}"


def judge(a: Assignment, name: str, cases: list, payload: dict, arrays: dict, failed=None) -> str | None:
    """Compare a recorded run (``payload`` and ``arrays``, as :func:`autograder.kernel_side.records.parse_record`
    returns them) of the student's function ``name`` on ``cases`` with the reference of ``a``, in this process.

    Returns None when every case matches, else the message for the student (which kind of input failed and
    how; never the test's source). ``failed``: the names of the hidden checks that failed earlier in the same
    notebook (or passed carrying an earlier function's different answers), for a case judged again with the
    student's earlier answers (see :func:`autograder.integrity.isolation.untrusted`); None judges without them (a
    check run by hand).

    Raises
    ------
    RecordError
        For a returned value that is not one the kernel's recorder writes (a forged or damaged record).
    """
    spec: Spec = specs(a)[name]
    if "not_callable" in payload:
        return f"`{name}` is not a function (got {str(payload['not_callable'])[:80]})."
    entries = payload.get("cases")
    if not isinstance(entries, list) or len(entries) != len(cases):
        return f"`{name}`: the record of its hidden cases is incomplete (the kernel stopped or it was altered)."
    ref_name = name if spec.reference == "" else spec.reference
    ref_fn = getattr(reference.load(a), ref_name) if ref_name else None
    from .isolation import Isolated

    isolated = Isolated(failed)
    notes = []
    for i, (case, entry) in enumerate(zip(cases, entries), start=1):
        where = _where(i, cases, case)
        if not isinstance(entry, dict):
            return f"`{name}`: the record of {where} is unreadable."
        if "error" in entry:
            error = str(entry["error"])[:80]
            if error == "NotImplementedError":
                return f"`{name}` is not implemented yet."
            if isolated.explains(a, spec, ref_name, case, entry, arrays):
                continue
            verdict = Verdict(f"`{name}` raised {error}: {str(entry.get('message', ''))[:400]}\n(on {where})"
                              + isolated.caveat(name))
            verdict.untrusted = sorted(isolated.last_untrusted)
            return verdict
        actual = decode(entry.get("returned"), arrays)      # RecordError: a forged or damaged record
        expected = None if ref_fn is None else ref_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        problem = _type_problem(actual, entry.get("returned"), case)
        if problem:
            return f"`{name}` {problem}\n(on {where})"
        try:
            _compare(actual, expected, case, spec)
        except PassedNote as note:
            if str(note) not in notes:
                notes.append(str(note))
            continue
        except StudentCheckError as exc:
            if not isinstance(exc, ForReview) and isolated.explains(a, spec, ref_name, case, entry, arrays, actual):
                continue
            judged = "differs from the reference" if ref_fn is not None else "falls short"
            verdict = Verdict(f"`{name}` {judged} on {where}:\n{exc}" + isolated.caveat(name))
            verdict.review = isinstance(exc, ForReview)
            verdict.untrusted = sorted(isolated.last_untrusted)
            return verdict
    if notes:
        return Passed(f"`{name}` passed every hidden case: " + "; ".join(notes) + ".")
    return isolated.note(name)


def self_check(assignment_id: str, name: str, student_fn) -> None:
    """Run the hidden cases of ``name`` on ``student_fn`` and judge them, all in this process (what
    ``autograder.hidden.check`` does when no grader runs the notebook).

    Raises
    ------
    HiddenTestFailure
        With a message that says which kind of input failed and how.
    """
    import elvkit

    a = get_assignment(assignment_id)
    cases = make_cases(a, name)
    if not callable(student_fn):
        raise HiddenTestFailure(f"`{name}` is not a function (got {type(student_fn).__name__}).")
    encoded, arrays_in = _encode_cases(cases)
    arrays_out: dict = {}
    entries = call_cases(student_fn, encoded, arrays_in, arrays_out, device=elvkit.device())
    message = judge(a, name, cases, {"cases": entries}, arrays_out)
    if message and not getattr(message, "passed", False):
        raise HiddenTestFailure(message)


def _type_label(x) -> str:
    return x.type_name if isinstance(x, Other) else type(x).__name__


def _type_problem(actual, record, case: Case) -> str | None:
    import torch

    if isinstance(actual, Other):
        return f"should return numbers (an array or a tensor); got a {actual.type_name}"
    first = case.args[0] if case.args else None
    want = case.returns
    if want == "same":
        want = "torch" if torch.is_tensor(first) else "numpy"
    if want == "numpy" and not isinstance(actual, np.ndarray):
        return f"should return a NumPy array for NumPy input; got {_type_label(actual)}"
    if want == "torch":
        if not torch.is_tensor(actual):
            return f"should return a torch tensor for tensor input; got {_type_label(actual)}"
        got = str(record.get("device", "cpu")) if isinstance(record, dict) else "cpu"
        if torch.is_tensor(first) and got.split(":")[0] != first.device.type:
            return f"should return its result on the input's device ({first.device.type}); got {got}"
    return None


def _compare(actual, expected, case: Case, spec: Spec) -> None:
    if actual is None:
        raise StudentCheckError("it returned None (a missing `return`?)")
    if spec.compare is not None:
        spec.compare(actual, expected, case)
        return
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            got = f"a {type(actual).__name__} of {len(actual)}" if isinstance(actual, (tuple, list)) \
                else type(actual).__name__
            raise StudentCheckError(f"it should return {len(expected)} results (a tuple or list); got {got}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            try:
                _compare_one(a, e, case, spec)
            except StudentCheckError as exc:
                raise StudentCheckError(f"result {i} of {len(expected)}: {exc}") from None
        return
    _compare_one(actual, expected, case, spec)


def _compare_one(actual, expected, case: Case, spec: Spec) -> None:
    from elvkit import to_numpy
    from elvkit.testing import _close

    if actual is None:
        raise StudentCheckError("it returned None (a missing `return`?)")
    if isinstance(actual, Other):
        raise StudentCheckError(f"the result is a {actual.type_name}, not numbers")
    a = np.asarray(to_numpy(actual))
    e = np.asarray(to_numpy(expected))
    if a.shape != e.shape:
        hint = " (the same sizes in another order: transposed axes?)" if sorted(a.shape) == sorted(e.shape) else ""
        raise StudentCheckError(f"the result has shape {a.shape}, expected {e.shape}{hint}")
    if _is_array(actual) and _is_array(expected) and a.dtype != e.dtype \
            and not (a.dtype.kind in "iu" and e.dtype.kind in "iu"):     # integer widths may differ
        raise StudentCheckError(f"the result has dtype {_dtype_name(actual)}, expected {_dtype_name(expected)}")
    if a.dtype == object:
        raise StudentCheckError("the result holds Python objects, not numbers")
    region = case.region if case.region is not None and case.region.shape == a.shape else None
    if e.dtype.kind == "b" and a.dtype.kind != "b":
        raise StudentCheckError(f"the result should be a boolean mask; got dtype {a.dtype}")
    exact = e.dtype.kind in "iub"           # integers and masks compare exactly
    rtol, atol = (0.0, 0.0) if exact else (spec.rtol, spec.atol)
    if spec.max_mismatch and a.size and a.dtype.kind in "fiub":
        differ = ~_close(a.astype(np.float64), e.astype(np.float64), rtol, atol, True)
        if region is not None:
            differ = differ[region]
        if differ.size and differ.mean() <= spec.max_mismatch:
            return
    axes = axis_names(spec.axes, a.ndim)
    assert_close(a, e, name="the result", rtol=rtol, atol=atol, hint=spec.hint or None, where=region, axes=axes)


def axis_names(axes, ndim: int):
    """A spec's axis names for a result with ``ndim`` axes: ``axes`` may be one tuple (its first ``ndim``
    names are used), a dict ``{ndim: names}``, or start with ``...`` (leading axes are batch indices)."""
    if isinstance(axes, dict):
        names = axes.get(ndim)
        return tuple(names) if names is not None else None
    axes = tuple(axes or ())
    if axes and axes[0] is Ellipsis:
        rest = axes[1:]
        return ("batch index",) * (ndim - len(rest)) + rest if ndim >= len(rest) else None
    return axes[:ndim] if len(axes) >= ndim and ndim else None


def _is_array(x) -> bool:
    import torch

    return isinstance(x, np.ndarray) or torch.is_tensor(x)


def _dtype_name(x) -> str:
    import torch

    return str(x.dtype).replace("torch.", "") if torch.is_tensor(x) else str(x.dtype)
