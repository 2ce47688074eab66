"""What a graded kernel records of the student's functions. Nothing here decides a score.

Two kinds of records come out of a graded kernel:

* **hidden checks** -- before the notebook runs, the grader writes each checked function's inputs
  to ``$ELVKIT_HIDDEN_DIR/in/<name>.json`` (+ ``.npz``). The hidden test cell calls ``autograder.hidden.check``, whose
  :func:`record_check`
  which runs the student's function on every input and writes what came back to
  ``$ELVKIT_HIDDEN_DIR/out/<name>.json`` (+ ``.npz``);
* **test-cell calls** -- a visible test cell calls the student's functions on inputs it makes
  itself. :func:`install` (run once, before the notebook's first cell) wraps those functions while
  each such cell runs, and writes every call -- its arguments and what it returned or raised -- to
  ``$ELVKIT_HIDDEN_DIR/out/cells/<grade_id>.json`` (+ ``.npz``). The grader then runs the same
  test code in its own process on the recorded values (:mod:`autograder.integrity.replay`).

The format is :mod:`autograder.kernel_side.records`. Like everything in this package, this module
runs in the student's kernel and imports nothing of the grader's side.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .records import HIDDEN_DIR_VARIABLE, _torch, cell_key, decode, encode, read_record, write_record

__all__ = ["record_check", "install", "call_cases", "DependencyCalls", "MAX_DEPENDENCY_CALLS"]

_MAX_ERROR = 400


def _short(text) -> str:
    """An error message on one line, at most a few hundred characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def call_cases(fn, cases: list, arrays_in: dict, arrays_out: dict, *, device=None, calls=None) -> list:
    """Run ``fn`` on each encoded case (entries and ``arrays_in`` as the records hold them, tensors put on
    ``device``); returns one entry per case: what it returned (arrays go into ``arrays_out``), or how it
    failed, and with ``calls`` (a :class:`DependencyCalls`) the calls it made to the earlier functions. Never
    raises for what ``fn`` does."""
    entries = []
    for case in cases:
        args = decode({"$list": case["args"]}, arrays_in, device=device)
        kwargs = decode({"$dict": case["kwargs"]}, arrays_in, device=device)
        try:
            value = fn(*args, **kwargs)
        except NotImplementedError:
            entry = {"error": "NotImplementedError", "message": ""}
        except Exception as exc:  # the student's code crashed on this input: recorded, judged by the grader
            entry = {"error": type(exc).__name__, "message": _short(exc)}
        else:
            try:
                entry = {"returned": encode(value, arrays_out)}
            except Exception as exc:  # a value that cannot even be described
                entry = {"returned": {"$other": f"{type(value).__name__} ({type(exc).__name__})"}}
        if calls is not None:
            entry["calls"] = calls.take()
        entries.append(entry)
    return entries


#: the most calls to earlier functions recorded per hidden case (more: the grader judges without them), and the most
#: calls made inside those (recorded only to tell where a difference starts)
MAX_DEPENDENCY_CALLS = 64
MAX_NESTED_CALLS = 16


class _Raised:
    """What an earlier function raised instead of returning (its exception's type name)."""

    def __init__(self, name: str):
        self.name = name


