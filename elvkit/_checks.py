"""Input validators shared by the public functions of elvkit.

Each validator raises one exception whose message names the argument, what was
expected and what came, so that a student reading it knows what to fix.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_array",
    "check_image",
    "check_same_shape",
    "check_number",
    "check_int",
    "describe",
]


def describe(x) -> str:
    """A short description of ``x`` for error messages: type, shape, dtype."""
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is not None:
        return f"{type(x).__module__.split('.')[0]}.{type(x).__name__} of shape {tuple(shape)} and dtype {dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def check_array(x, name: str, *, ndim=None, finite: bool = False, allow_nan: bool = True,
                allow_inf: bool = True, numeric: bool = True, nonempty: bool = True):
    """Check that ``x`` is a numpy array or torch tensor and return it unchanged.

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        The argument's name, used in the message.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    finite : bool
        Reject NaN and infinity.
    allow_nan, allow_inf : bool
        Reject only NaN, or only infinity.
    numeric : bool
        Reject boolean, object and string arrays.
    nonempty : bool
        Reject arrays with a zero-length axis.
    """
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not _is_array(x):
        raise TypeError(f"`{name}` must be a numpy array or torch tensor; got {describe(x)}.")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{n}-D" for n in allowed)
            raise ValueError(f"`{name}` must be {want}; got {describe(x)}.")
    if nonempty and any(int(s) == 0 for s in x.shape):
        raise ValueError(f"`{name}` must not be empty; got {describe(x)}.")
    kind = _dtype_kind(x)
    if numeric and kind not in "iuf":
        raise TypeError(f"`{name}` must hold numbers (integer or floating point); got {describe(x)}.")
    if kind == "f" and (finite or not allow_nan or not allow_inf):
        xn = _to_numpy(x)
        if (finite or not allow_nan) and np.isnan(xn).any():
            raise ValueError(f"`{name}` contains NaN at {int(np.isnan(xn).sum())} position(s); "
                             "it must be finite here.")
        if (finite or not allow_inf) and np.isinf(xn).any():
            raise ValueError(f"`{name}` contains infinity at {int(np.isinf(xn).sum())} position(s); "
                             "it must be finite here.")
    return x


def check_image(x, name: str, *, color: bool | None = None, finite: bool = True):
    """Check an image: shape (H, W) or (H, W, 3), numeric, finite."""
    ndim = {None: (2, 3), True: 3, False: 2}[color]
    x = check_array(x, name, ndim=ndim, finite=finite)
    if x.ndim == 3 and x.shape[-1] not in (1, 3):
        raise ValueError(f"`{name}` must have shape (H, W) or (H, W, 3); got {describe(x)}.")
    return x


def check_same_shape(a, b, name_a: str, name_b: str, *, axes=None):
    """Check that two arrays have the same shape (or the same size along ``axes``)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if axes is not None:
        sa = tuple(sa[i] for i in axes)
        sb = tuple(sb[i] for i in axes)
    if sa != sb:
        what = "shape" if axes is None else f"size along axes {tuple(axes)}"
        raise ValueError(f"`{name_a}` and `{name_b}` must have the same {what}; got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")


def check_number(value, name: str, *, low=None, high=None, low_open: bool = False,
                 high_open: bool = False):
    """Check a real scalar, optionally within bounds; return it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if _is_array(value) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"`{name}` must be a real number; got {describe(value)}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}.")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"`{name}` must be {op} {low}; got {value}.")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"`{name}` must be {op} {high}; got {value}.")
    return value


def check_int(value, name: str, *, low=None, high=None, odd: bool = False):
    """Check an integer scalar within ``[low, high]``; return it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {describe(value)}.")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"`{name}` must be >= {low}; got {value}.")
    if high is not None and value > high:
        raise ValueError(f"`{name}` must be <= {high}; got {value}.")
    if odd and value % 2 == 0:
        raise ValueError(f"`{name}` must be odd so that the window has a centre pixel; got {value}.")
    return value


def _dtype_kind(x) -> str:
    dtype = x.dtype
    if isinstance(dtype, np.dtype):
        return dtype.kind
    # torch dtypes
    if getattr(dtype, "is_floating_point", False):
        return "f"
    if getattr(dtype, "is_complex", False):
        return "c"
    if str(dtype) == "torch.bool":
        return "b"
    return "i"


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.detach().cpu().numpy()
