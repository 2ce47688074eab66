"""Visible test cells judged in the grader's process, on what the student's functions returned.

A visible test cell calls the student's functions on inputs it makes itself, then asserts. Under
the grader, the kernel records every call such a cell makes -- arguments, and what came back or
what was raised (:mod:`autograder.kernel_side.capture`). This module then runs the **same test code**, the
release's (students cannot change it: test cells are restored before the notebook runs), in the
grader's own process. There, each of the student's functions is a stand-in that checks it is called
with the arguments the kernel recorded and returns the recorded result. The assertions run on the
grader's own NumPy, torch and ``elvkit.testing``: nothing the student's code did to those in the
kernel changes the verdict, and the verdict and its message are exactly what the student saw.

Only values travel from the kernel: arrays, tensors, numbers and containers of them, rebuilt by
:func:`autograder.kernel_side.records.decode`. Nothing the student wrote runs here.

A visible test judges public inputs: a function that returns the right values for exactly those
inputs passes it, as it would in any autograder. The hidden and end-to-end checks, on inputs the
student cannot know, are where the work is proven.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..course.notebooks import grade_meta, has_hidden_tests
from ..kernel_side.records import Other, RecordError, decode, encode

__all__ = ["VisibleCell", "visible_cells", "student_functions", "Replayer", "ReplayFailure"]


class ReplayFailure(AssertionError):
    """The recorded calls do not support the test: a call is missing, out of order or on other inputs."""


class StudentFunctionError(Exception):
    """What the student's function raised in the kernel, raised again where the test calls it."""


@dataclass(frozen=True)
class VisibleCell:
    """A visible test cell of the source notebook: its grade id, its source, and the student's functions it
    calls."""

    grade_id: str
    source: str
    names: tuple          # the student's functions the cell calls


def student_functions(source_nb) -> set:
    """Names the student defines: every top-level function and class of the solution cells."""
    names = set()
    for cell in source_nb.cells:
        if cell.cell_type == "code" and grade_meta(cell).get("solution"):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return names


def _loaded_names(source: str) -> set:
    """The names a cell's code reads."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def visible_cells(source_nb) -> list:
    """The autograded cells without hidden tests, in notebook order, with the student's functions each calls.

    Their points are decided by :class:`Replayer`; the other autograded cells carry hidden checks.
    """
    functions = student_functions(source_nb)
    out = []
    for cell in source_nb.cells:
        meta = grade_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        if has_hidden_tests(cell.source):
            continue
        names = tuple(sorted(_loaded_names(cell.source) & functions))
        out.append(VisibleCell(meta["grade_id"], cell.source, names))
    return out


@lru_cache(maxsize=4)
def base_namespace(imports: str) -> dict:
    """The notebook's ``imports`` cell run once in this process, on the CPU, quietly."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    ns: dict = {"__name__": "__replay__"}
    saved = os.environ.get("ELVKIT_DEVICE")
    os.environ["ELVKIT_DEVICE"] = "cpu"
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(imports, "<imports>", "exec"), ns)
    finally:
        if saved is None:
            os.environ.pop("ELVKIT_DEVICE", None)
        else:
            os.environ["ELVKIT_DEVICE"] = saved
    return ns


@lru_cache(maxsize=64)
def _compiled(source: str, grade_id: str):
    """A test cell's code, compiled once per process."""
    return compile(source, f"<test cell {grade_id}>", "exec")