class DependencyCalls:
    """While one hidden check runs: every call that the function under test makes to the *earlier* functions the
    grader names (and every ``forward`` of the earlier modules), with what each returned. The grader judges a later
    question with these answers in place of the reference's (``autograder.integrity.specs``), so that a mistake in an
    earlier function costs points in its own question only. Names are swapped in ``namespace`` for the duration of
    the check and put back by :meth:`restore`."""

    def __init__(self, namespace: dict, names, arrays: dict):
        self.namespace, self.arrays, self.calls, self.swapped = namespace, arrays, [], {}
        self.overflow, self.depth, self.nested = False, 0, 0
        for name in names:
            original = namespace.get(name) if isinstance(name, str) else None
            torch = _torch()
            if isinstance(original, type) and torch is not None and issubclass(original, torch.nn.Module):
                stand_in = self._module(name, original)
            elif callable(original) and not isinstance(original, type):
                stand_in = self._function(name, original)
            else:
                continue
            self.swapped[name] = (original, stand_in)
            namespace[name] = stand_in

    def _add(self, name: str, args, kwargs, value, nested: bool) -> None:
        if nested:       # a call made inside another recorded call: only to tell where a difference starts
            if self.nested >= MAX_NESTED_CALLS:
                return
            self.nested += 1
        elif len(self.calls) - self.nested >= MAX_DEPENDENCY_CALLS:
            self.overflow = True
            return
        entry = {"name": name, **({"nested": True} if nested else {})}
        try:
            entry.update({"args": [encode(a, self.arrays) for a in args],
                          "kwargs": {str(k): encode(v, self.arrays) for k, v in kwargs.items()}})
            if isinstance(value, _Raised):
                entry["raised"] = value.name[:80]
            else:
                entry["returned"] = encode(value, self.arrays)
        except Exception:  # a value that cannot be described: the grader will find no answer for this call
            entry = {"name": name, "unreadable": True, **({"nested": True} if nested else {})}
        self.calls.append(entry)

    def _call(self, name: str, fn, args, kwargs):
        self.depth += 1
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:       # what it raised is its answer too: the grader raises the same there
            self.depth -= 1
            self._add(name, args, kwargs, _Raised(type(exc).__name__), nested=self.depth > 0)
            raise
        self.depth -= 1
        self._add(name, args, kwargs, value, nested=self.depth > 0)
        return value

    def _function(self, name: str, fn):
        import functools

        recorder = self

        @functools.wraps(fn)
        def recorded(*args, **kwargs):
            return recorder._call(name, fn, args, kwargs)

        return recorded

    def _module(self, name: str, cls):
        recorder = self

        def forward(module, *args, **kwargs):
            return recorder._call(name, lambda *a, **k: cls.forward(module, *a, **k), args, kwargs)

        return type(cls.__name__, (cls,), {"forward": forward, "__qualname__": cls.__qualname__,
                                           "__module__": cls.__module__, "__doc__": cls.__doc__})

    def take(self) -> list:
        """The calls since the last take (those of one hidden case)."""
        calls, self.calls, self.nested = self.calls, [], 0
        if self.overflow:
            calls.append({"name": "", "overflow": True})
            self.overflow = False
        return calls

    def restore(self) -> None:
        """Put the student's own names back (where nothing else replaced them meanwhile)."""
        for name, (original, stand_in) in self.swapped.items():
            if self.namespace.get(name) is stand_in:
                self.namespace[name] = original


def _device():
    """The kernel's device (elvkit's choice), None when it cannot be known."""
    try:
        from elvkit import device
        return device()
    except Exception:
        return None


