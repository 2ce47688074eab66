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
from ..kernel_side.records import Other, RecordError, decode, encode, write_record
from . import reference

__all__ = ["Case", "Spec", "HiddenTestFailure", "ForReview", "Verdict", "specs", "checked_names", "make_cases", "write_inputs", "judge",
           "self_check", "axis_names", "spec_module", "Passed", "Isolated", "Explained", "explain_call"]


class ForReview(StudentCheckError):
    """A check that failed in a way no honest mistake explains (a forward pass that is not what its recorded
    weights compute, representations that know the labels): the cell scores 0 and the submission is flagged for a
    person to look at."""


class Verdict(str):
    """The message of a failed hidden check; ``review`` when it asks a person to look (:class:`ForReview`)."""

    review = False
    passed = False


class Passed(Verdict):
    """A hidden check that passed, with a note for the student: it was judged with what the student's earlier
    functions returned inside it (their own questions judge them)."""

    passed = True


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


def judge(a: Assignment, name: str, cases: list, payload: dict, arrays: dict) -> str | None:
    """Compare a recorded run (``payload`` and ``arrays``, as :func:`autograder.kernel_side.records.parse_record`
    returns them) of the student's function ``name`` on ``cases`` with the reference of ``a``, in this process.

    Returns None when every case matches, else the message for the student (which kind of input failed and
    how; never the test's source).

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
    isolated = Isolated()
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
            return (f"`{name}` raised {error}: {str(entry.get('message', ''))[:400]}\n(on {where})"
                    + isolated.caveat(name))
        actual = decode(entry.get("returned"), arrays)      # RecordError: a forged or damaged record
        expected = None if ref_fn is None else ref_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        problem = _type_problem(actual, entry.get("returned"), case)
        if problem:
            return f"`{name}` {problem}\n(on {where})"
        try:
            _compare(actual, expected, case, spec)
        except StudentCheckError as exc:
            if not isinstance(exc, ForReview) and isolated.explains(a, spec, ref_name, case, entry, arrays, actual):
                continue
            judged = "differs from the reference" if ref_fn is not None else "falls short"
            verdict = Verdict(f"`{name}` {judged} on {where}:\n{exc}" + isolated.caveat(name))
            verdict.review = isinstance(exc, ForReview)
            return verdict
    return isolated.note(name)


class Explained(Passed):
    """A visible test that failed in the kernel only through what the student's earlier functions returned inside
    the functions it calls: judged again with the reference's answers to those calls, it passes; its points stay."""

    explained = True


