"""A mistake costs points in its own question: a later check judged with the student's earlier answers.

A spec may name the earlier functions (or ``nn.Module`` classes) that its function calls and that other questions
judge (:attr:`~autograder.integrity.specs.Spec.isolate`). While that check runs, the kernel records every call the
function under test makes to them, with what came back or what was raised
(:class:`autograder.kernel_side.capture.DependencyCalls`). When a case fails, :class:`Isolated` judges it again with
a fresh copy of the reference whose earlier names are look-ups into that record: the case passes when the student's
result matches what the reference computes from the student's own earlier answers. :func:`explain_call` does the
same for one call a visible test made (:meth:`autograder.integrity.replay.Replayer.run`). The earlier answers are
data: they must answer every call the reference makes (the student's code computed the same arguments), answers
that are not finite, or one number everywhere, stand in for nothing, and an earlier function whose answers differ
from the reference's stands in only when its own hidden test found it wrong (:func:`untrusted`): one that passes its
own test and answers otherwise inside a later function -- written to steer that function's check -- gains nothing.
"""

from __future__ import annotations

import copy

import numpy as np

from elvkit.testing import StudentCheckError

from ..kernel_side.records import RecordError, decode
from . import reference
from .callbook import CallBook, NoAnswer, listed, same
from .specs import Case, Passed, Spec, _compare

__all__ = ["Isolated", "Explained", "explain_call", "listed", "untrusted"]


def untrusted(a, differ, failed) -> set:
    """The earlier functions of ``differ`` (whose answers inside a later function differed from the reference's) that
    cannot stand in: those whose own hidden test did not find them wrong. ``failed``: the names of the hidden checks
    that failed in this notebook or passed only judged with an earlier function's different answers (which theirs
    carry), or None when no such verdicts exist (a check run by hand): then every one stands in. A class is judged
    by the check its spec module's ``JUDGED_BY`` names (``"Encoder": "encoder"``), a function by its own name."""
    if failed is None:
        return set()
    from .specs import spec_module

    judged_by = getattr(spec_module(a), "JUDGED_BY", {}) or {}
    return {n for n in differ if judged_by.get(n, n) not in failed}


class Explained(Passed):
    """A visible test that failed in the kernel only through what the student's earlier functions returned inside
    the functions it calls: judged again with the reference's answers to those calls, it passes; its points stay."""

    explained = True


def explain_call(a, entry: dict, arrays: dict, names, failed=None, refused: set | None = None) -> tuple | None:
    """One recorded call of a student's function (``entry``, as the kernel's cell recorder writes it, with the calls
    it made to the earlier functions ``names``): when the student's answer is what the reference gives for the same
    arguments with the student's earlier answers in place, ``(the reference's own answer, the earlier functions
    used, those that differ from the reference's)``; else None (the difference is the function's own, or cannot be
    told, or an earlier function that differs passed its own hidden test: ``failed``, see :func:`untrusted`; those
    are added to ``refused``)."""
    name = entry.get("name")
    calls = entry.get("calls")
    if not isinstance(name, str) or not isinstance(calls, list) or not calls:
        return None
    try:
        book = CallBook(calls, arrays, names)
        args = decode({"$list": entry.get("args", [])}, arrays)
        kwargs = decode({"$dict": entry.get("kwargs", {})}, arrays)
    except (RecordError, NoAnswer):
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
            except NoAnswer:
                return None
            except Exception as exc:
                isolated, raised = None, type(exc).__name__
        if "error" in entry:
            if raised != str(entry["error"]):
                return None
        elif raised is not None or not same(decode(entry.get("returned"), arrays), isolated, 1e-6, 1e-9):
            return None
        if not book.used:
            return None
        answer = getattr(reference.load(a), name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except Exception:  # the reference cannot answer this call (the test's own inputs are odd): nothing to explain
        return None
    differ = book.differ | book.audit(module)
    steered = untrusted(a, differ, failed)
    if steered:
        if refused is not None:
            refused |= steered
        return None
    return answer, set(book.used), differ


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
    * a record of calls that was cut short, or a call that could not be recorded, stands in for nothing;
    * an earlier function whose answers differ from the reference's stands in only when its own hidden test failed
      (``failed``: the names of this notebook's failed hidden checks; see :func:`untrusted`).
    """

    def __init__(self, failed=None):
        self.failed = failed
        self.differ: set = set()        # earlier functions whose answers differed from the reference's
        self.used: set = set()          # earlier functions whose answers were used
        self.last_differ: set = set()   # those of the last attempt that compared and still failed
        self.last_used: set = set()     # the earlier answers the last attempt used
        self.last_gap: str = ""         # the earlier function the last attempt's arguments went astray at
        self.last_unusable: str = ""    # the earlier function whose answer was not finite (or constant) there
        self.last_untrusted: set = set()  # earlier functions that passed their own tests and answered otherwise here
        self.order: tuple = ()          # the spec's earlier functions, the most basic first

    def explains(self, a, spec: Spec, ref_name, case: Case, entry: dict, arrays: dict, actual=None) -> bool:
        """True when the case passes with the student's recorded earlier answers in the reference's place."""
        self.last_differ, self.last_used, self.last_gap, self.last_unusable = set(), set(), "", ""
        self.last_untrusted = set()
        calls = entry.get("calls")
        if not spec.isolate or not isinstance(calls, list) or not calls:
            return False
        try:
            book = CallBook(calls, arrays, spec.isolate)
        except (RecordError, NoAnswer):
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
                    except NoAnswer:
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
        except NoAnswer as exc:
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
        differ = book.differ | book.audit(module)
        self.last_untrusted = untrusted(a, differ, self.failed)
        if self.last_untrusted:
            return False
        self.used |= book.used
        self.differ |= differ
        self.order = tuple(spec.isolate)
        return True

    def caveat(self, name: str) -> str:
        """For a failed case that was judged again with the student's earlier answers, where some of those differ
        from the reference's: a line that says the difference is in ``name`` itself (the earlier ones are judged in
        their own questions), and where the arguments went astray when that is known."""
        if self.last_untrusted:
            names = listed(sorted(self.last_untrusted))
            return (f"\n(Inside `{name}` your {names} answered otherwise than the reference does for the same "
                    f"arguments, though {'it passes its' if len(self.last_untrusted) == 1 else 'they pass their'} own "
                    f"hidden test: an earlier function's answer may depend on its arguments only. This case is judged "
                    f"with your own functions.)")
        if self.last_unusable:
            return (f"\n(Inside this check your `{self.last_unusable}` returned numbers that are not finite (NaN or "
                    f"inf) or one number everywhere; its own hidden test judges it. This case could not be judged "
                    f"apart from it: a result computed from such numbers says nothing about `{name}` itself.)")
        if not self.last_differ:
            return ""
        wrong = listed(sorted(self.last_differ))
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
        names = listed(sorted(self.used, key=lambda n: rank.get(n, len(rank))))
        if self.differ:
            wrong = sorted(self.differ, key=lambda n: rank.get(n, len(rank)))
            origin, through = wrong[0], wrong[1:]
            also = f", and with it what your {listed(through)} returned" if through else ""
            passed = Passed(f"`{name}` passed every hidden case, judged with what your {names} returned (or "
                            f"raised) inside it. Your `{origin}` differs from the reference (its own hidden test says "
                            f"how){also}; this question does not take points for that again.")
            passed.carried = True       # its answers inside later functions differ too: they may stand in there
            return passed
        return Passed(f"`{name}` passed every hidden case, judged with what your {names} returned inside it: those "
                      "values differ from the reference's by float rounding, which grows through the later steps.")