def _user_namespace():
    """The notebook's namespace (where the student's functions live), None outside IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return None
    return getattr(shell, "user_ns", None)


def record_check(folder: Path, assignment_id: str, name: str, student_fn) -> None:
    """Record what ``student_fn`` returns on the grader's hidden inputs for ``name`` (read from
    ``folder/in/<name>``) into ``folder/out/<name>``; the grader decides.

    Raises
    ------
    RuntimeError
        When the grader wrote no inputs for ``name``.
    """
    folder = Path(folder)
    source = folder / "in" / f"{name}.json"
    if not source.is_file():
        raise RuntimeError(f"no hidden inputs for `{name}`: this cell runs only under the grader")
    if not callable(student_fn):
        write_record(folder / "out" / name, {"not_callable": type(student_fn).__name__}, {})
        print(f"`{name}` is not a function; the grader will report it.")
        return
    payload, arrays_in = read_record(folder / "in" / name)
    arrays_out: dict = {}
    calls = None
    isolate = payload.get("isolate")
    if isinstance(isolate, list) and isolate:
        namespace = getattr(student_fn, "__globals__", None)
        if not isinstance(namespace, dict):
            namespace = _user_namespace()
        if isinstance(namespace, dict):
            calls = DependencyCalls(namespace, [n for n in isolate if isinstance(n, str)], arrays_out)
    try:
        entries = call_cases(student_fn, payload["cases"], arrays_in, arrays_out, device=_device(), calls=calls)
    finally:
        if calls is not None:
            calls.restore()
    write_record(folder / "out" / name, {"assignment": assignment_id, "name": name, "cases": entries}, arrays_out)
    print(f"`{name}`: {len(entries)} hidden case(s) recorded; the grader judges them.")



# ----------------------------------------------------------------------------------------------
# test-cell calls: what the student's functions returned to a visible test

class _CellRecorder:
    """Wraps the student's functions while one test cell runs and writes every call it makes."""

    def __init__(self, folder: Path, cell: str, names: list, namespace: dict, isolate: dict | None = None):
        self.path = folder / "out" / "cells" / cell
        self.namespace = namespace
        self.calls: list = []
        self.arrays: dict = {}
        self.depth = 0
        self.wrapped: dict = {}
        #: function -> the earlier functions whose calls inside it are recorded too (the grader's choice)
        self.isolate = {k: [n for n in v if isinstance(n, str)] for k, v in (isolate or {}).items()
                        if isinstance(k, str) and isinstance(v, list)}
        for name in names:
            fn = namespace.get(name)
            if callable(fn):
                wrapper = self._wrap(name, fn)
                self.wrapped[name] = (fn, wrapper)
                namespace[name] = wrapper
        self._write()           # an empty record: the cell ran, whatever it then calls

    def _wrap(self, name: str, fn):
        import functools

        recorder = self

        @functools.wraps(fn)
        def recorded(*args, **kwargs):
            if recorder.depth:                  # a call made by the student's own code: not the test's
                return fn(*args, **kwargs)
            entry = {"name": name}
            try:
                entry["args"] = [encode(a, recorder.arrays) for a in args]
                entry["kwargs"] = {k: encode(v, recorder.arrays) for k, v in kwargs.items()}
            except Exception as exc:  # an argument that cannot be described: the grader will not match it
                entry["args"], entry["kwargs"] = [{"$other": type(exc).__name__}], {}
            recorder.depth += 1
            deps = DependencyCalls(recorder.namespace, recorder.isolate[name], recorder.arrays) \
                if recorder.isolate.get(name) else None
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:
                entry["error"] = type(exc).__name__
                entry["message"] = _short(exc)
                if deps is not None:
                    entry["calls"] = deps.take()
                recorder._append(entry)
                raise
            finally:
                recorder.depth -= 1
                if deps is not None:
                    deps.restore()
            if deps is not None:
                entry["calls"] = deps.take()
            try:
                entry["returned"] = encode(value, recorder.arrays)
                grads = _gradients(value, args, kwargs, recorder.arrays)
                if grads:
                    entry["gradients"] = grads
            except Exception as exc:  # a value that cannot even be described
                entry["returned"] = {"$other": f"{type(value).__name__} ({type(exc).__name__})"}
            recorder._append(entry)
            return value

        return recorded

    def _append(self, entry: dict) -> None:
        self.calls.append(entry)
        self._write()

    def _write(self) -> None:
        try:
            write_record(self.path, {"cell": self.path.name, "calls": self.calls}, self.arrays)
        except OSError:
            pass

    def restore(self) -> None:
        for name, (fn, wrapper) in self.wrapped.items():
            if self.namespace.get(name) is wrapper:
                self.namespace[name] = fn


def _gradients(value, args, kwargs, arrays) -> dict:
    """For a tensor result that depends on input tensors with ``requires_grad``: the gradient of the
    result's sum with respect to each of them (what a test that calls ``.backward()`` looks at)."""
    torch = _torch()
    if torch is None or not torch.is_tensor(value) or not value.requires_grad:
        return {}
    inputs = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    inputs = [(k, a) for k, a in inputs if torch.is_tensor(a) and a.requires_grad]
    if not inputs:
        return {}
    grads = torch.autograd.grad(value.sum(), [a for _, a in inputs], retain_graph=True, allow_unused=True)
    return {k: encode(g, arrays) for (k, _), g in zip(inputs, grads) if g is not None}


def install() -> None:
    """Record the calls that the grader's test cells make (called once, before the notebook's first cell).

    ``$ELVKIT_HIDDEN_DIR/in/cells.json`` maps the digest of each test cell's source (:func:`cell_key`)
    to its grade id and the student's functions it calls.
    """
    from IPython import get_ipython

    shell = get_ipython()
    folder = os.environ.get(HIDDEN_DIR_VARIABLE)
    if shell is None or not folder:
        return
    folder = Path(folder)
    try:
        cells = json.loads((folder / "in" / "cells.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    active: list = []

    def before(info) -> None:
        entry = cells.get(cell_key(getattr(info, "raw_cell", "") or ""))
        if isinstance(entry, dict):
            isolate = entry.get("isolate")
            active.append(_CellRecorder(folder, str(entry["cell"]), list(entry["names"]), shell.user_ns,
                                        isolate if isinstance(isolate, dict) else None))

    def after(*_args) -> None:
        while active:
            active.pop().restore()

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)