def explain_call(a, entry: dict, arrays: dict, names) -> tuple | None:
    """One recorded call of a student's function (``entry``, as the kernel's cell recorder writes it, with the calls
    it made to the earlier functions ``names``): when the student's answer is what the reference gives for the same
    arguments with the student's earlier answers in place, ``(the reference's own answer, the earlier functions
    used, those that differ from the reference's)``; else None (the difference is the function's own, or cannot be
    told)."""
    name = entry.get("name")
    calls = entry.get("calls")
    if not isinstance(name, str) or not isinstance(calls, list) or not calls:
        return None
    try:
        book = _CallBook(calls, arrays, names)
        args = decode({"$list": entry.get("args", [])}, arrays)
        kwargs = decode({"$dict": entry.get("kwargs", {})}, arrays)
    except (RecordError, _NoAnswer):
        return None
    module = reference.fresh(a)
    book.install(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        return None
    try:
        with reference.using(a, module):
            raised = None
            try:
                isolated = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            except _NoAnswer:
                return None
            except Exception as exc:
                isolated, raised = None, type(exc).__name__
        if "error" in entry:
            if raised != str(entry["error"]):
                return None
        elif raised is not None or not _same(decode(entry.get("returned"), arrays), isolated, 1e-6, 1e-9):
            return None
        if not book.used:
            return None
        answer = getattr(reference.load(a), name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except Exception:  # the reference cannot answer this call (the test's own inputs are odd): nothing to explain
        return None
    return answer, set(book.used), book.differ | book.audit(module)


class _NoAnswer(Exception):
    """The reference asked an earlier function something the student's code never asked it (or got an answer that
    cannot stand in for one): the case cannot be judged apart from the earlier functions. ``gap``: the earlier
    function the student's code called with other arguments than the reference did, when that is why."""

    def __init__(self, message: str, gap: str = "", unusable: str = ""):
        super().__init__(message)
        self.gap, self.unusable = gap, unusable


class Isolated:
    """Judges a failed hidden case again with the student's earlier functions' answers in the reference's place.

    The kernel recorded every call the function under test made to the earlier functions named in
    :attr:`Spec.isolate` (arguments and what came back). A fresh copy of the reference has those names replaced by
    look-ups into that record: the reference's later function runs as usual, and each time it calls an earlier
    function it gets what the student's earlier function returned *for the same arguments*. The case passes when
    the student's result then matches. The earlier functions are judged in their own questions on the grader's
    inputs; here their answers are data, under three rules:

    * the reference must find every call it makes among the student's (within float rounding): the student's later
      function computed everything up to each call as the reference does;
    * an answer that is not finite, or the same number everywhere, stands in for nothing (an earlier function
      written to make the later one trivial gains nothing);
    * a record of calls that was cut short, or a call that could not be recorded, stands in for nothing.
    """

    #: how closely the reference's arguments must match the student's recorded ones (float rounding)
    RTOL, ATOL = 1e-4, 1e-6

    def __init__(self):
        self.differ: set = set()        # earlier functions whose answers differed from the reference's
        self.used: set = set()          # earlier functions whose answers were used
        self.last_differ: set = set()   # those of the last attempt that compared and still failed
        self.last_used: set = set()     # the earlier answers the last attempt used
        self.last_gap: str = ""         # the earlier function the last attempt's arguments went astray at
        self.last_unusable: str = ""    # the earlier function whose answer was not finite (or constant) there
        self.order: tuple = ()          # the spec's earlier functions, the most basic first

    def explains(self, a, spec: Spec, ref_name, case: Case, entry: dict, arrays: dict, actual=None) -> bool:
        """True when the case passes with the student's recorded earlier answers in the reference's place."""
        self.last_differ, self.last_used, self.last_gap, self.last_unusable = set(), set(), "", ""
        calls = entry.get("calls")
        if not spec.isolate or not isinstance(calls, list) or not calls:
            return False
        try:
            book = _CallBook(calls, arrays, spec.isolate)
        except (RecordError, _NoAnswer):
            return False
        module = reference.fresh(a)
        book.install(module)
        try:
            with reference.using(a, module):
                fn = getattr(module, ref_name) if ref_name else None
                if "error" in entry:          # the student's function raised: does the reference, fed the same?
                    try:
                        if fn is not None:
                            fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
                        else:
                            spec.compare(None, None, case)
                    except _NoAnswer:
                        raise
                    except Exception as exc:
                        if type(exc).__name__ != str(entry["error"]) or not book.used:
                            return False
                    else:
                        return False
                else:
                    expected = None if fn is None else fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
                    _compare(actual, expected, case, spec)
                    if not book.used:
                        return False
        except _NoAnswer as exc:
            if exc.gap:
                self.last_differ, self.last_used, self.last_gap = book.differ | book.audit(module), set(book.used), \
                    exc.gap
            self.last_unusable = exc.unusable
            return False
        except (StudentCheckError, RecordError):
            self.last_differ, self.last_used = book.differ | book.audit(module), set(book.used)
            return False
        except Exception:  # the reference fed the student's answers failed in a way the student's did not
            return False
        self.used |= book.used
        self.differ |= book.differ | book.audit(module)
        self.order = tuple(spec.isolate)
        return True

    def caveat(self, name: str) -> str:
        """For a failed case that was judged again with the student's earlier answers, where some of those differ
        from the reference's: a line that says the difference is in ``name`` itself (the earlier ones are judged in
        their own questions), and where the arguments went astray when that is known."""
        if self.last_unusable:
            return (f"\n(Inside this check your `{self.last_unusable}` returned numbers that are not finite (NaN or "
                    f"inf) or one number everywhere; its own hidden test judges it. This case could not be judged "
                    f"apart from it: a result computed from such numbers says nothing about `{name}` itself.)")
        if not self.last_differ:
            return ""
        wrong = _listed(sorted(self.last_differ))
        if self.last_gap:
            where = (f"with your earlier answers in the reference's place, the reference would call `{self.last_gap}` "
                     "with other arguments than your code did")
        else:
            where = f"judged again with what your {wrong} returned here, it still differs"
        return (f"\n(Your {wrong} differs from the reference too, and its own hidden test judges it; but this case's "
                f"difference is in `{name}` itself: {where}.)")

    def note(self, name: str):
        """None when no case needed the earlier answers; else a :class:`Passed` that says which ones."""
        if not self.used:
            return None
        rank = {n: i for i, n in enumerate(self.order)}
        names = _listed(sorted(self.used, key=lambda n: rank.get(n, len(rank))))
        if self.differ:
            wrong = sorted(self.differ, key=lambda n: rank.get(n, len(rank)))
            origin, through = wrong[0], wrong[1:]
            also = f", and with it what your {_listed(through)} returned" if through else ""
            return Passed(f"`{name}` passed every hidden case, judged with what your {names} returned (or raised) "
                          f"inside it. Your `{origin}` differs from the reference (its own hidden test says how){also}; this "
                          "question does not take points for that again.")
        return Passed(f"`{name}` passed every hidden case, judged with what your {names} returned inside it: those "
                      "values differ from the reference's by float rounding, which grows through the later steps.")


def _listed(names) -> str:
    """`a`, `b` and `c`."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _values(x) -> list:
    """The arrays, tensors and numbers in ``x`` (nested tuples, lists and dicts), as float64 arrays."""
    from elvkit import to_numpy

    if isinstance(x, (tuple, list)):
        return [v for item in x for v in _values(item)]
    if isinstance(x, dict):
        return [v for k in sorted(x, key=str) for v in _values(x[k])]
    if isinstance(x, Other) or x is None or isinstance(x, str):
        return []
    if hasattr(x, "toarray"):           # a SciPy sparse matrix
        x = x.toarray()
    try:
        return [np.asarray(to_numpy(x) if hasattr(x, "shape") else x).astype(np.float64)]
    except (TypeError, ValueError):
        return []


def _same(a, b, rtol: float, atol: float) -> bool:
    """``a`` and ``b`` hold the same structure and the same numbers within the tolerances."""
    import torch

    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) \
            and all(_same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() \
            and all(_same(a[k], b[k], rtol, atol) for k in a)
    arrays = (np.ndarray, torch.Tensor, np.generic, int, float, bool)
    if (isinstance(a, arrays) or hasattr(a, "toarray")) and (isinstance(b, arrays) or hasattr(b, "toarray")):
        x, y = _values(a), _values(b)
        if len(x) != 1 or len(y) != 1 or x[0].shape != y[0].shape:
            return False
        scale = max(1.0, float(np.nanmax(np.abs(y[0]))) if y[0].size and np.isfinite(y[0]).any() else 1.0)
        return bool(np.allclose(x[0], y[0], rtol=rtol, atol=atol * scale, equal_nan=True))
    return type(a) is type(b) and a == b


class _Raise:
    """A recorded call of an earlier function that raised: the name of its exception's type."""

    def __init__(self, name: str):
        self.name = name

    def exception(self) -> Exception:
        """An exception whose type has the recorded name (a plain subclass of Exception: nothing is imported)."""
        return type(self.name, (Exception,), {})(f"raised by the student's function (recorded as {self.name})")


class _CallBook:
    """The student's recorded calls to the earlier functions of one hidden case, as look-ups the reference calls."""

    def __init__(self, calls: list, arrays: dict, names):
        self.names = tuple(names)
        self.calls: dict = {}
        self.used, self.differ = set(), set()
        self.passthrough = False        # while the reference's own answer is computed: no look-ups
        self.signatures: dict = {}      # name -> the reference's signature (self dropped), to match arguments
        for call in calls:
            if not isinstance(call, dict):
                raise RecordError("a recorded call is not a record")
            if call.get("overflow") or (call.get("unreadable") and not call.get("nested")):
                raise _NoAnswer("some of its calls were not recorded")
            if call.get("unreadable"):
                continue
            name = call.get("name")
            if name not in self.names:
                continue
            args = decode({"$list": call.get("args", [])}, arrays)
            kwargs = decode({"$dict": call.get("kwargs", {})}, arrays)
            if "raised" in call:
                raised = str(call["raised"])
                if not raised.isidentifier() or len(raised) > 80:
                    raise RecordError("a recorded exception name that is not a name")
                self.calls.setdefault(name, []).append((args, kwargs, _Raise(raised)))
            else:
                self.calls.setdefault(name, []).append((args, kwargs, decode(call.get("returned"), arrays)))

    def answer(self, name: str, original, args, kwargs):
        """What the student's ``name`` returned for these arguments; ``original`` (the reference's) computes the
        reference's answer, to tell a different answer from float rounding."""
        if self.passthrough:
            return original()
        want = self._bind(name, args, kwargs)
        for got_args, got_kwargs, returned in self.calls.get(name, ()):
            if _same(want, self._bind(name, got_args, got_kwargs), Isolated.RTOL, Isolated.ATOL):
                if isinstance(returned, _Raise):        # the student's function raised here: so does its stand-in
                    self.used.add(name)
                    self.differ.add(name)
                    raise returned.exception()
                values = _values(returned)
                if not values or any(not np.isfinite(v).all() for v in values) \
                        or all(v.size > 1 and np.ptp(v) == 0 for v in values) or self._constant(name):
                    raise _NoAnswer(f"what your `{name}` returned cannot stand in for the reference's (not finite, "
                                    "or one number everywhere)", unusable=name)
                self.used.add(name)
                self.passthrough = True
                try:
                    if not _same(returned, original(), 1e-5, 1e-7):
                        self.differ.add(name)
                except Exception:
                    self.differ.add(name)
                finally:
                    self.passthrough = False
                return _like(copy.deepcopy(returned), args)
        raise _NoAnswer(f"it calls `{name}` with arguments that your code never passed it", gap=name)

    def audit(self, module) -> set:
        """The earlier *functions* (not modules, whose weights a record does not hold) whose recorded answers differ
        from the reference's on the same arguments, whether or not the reference needed them: where a mistake
        starts when the answers of the modules built on them differ too."""
        import torch

        differ = set()
        self.passthrough = True
        try:
            for name, calls in self.calls.items():
                fn = getattr(module, name, None)
                if not callable(fn) or (isinstance(fn, type) and issubclass(fn, torch.nn.Module)):
                    continue
                for args, kwargs, returned in calls:
                    args = [None if _is_device(v) else v for v in args]       # the grader computes on its CPU
                    kwargs = {k: None if _is_device(v) else v for k, v in kwargs.items()}
                    try:
                        same = _same(returned, fn(*copy.deepcopy(args), **copy.deepcopy(kwargs)), 1e-5, 1e-7)
                    except Exception:
                        same = False
                    if not same:
                        differ.add(name)
                        break
        finally:
            self.passthrough = False
        return differ

    def _constant(self, name: str) -> bool:
        """The student's ``name`` returned one and the same answer to three or more different calls."""
        distinct = []
        for args, kwargs, returned in self.calls.get(name, ()):
            if isinstance(returned, _Raise):
                continue
            bound = self._bind(name, args, kwargs)
            if not any(_same(bound, seen, 0.0, 0.0) for seen, _ in distinct):
                distinct.append((bound, returned))
        return len(distinct) >= 3 and all(_same(r, distinct[0][1], 0.0, 0.0) for _, r in distinct[1:])

    def _bind(self, name: str, args, kwargs) -> dict:
        """The arguments of one call by parameter name (the reference's signature), so that a value passed by
        position and the same value passed by keyword match; by position when they do not bind."""
        signature = self.signatures.get(name)
        if signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                return {k: v for k, v in bound.arguments.items() if k != "device" and not _is_device(v)}
            except TypeError:
                pass
        return {"$args": [a for a in args if not _is_device(a)],
                **{k: v for k, v in kwargs.items() if k != "device" and not _is_device(v)}}

    def install(self, module) -> None:
        """Replace the earlier functions of ``module`` (a fresh reference) by look-ups into this book."""
        import inspect

        import torch

        book = self
        for name in self.names:
            original = getattr(module, name, None)
            try:
                signature = inspect.signature(original.forward if isinstance(original, type) else original)
                if isinstance(original, type):
                    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
                self.signatures[name] = signature
            except (TypeError, ValueError, AttributeError):
                pass
            if isinstance(original, type) and issubclass(original, torch.nn.Module):
                def forward(self, *args, _name=name, _cls=original, **kwargs):
                    return book.answer(_name, lambda: _cls.forward(self, *args, **kwargs), args, kwargs)

                setattr(module, name, type(original.__name__, (original,), {"forward": forward}))
            elif callable(original):
                def looked_up(*args, _name=name, _fn=original, **kwargs):
                    return book.answer(_name, lambda: _fn(*args, **kwargs), args, kwargs)

                setattr(module, name, looked_up)


def _is_device(x) -> bool:
    """A device (where a computation runs, not what it computes: the kernel's may be a GPU, the grader's a CPU)."""
    import torch

    return isinstance(x, torch.device) or (isinstance(x, Other) and x.type_name == "device")


def _like(returned, args):
    """A recorded answer on the device of the call's first tensor argument (the reference may run on the CPU
    where the student's ran on a GPU)."""
    import torch

    device = next((a.device for a in args if torch.is_tensor(a)), None)
    if device is None:
        return returned

    def move(x):
        if torch.is_tensor(x):
            return x.to(device)
        if isinstance(x, tuple):
            return tuple(move(v) for v in x)
        if isinstance(x, list):
            return [move(v) for v in x]
        return x

    return move(returned)


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