class Replayer:
    """Runs one submission's visible test cells, in order, on its recorded calls.

    Cells share one namespace, as they do in the notebook (a test may use a value an earlier test
    made); it starts from the notebook's ``imports`` cell.
    """

    #: the assignment (for the reference) and, function -> the earlier functions it calls that other questions
    #: judge: set by the grader, so that a test that fails only through those is judged again without them
    assignment = None
    isolate: dict = {}
    #: the checked functions whose hidden checks failed so far (None: no verdicts; see ``isolation.untrusted``)
    failed = None
    #: earlier functions that passed their own checks yet answered otherwise inside a function this cell called
    refused: set = set()

    def __init__(self, imports: str):
        self.ns = dict(base_namespace(imports))

    @classmethod
    def for_imports(cls, imports: str) -> "Replayer":
        """A replayer whose namespace starts from the notebook's ``imports`` cell (its source)."""
        return cls(imports)

    def run(self, cell: VisibleCell, record) -> str | None:
        """Judge ``cell`` on ``record`` (``(payload, arrays)`` written by the kernel, or None when there is
        none). Returns None when the test passes, else its message -- or an
        :class:`~autograder.integrity.specs.Explained` when it failed only through what the student's earlier
        functions returned inside the functions it calls (judged in their own questions)."""
        self.refused = set()
        verdict = self._run(cell, record)
        if verdict is None or self.assignment is None or not self.isolate or record is None:
            return verdict
        return self._explained(cell, record) or verdict

    def _explained(self, cell: VisibleCell, record):
        """The test run again with the reference's answers to the calls whose difference comes from earlier
        functions only; an Explained note when it passes then, else None."""
        from .isolation import Explained, explain_call, listed

        payload, arrays = record
        calls = payload.get("calls") if isinstance(payload, dict) else None
        if not isinstance(calls, list):
            return None
        overrides, used, differ, through = {}, set(), set(), []
        for entry in calls:
            if isinstance(entry, dict) and entry.get("name") in self.isolate and "calls" in entry:
                found = explain_call(self.assignment, entry, arrays, self.isolate[entry["name"]], self.failed,
                                     self.refused)
                if found is not None:
                    overrides[id(entry)] = found[0]
                    used |= found[1]
                    differ |= found[2]
                    if entry["name"] not in through:
                        through.append(entry["name"])
        if not overrides or not differ:
            return None
        ns = dict(self.ns)
        if self._run(cell, record, overrides, ns) is not None:
            return None
        self.ns.update(ns)
        order = [n for fn in through for n in self.isolate.get(fn, ())]
        wrong = sorted(differ, key=lambda n: order.index(n) if n in order else len(order))
        return Explained(f"this test failed only through what your {listed(wrong)} returned inside your "
                         f"{listed(through)}: with the reference's answers to those calls in their place, the test "
                         f"passes. Its points are kept; `{wrong[0]}` loses points in its own question.")

    def _run(self, cell: VisibleCell, record, overrides: dict | None = None, ns: dict | None = None) -> str | None:
        ns = self.ns if ns is None else ns
        calls, arrays = [], {}
        if record is not None:
            payload, arrays = record
            calls = payload.get("calls") if isinstance(payload, dict) else None
            if not isinstance(calls, list):
                return "the record of this test's calls is unreadable."
        queue = list(calls)
        for name in cell.names:
            ns[name] = _stand_in(name, queue, arrays, record is not None, overrides or {})
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings(), \
                    np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                exec(_compiled(cell.source, cell.grade_id), ns)
        except NotImplementedError:
            return "NotImplementedError: a function this test calls is not written yet."
        except (ReplayFailure, StudentFunctionError) as exc:
            return str(exc)
        except AssertionError as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else "an assertion failed."
        except RecordError as exc:
            return f"the record of this test's calls is damaged: {exc}"
        except Exception as exc:  # the test's own code failed on the recorded values (a wrong type, say)
            return f"{type(exc).__name__}: {exc}"
        return None


def _stand_in(name: str, queue: list, arrays: dict, recorded: bool, overrides: dict):
    def stand_in(*args, **kwargs):
        if not queue:
            why = ("the kernel recorded no call of it here: the cell stopped before it, or the record was removed"
                   if recorded else "this cell left no record in the kernel: it did not run, or its record was removed")
            raise ReplayFailure(f"`{name}` is called by this test, but {why}.")
        entry = queue.pop(0)
        if not isinstance(entry, dict) or entry.get("name") != name:
            got = entry.get("name") if isinstance(entry, dict) else None
            raise ReplayFailure(f"this test calls `{name}` where the kernel recorded a call of `{got}`: the calls "
                                "are not the test's.")
        problem = _argument_problem(entry, args, kwargs, arrays)
        if problem:
            raise ReplayFailure(f"`{name}` was called in the kernel on other inputs than this test's ({problem}). "
                                "Does a function change its input arrays in place, or was a name the test uses "
                                "redefined?")
        if id(entry) in overrides:              # the reference's answer: the student's differed only through
            return copy.deepcopy(overrides[id(entry)])     # earlier functions, judged in their own questions
        if "error" in entry:
            ename, message = str(entry.get("error"))[:80], str(entry.get("message", ""))[:400]
            if ename == "NotImplementedError":
                raise NotImplementedError()
            if ename == "KeyboardInterrupt":
                raise StudentFunctionError(f"`{name}` was interrupted: the cell ran past its time limit.")
            raise StudentFunctionError(f"`{name}` raised {ename}: {message}" if message else f"`{name}` raised {ename}")
        if "returned" not in entry:
            raise ReplayFailure(f"the record of a call of `{name}` holds no result.")
        value = decode(entry["returned"], arrays)
        if isinstance(value, Other):
            return _Opaque(value.type_name)
        return _with_gradients(value, entry.get("gradients"), args, kwargs, arrays)

    stand_in.__name__ = name
    return stand_in


