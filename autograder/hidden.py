"""Hidden tests: the student's function against the reference, on inputs the grader chooses.

This is the one interface a notebook's hidden test cells use::

    from autograder.hidden import check
    check("01_stereo", "census_cost", census_cost)

The inputs, the comparison rules and the tolerances of each function live in
the assignment's spec, ``autograder/specs/<assignment>.py``, which defines
``SPECS = {"census_cost": Spec(...), ...}``. The reference answer comes from
:mod:`autograder.reference`. Inputs are seeded: by ``ELVKIT_HIDDEN_SEED`` when
the grader sets it, by a fixed seed otherwise.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from elvkit.testing import StudentCheckError, assert_close

from . import reference
from .course import get_assignment

__all__ = ["Case", "Spec", "check", "HiddenTestFailure"]


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


@lru_cache(maxsize=None)
def _specs(assignment_id: str) -> dict:
    a = get_assignment(assignment_id)
    spec = importlib.util.spec_from_file_location(f"autograder_spec_{a.id}", a.spec_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SPECS


def _seed(assignment_id: str, name: str) -> int:
    base = int(os.environ.get("ELVKIT_HIDDEN_SEED", "0"))
    return (base * 1_000_003 + sum(ord(c) * 31 ** i for i, c in enumerate(f"{assignment_id}/{name}"))) % 2**32


def _type_problem(actual, case: Case) -> str | None:
    import torch

    first = case.args[0] if case.args else None
    want = case.returns
    if want == "same":
        want = "torch" if torch.is_tensor(first) else "numpy"
    if want == "numpy" and not isinstance(actual, np.ndarray):
        return f"should return a NumPy array for NumPy input; got {type(actual).__name__}"
    if want == "torch":
        if not torch.is_tensor(actual):
            return f"should return a torch tensor for tensor input; got {type(actual).__name__}"
        if torch.is_tensor(first) and actual.device != first.device:
            return f"should return its result on the input's device ({first.device}); got {actual.device}"
    return None


def check(assignment_id: str, name: str, student_fn) -> None:
    """Run the hidden cases of ``name`` on ``student_fn`` and the reference; raise on the first difference.

    Raises
    ------
    HiddenTestFailure
        With a message that says which kind of input failed and how.
    """
    specs = _specs(assignment_id)
    if name not in specs:
        raise KeyError(f"no hidden-test spec for {name!r} in {assignment_id}")
    spec: Spec = specs[name]
    ref_fn = getattr(reference.load(assignment_id), name)
    if not callable(student_fn):
        raise HiddenTestFailure(f"`{name}` is not a function (got {type(student_fn).__name__}).")
    rng = np.random.default_rng(_seed(assignment_id, name))
    cases = spec.cases(rng)
    for i, case in enumerate(cases, start=1):
        where = f"hidden case {i} of {len(cases)} ({case.label})" if case.label else f"hidden case {i} of {len(cases)}"
        expected = ref_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            actual = student_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            raise HiddenTestFailure(f"`{name}` is not implemented yet.") from None
        except Exception as exc:  # the student's code crashed on this input
            raise HiddenTestFailure(f"`{name}` raised {type(exc).__name__}: {exc}\n(on {where})") from None
        problem = _type_problem(actual, case)
        if problem:
            raise HiddenTestFailure(f"`{name}` {problem}\n(on {where})")
        try:
            _compare(actual, expected, case, spec)
        except StudentCheckError as exc:
            raise HiddenTestFailure(f"`{name}` differs from the reference on {where}:\n{exc}") from None


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
    a = np.asarray(to_numpy(actual))
    e = np.asarray(to_numpy(expected))
    if a.shape != e.shape:
        raise StudentCheckError(f"the result has shape {a.shape}, expected {e.shape}")
    if a.dtype == object:
        raise StudentCheckError("the result holds Python objects, not numbers")
    if case.region is not None and case.region.shape == a.shape:
        a, e = a[case.region], e[case.region]
    if e.dtype.kind == "b" and a.dtype.kind != "b":
        raise StudentCheckError(f"the result should be a boolean mask; got dtype {a.dtype}")
    exact = e.dtype.kind in "iub"           # integers and masks compare exactly
    rtol, atol = (0.0, 0.0) if exact else (spec.rtol, spec.atol)
    if spec.max_mismatch and a.size and a.dtype.kind in "fiub":
        differ = ~_close(a.astype(np.float64), e.astype(np.float64), rtol, atol, True)
        if differ.mean() <= spec.max_mismatch:
            return
    assert_close(a, e, name="the result", rtol=rtol, atol=atol, hint=spec.hint or None)
