"""Evaluation metrics.

Stereo (Middlebury / KITTI conventions)
    * ``bad-k``: the fraction of evaluated pixels whose disparity error exceeds
      ``k`` pixels. A pixel without an estimate (NaN) counts as bad, so a
      method cannot improve its score by saying nothing.
    * MAE: mean absolute disparity error over pixels that have an estimate.
    * density: the fraction of evaluated pixels that have an estimate.
    * depth error: mean absolute error between two depth maps.

Evaluated pixels are those where the ground truth is finite, intersected with
an optional ``mask`` (for example the non-occluded pixels, or ``x >= 64``).
All functions accept numpy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_number, check_same_shape, describe
from .device import to_numpy

__all__ = ["bad_pixel_rate", "mean_absolute_error", "density", "depth_error", "stereo_metrics"]


def _prepare(disparity, ground_truth, mask):
    d = to_numpy(check_array(disparity, "disparity", ndim=2)).astype(np.float64)
    g = to_numpy(check_array(ground_truth, "ground_truth", ndim=2)).astype(np.float64)
    check_same_shape(d, g, "disparity", "ground_truth")
    evaluated = np.isfinite(g)
    if mask is not None:
        m = to_numpy(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"`mask` must be a boolean array; got {describe(m)}.")
        check_same_shape(m, g, "mask", "ground_truth")
        evaluated &= m
    if not evaluated.any():
        raise ValueError("no pixel to evaluate: the ground truth is unknown everywhere inside `mask`.")
    return d, g, evaluated


def bad_pixel_rate(disparity, ground_truth, threshold: float = 2.0, *, mask=None) -> float:
    """Fraction of evaluated pixels with ``|d - d_gt| > threshold``; missing estimates count as bad.

    Parameters
    ----------
    disparity : array, shape (H, W)
        Estimated disparity in pixels; NaN where the method gives none.
    ground_truth : array, shape (H, W)
        True disparity; NaN (or inf) where unknown.
    threshold : float
        Error threshold in pixels, e.g. 1.0 or 2.0.
    mask : bool array, shape (H, W), optional
        Restrict the evaluation to these pixels.

    Returns
    -------
    float in [0, 1]
    """
    threshold = check_number(threshold, "threshold", low=0)
    d, g, ev = _prepare(disparity, ground_truth, mask)
    err = np.abs(d[ev] - g[ev])
    bad = ~np.isfinite(err) | (err > threshold)
    return float(bad.mean())


def mean_absolute_error(disparity, ground_truth, *, mask=None) -> float:
    """Mean ``|d - d_gt|`` over evaluated pixels that have an estimate (NaN if none has)."""
    d, g, ev = _prepare(disparity, ground_truth, mask)
    err = np.abs(d[ev] - g[ev])
    err = err[np.isfinite(err)]
    return float(err.mean()) if err.size else float("nan")


def density(disparity, ground_truth=None, *, mask=None) -> float:
    """Fraction of evaluated pixels (or of all pixels) that have a finite estimate."""
    if ground_truth is None:
        d = to_numpy(check_array(disparity, "disparity", ndim=2))
        ev = np.ones(d.shape, bool) if mask is None else to_numpy(mask).astype(bool)
    else:
        d, _, ev = _prepare(disparity, ground_truth, mask)
    return float(np.isfinite(d[ev]).mean())


def depth_error(depth, depth_gt, *, mask=None) -> float:
    """Mean absolute depth error over pixels where both depths are finite (unit of the inputs)."""
    z, zg, ev = _prepare(depth, depth_gt, mask)
    err = np.abs(z[ev] - zg[ev])
    err = err[np.isfinite(err)]
    return float(err.mean()) if err.size else float("nan")


def stereo_metrics(disparity, ground_truth, *, mask=None, depth=None, depth_gt=None) -> dict:
    """All stereo metrics in one dict.

    Keys: ``bad-1.0``, ``bad-2.0`` (fractions), ``MAE`` (px), ``density``
    (fraction), and ``depth MAE`` when ``depth`` and ``depth_gt`` are given.
    """
    out = {
        "bad-1.0": bad_pixel_rate(disparity, ground_truth, 1.0, mask=mask),
        "bad-2.0": bad_pixel_rate(disparity, ground_truth, 2.0, mask=mask),
        "MAE": mean_absolute_error(disparity, ground_truth, mask=mask),
        "density": density(disparity, ground_truth, mask=mask),
    }
    if depth is not None and depth_gt is not None:
        out["depth MAE"] = depth_error(depth, depth_gt, mask=mask)
    return out
