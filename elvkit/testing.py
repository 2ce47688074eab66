"""What the notebooks' visible test cells call: comparisons whose failures teach.

:func:`assert_close` compares an answer with the expected one using
per-dtype tolerances (the table :data:`TOLERANCES`, as in kornia's test
suite), and on failure says what was expected, what came, where they differ,
and -- when the answer matches a known wrong answer -- which mistake that is.

Imported in a Jupyter kernel, it also makes a test that calls a function not yet written say which function
that is and what to do (:func:`teach_not_written`), in place of a bare ``NotImplementedError``.
"""

from __future__ import annotations

import numpy as np

from .device import to_numpy

__all__ = ["TOLERANCES", "tolerance", "assert_close", "assert_shape", "assert_true", "StudentCheckError",
           "teach_not_written"]

#: ``(rtol, atol)`` by dtype of the compared values.
TOLERANCES = {
    "float16": (1e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),
    "float32": (1e-5, 1e-5),
    "float64": (1e-10, 1e-10),
    "int": (0.0, 0.0),
    "bool": (0.0, 0.0),
}


class StudentCheckError(AssertionError):
    """A visible test failed; the message explains what to look at.

    In Jupyter the error is shown as its message alone: the frames inside elvkit
    would only distract from what to fix.
    """

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def _dtype_key(x) -> str:
    dtype = getattr(x, "dtype", None)
    name = str(dtype if dtype is not None else np.asarray(x).dtype).replace("torch.", "")
    if name in TOLERANCES:
        return name
    if name.startswith(("int", "uint")):
        return "int"
    return "float64" if name.startswith("float") else "float32"


def tolerance(x) -> tuple[float, float]:
    """The default ``(rtol, atol)`` for comparing with ``x``."""
    return TOLERANCES[_dtype_key(x)]


def _fmt_shape(x) -> str:
    return str(tuple(np.shape(x)))


