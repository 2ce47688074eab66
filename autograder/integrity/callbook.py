"""The calls a student's function made to the earlier functions, recorded by the kernel, as look-ups that a fresh
copy of the reference calls in their place (see :mod:`autograder.integrity.isolation`). Recorded answers are data,
decoded from the record's closed set of types; a recorded exception is only a type name.
"""

from __future__ import annotations

import copy

import numpy as np

from ..kernel_side.records import Other, RecordError, decode

__all__ = ["CallBook", "NoAnswer", "listed", "same"]

#: how closely the reference's arguments must match the student's recorded ones (float rounding)
RTOL, ATOL = 1e-4, 1e-6
#: how far an earlier function's answer may be from the reference's and still count as the same answer (float32
#: rounding, which grows through a network: an earlier function this close is not "different", and its answers
#: may stand in whether or not its own test failed)
SAME_RTOL, SAME_ATOL = 1e-3, 1e-5


class NoAnswer(Exception):
    """The reference asked an earlier function something the student's code never asked it (or got an answer that
    cannot stand in for one): the case cannot be judged apart from the earlier functions. ``gap``: the earlier
    function the student's code called with other arguments than the reference did, when that is why."""

    def __init__(self, message: str, gap: str = "", unusable: str = ""):
        super().__init__(message)
        self.gap, self.unusable = gap, unusable


def listed(names) -> str:
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


def same(a, b, rtol: float, atol: float) -> bool:
    """``a`` and ``b`` hold the same structure and the same numbers within the tolerances."""
    import torch

    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) \
            and all(same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() \
            and all(same(a[k], b[k], rtol, atol) for k in a)
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


class CallBook:
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
                raise NoAnswer("some of its calls were not recorded")
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
            if same(want, self._bind(name, got_args, got_kwargs), RTOL, ATOL):
                if isinstance(returned, _Raise):        # the student's function raised here: so does its stand-in
                    self.used.add(name)
                    self.differ.add(name)
                    raise returned.exception()
                values = _values(returned)
                if not values or any(not np.isfinite(v).all() for v in values) \
                        or all(v.size > 1 and np.ptp(v) == 0 for v in values) or self._constant(name):
                    raise NoAnswer(f"what your `{name}` returned cannot stand in for the reference's (not finite, "
                                    "or one number everywhere)", unusable=name)
                self.used.add(name)
                self.passthrough = True
                try:
                    if not same(returned, original(), SAME_RTOL, SAME_ATOL):
                        self.differ.add(name)
                except Exception:
                    self.differ.add(name)
                finally:
                    self.passthrough = False
                return _like(copy.deepcopy(returned), args)
        raise NoAnswer(f"it calls `{name}` with arguments that your code never passed it", gap=name)

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
                        agrees = same(returned, fn(*copy.deepcopy(args), **copy.deepcopy(kwargs)), SAME_RTOL,
                                     SAME_ATOL)
                    except Exception:
                        agrees = False
                    if not agrees:
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
            if not any(same(bound, seen, 0.0, 0.0) for seen, _ in distinct):
                distinct.append((bound, returned))
        return len(distinct) >= 3 and all(same(r, distinct[0][1], 0.0, 0.0) for _, r in distinct[1:])

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