class _Opaque:
    """A result the kernel could only describe by its type: any use of it in a test fails."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name}>"


def _argument_problem(entry: dict, args, kwargs, arrays: dict) -> str | None:
    mine: dict = {}
    got_args, got_kwargs = entry.get("args"), entry.get("kwargs")
    if not isinstance(got_args, list) or not isinstance(got_kwargs, dict):
        return "the record holds no arguments"
    if len(got_args) != len(args) or set(got_kwargs) != set(kwargs):
        return "another number of arguments"
    try:
        want = [encode(a, mine) for a in args]
        want_kw = {k: encode(v, mine) for k, v in kwargs.items()}
    except Exception:  # pragma: no cover - the test's own arguments always encode
        return "arguments the grader cannot describe"
    for i, (w, g) in enumerate(zip(want, got_args)):
        if not _same(w, mine, g, arrays):
            return f"argument {i + 1} differs"
    for k, w in want_kw.items():
        if not _same(w, mine, got_kwargs[k], arrays):
            return f"argument `{k}` differs"
    return None


def _stored(arrays: dict, key):
    """The array a record names, or None for a name that is not a string or not among the record's arrays."""
    return arrays.get(key) if isinstance(key, str) else None


def _same_array(x, y) -> bool:
    """Two stored arrays equal: shape and dtype exactly, values to float rounding."""
    if x is None or y is None or x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind in "fc":
        return bool(np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True))
    return bool(np.array_equal(x, y))


def _same(a, a_arrays: dict, b, b_arrays: dict) -> bool:
    """Encoded values equal: structure and types exactly, numbers and arrays to float rounding."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        key = next((k for k in ("$array", "$tensor") if k in a), None)
        if key is not None:
            return a.get("dtype") == b.get("dtype") and _same_array(_stored(a_arrays, a[key]), _stored(b_arrays, b[key]))
        if "$sparse" in a:       # a sparse matrix: its three arrays (values, column indices, row pointers) and shape
            x, y = a["$sparse"], b["$sparse"]
            if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) == 3) or \
                    a.get("shape") != b.get("shape") or a.get("format") != b.get("format"):
                return False
            return all(_same_array(_stored(a_arrays, kx), _stored(b_arrays, ky)) for kx, ky in zip(x, y))
        if "$number" in a:
            x, y = a["$number"], b["$number"]
            if isinstance(x, str) or isinstance(y, str):
                return x == y
            return isinstance(y, (int, float)) and bool(np.isclose(x, y, rtol=1e-9, atol=0))
        return all(_same(a[k], a_arrays, b[k], b_arrays) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, a_arrays, y, b_arrays) for x, y in zip(a, b))
    return a == b


def _with_gradients(value, gradients, args, kwargs, arrays):
    """A recorded tensor result that carries, for a ``.backward()`` on its sum, the gradients the kernel
    measured with respect to the test's input tensors (its values are unchanged)."""
    if not gradients or not isinstance(gradients, dict):
        return value
    import torch

    if not torch.is_tensor(value) or not value.is_floating_point():
        return value
    inputs = {str(i): a for i, a in enumerate(args)} | dict(kwargs)
    term = None
    for key, raw in gradients.items():
        x = inputs.get(key)
        if not (torch.is_tensor(x) and x.requires_grad):
            continue
        g = decode(raw, arrays)
        if not torch.is_tensor(g) or g.shape != x.shape:
            continue
        part = ((x - x.detach()) * g.to(x.dtype)).sum()
        term = part if term is None else term + part
    if term is None:
        return value
    return value.detach().clone() + (term / max(value.numel(), 1)).to(value.dtype)