def _close(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    a = a.astype(np.float64) if a.dtype.kind != "b" else a
    e = e.astype(np.float64) if e.dtype.kind != "b" else e
    if a.dtype.kind == "b" or e.dtype.kind == "b":
        return a == e
    finite = np.isfinite(e)
    with np.errstate(invalid="ignore", over="ignore"):
        # the tolerance only where the expected value is finite: at an expected +-inf, |a - inf| <= inf would
        # accept any number; there (and at NaN) only the same special value passes
        ok = finite & (np.abs(a - e) <= atol + rtol * np.abs(np.where(finite, e, 0.0)))
    ok |= ~finite & (a == e)  # the same infinity
    if equal_nan:
        ok |= np.isnan(a) & np.isnan(e)
    return ok


def _constant(x: np.ndarray):
    """The one value every element of ``x`` holds (all zeros, all NaN...), or None."""
    if x.size == 0 or x.dtype.kind not in "biuf":
        return None
    flat = x.reshape(-1)
    first = flat[0]
    if x.dtype.kind == "f" and np.isnan(first):
        return first if np.isnan(flat).all() else None
    return first if (flat == first).all() else None


def _position(index: tuple, axes) -> str:
    """``(2, 5, 7)`` as the reader calls it: ``disparity d=2, row y=5, column x=7`` when the axes are named."""
    if axes and len(axes) == len(index):
        return ", ".join(f"{axis}={i}" if axis else str(i) for axis, i in zip(axes, index))
    return f"index {index}"


def assert_close(actual, expected, *, name: str = "the result", rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = True, check_dtype: bool = False,
                 mistakes: dict | None = None, hint: str | None = None, where=None, axes=None) -> None:
    """Assert that ``actual`` equals ``expected`` within tolerances, explaining any difference.

    Parameters
    ----------
    actual : array_like or torch.Tensor
        The student's answer.
    expected : array_like or torch.Tensor
        The right answer.
    name : str
        What is compared, as the student would call it ("the depth map").
    rtol, atol : float, optional
        Tolerances; by default from :data:`TOLERANCES` for the less precise of the two
        floating-point dtypes (``expected``'s for integers and masks).
    equal_nan : bool
        NaN in both places counts as equal.
    check_dtype : bool
        Also require the same dtype kind (float / integer / bool).
    mistakes : dict, optional
        Known wrong answers: ``{"explanation of the mistake": wrong_value}``.
        When ``actual`` matches one of them, its explanation is the message -- unless ``actual`` is
        all zeros or all NaN, what a function not written yet returns: that is no evidence of the
        mistake, and the message says what the values are instead. Any other match is evidence, a
        single number (a loss) or one value repeated (10 where 1 was expected) included.
    hint : str, optional
        A sentence added to any failure message.
    where : bool array_like, optional
        Compare only where True (broadcast to the shape); positions in messages stay those of
        the whole array.
    axes : sequence of str, optional
        Names of the axes, for messages: ``("disparity d", "row y", "column x")`` reports the
        first difference as ``disparity d=2, row y=5, column x=7``.

    Raises
    ------
    StudentCheckError
        With a message saying what came, what was expected and what to check.
    """
    __tracebackhide__ = True   # IPython and pytest show the test's line, not this function's
    extra = f"\nHint: {hint}" if hint else ""
    if actual is None:
        raise StudentCheckError(f"{name} is None: did the function forget to `return` its result?{extra}")
    try:
        a = to_numpy(actual)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise StudentCheckError(f"{name} could not be read as an array ({exc}).{extra}") from None
    e = to_numpy(expected)
    if a.dtype == object:
        raise StudentCheckError(f"{name} is an array of Python objects, not numbers; got {type(actual).__name__}.{extra}")
    if a.shape != e.shape:
        msg = f"{name} has shape {_fmt_shape(a)}, expected {_fmt_shape(e)}."
        if sorted(a.shape) == sorted(e.shape) and a.ndim > 1:
            msg += " The same sizes in another order: are the axes transposed or stacked along the wrong axis?"
        elif a.size == e.size:
            msg += " Same number of elements: a reshape or a missing/extra axis?"
        raise StudentCheckError(msg + extra)
    if check_dtype and a.dtype.kind != e.dtype.kind and not (a.dtype.kind in "iu" and e.dtype.kind in "iu"):
        raise StudentCheckError(f"{name} has dtype {a.dtype}, expected {e.dtype}.{extra}")
    d_rtol, d_atol = tolerance(expected)
    if a.dtype.kind == "f" and e.dtype.kind == "f":   # a float32 answer to exact values: float32 tolerances
        d_rtol, d_atol = max(d_rtol, tolerance(a)[0]), max(d_atol, tolerance(a)[1])
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    compared = np.ones(a.shape, bool) if where is None else np.broadcast_to(np.asarray(to_numpy(where), bool), a.shape)
    ok = _close(a, e, rtol, atol, equal_nan) | ~compared
    if ok.all():
        return
    constant = _constant(a[compared])
    for explanation, wrong in (mistakes or {}).items():
        w = to_numpy(wrong)
        if w.shape != a.shape or not (_close(a, w, rtol, atol, equal_nan) | ~compared).all():
            continue
        if constant is not None and _placeholder(constant):
            continue            # all zeros or NaN is what a function not written yet returns: no evidence
        raise StudentCheckError(f"{name} is wrong in a recognisable way: {explanation}{extra}")
    bad = np.argwhere(~ok)
    first = tuple(int(i) for i in bad[0]) if a.ndim else ()
    a_v, e_v = (a[first].item(), e[first].item()) if a.ndim else (a.item(), e.item())
    n = int(compared.sum())
    msg = [f"{name} differs from the expected value at {len(bad)} of {n} {'compared ' if where is not None else ''}"
           f"position(s) (tolerance rtol={rtol:g}, atol={atol:g})."]
    if a.ndim:
        msg.append(f"First at {_position(first, axes)}: got {a_v!r}, expected {e_v!r}.")
    else:
        msg.append(f"Got {a_v!r}, expected {e_v!r}.")
    if constant is not None and n > 1:
        placeholder = bool(np.isnan(constant) or constant == 0)
        value = "NaN" if np.isnan(constant) else repr(constant.item())
        msg.append(f"Every compared value is {value}" + (": is the function still a placeholder, or does it return "
                                                         "before computing anything?" if placeholder else "."))
    if a.dtype.kind in "fiu" and e.dtype.kind in "fiu":
        af, ef = a.astype(np.float64)[compared], e.astype(np.float64)[compared]
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(af - ef)
        both = np.isfinite(diff) & ~ok[compared]
        if both.any():
            msg.append(f"Largest absolute difference: {diff[both].max():.6g}.")
        nan_a, nan_e = np.isnan(af), np.isnan(ef)
        wrong_inf = np.isinf(ef) & (af != ef)
        if wrong_inf.any():
            sign = "+" if ef[wrong_inf][0] > 0 else "-"
            msg.append(f"{int(wrong_inf.sum())} value(s) should be {sign}inf (the first is {float(af[wrong_inf][0])!r}):"
                       " is the formula's special case (a division by zero) handled as stated, with its sign?")
        if (np.isinf(af) & np.isfinite(ef)).any():
            msg.append(f"{int((np.isinf(af) & np.isfinite(ef)).sum())} value(s) are infinite where a finite number "
                       "was expected (a division by zero?).")
        if (nan_a & ~nan_e).any():
            msg.append(f"{int((nan_a & ~nan_e).sum())} value(s) are NaN where a number was expected.")
        if (nan_e & ~nan_a).any():
            msg.append(f"{int((nan_e & ~nan_a).sum())} value(s) should be NaN (unknown) but are numbers.")
        if af.size > 1 and constant is None and np.allclose(af, -ef, rtol=rtol, atol=atol, equal_nan=True):
            msg.append("Your values are the expected ones with the opposite sign.")
    raise StudentCheckError("\n".join(msg) + extra)


def _placeholder(value) -> bool:
    """Whether a single value is what a function not written yet returns: 0 or NaN."""
    v = np.asarray(value, dtype=np.float64) if np.asarray(value).dtype.kind in "biuf" else None
    return v is None or bool(np.isnan(v)) or bool(v == 0)


def assert_shape(actual, shape, *, name: str = "the result", hint: str | None = None) -> None:
    """Assert an array's shape; ``None`` in ``shape`` matches any size."""
    __tracebackhide__ = True
    extra = f"\nHint: {hint}" if hint else ""
    if actual is None:
        raise StudentCheckError(f"{name} is None: did the function forget to `return` its result?{extra}")
    got = tuple(np.shape(to_numpy(actual)))
    want = tuple(shape)
    if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
        pretty = "(" + ", ".join("any" if w is None else str(w) for w in want) + ")"
        raise StudentCheckError(f"{name} has shape {got}, expected {pretty}.{extra}")


def assert_true(condition, message: str) -> None:
    """Assert a condition with a teaching message (``assert`` statements vanish under ``python -O``)."""
    __tracebackhide__ = True
    if not bool(condition):
        raise StudentCheckError(message)


def _not_written(shell, etype, value, tb, tb_offset=None):
    """IPython's handler of a ``NotImplementedError`` with no message: it says which function is still to write
    and what to do, instead of a bare ``NotImplementedError`` at the end of a traceback."""
    frame = tb
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    name = frame.tb_frame.f_code.co_name if frame is not None else "<module>"
    if not value.args and name not in ("<module>", "<lambda>"):
        value.args = (f"`{name}` is not written yet: fill in its cell (marked `# YOUR CODE HERE`), delete "
                      "`raise NotImplementedError()`, run that cell, then this one again.",)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def teach_not_written() -> bool:
    """In a Jupyter kernel, make a function that is not written yet say so when a test calls it (see
    :func:`_not_written`); the error stays an error, so the cell still fails. Done when this module is imported;
    returns False outside IPython."""
    try:
        shell = get_ipython()  # noqa: F821 (defined by IPython in a kernel)
    except NameError:
        return False
    shell.set_custom_exc((NotImplementedError,), _not_written)
    return True


teach_not_written()
