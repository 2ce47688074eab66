"""Evaluation metrics.

Stereo (Middlebury / KITTI conventions)
    * ``bad-k``: the fraction of evaluated pixels whose disparity error exceeds
      ``k`` pixels. A pixel without an estimate (NaN) counts as bad, so a
      method cannot improve its score by saying nothing.
    * MAE: mean absolute disparity error over pixels that have an estimate.
    * density: the fraction of evaluated pixels that have an estimate.
    * depth error: mean absolute error between two depth maps.

Optical flow (Middlebury / Sintel / KITTI conventions); flow is ``(H, W, 2)``
    * EPE: the endpoint error ``||f - f_gt||_2`` per pixel; AEE, its average.
    * Fl: the fraction of evaluated pixels whose EPE exceeds 3 px (KITTI also
      requires 5 % of the true motion: ``relative=0.05``). A pixel without an
      estimate counts as an outlier.

Evaluated pixels are those where the ground truth is finite, intersected with
an optional ``mask`` (for example the non-occluded pixels, or ``x >= 64``).
All functions accept numpy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_number, check_same_shape, describe
from .device import to_numpy

__all__ = ["bad_pixel_rate", "mean_absolute_error", "density", "depth_error", "stereo_metrics",
           "endpoint_error", "average_endpoint_error", "flow_outlier_rate", "flow_metrics", "adjusted_rand_index"]


def _prepare(disparity, ground_truth, mask):
    d = to_numpy(check_array(disparity, "disparity", ndim=2)).astype(np.float64)
    g = to_numpy(check_array(ground_truth, "ground_truth", ndim=2)).astype(np.float64)
    check_same_shape(d, g, "disparity", "ground_truth")
    return d, g, _evaluated(np.isfinite(g), mask)


def _evaluated(known: np.ndarray, mask) -> np.ndarray:
    """Pixels with ground truth, inside ``mask`` when one is given; at least one."""
    if mask is not None:
        m = to_numpy(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"`mask` must be a boolean array; got {describe(m)}.")
        check_same_shape(m, known, "mask", "ground_truth")
        known = known & m
    if not known.any():
        raise ValueError("no pixel to evaluate: the ground truth is unknown everywhere inside `mask`.")
    return known


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


def _flow_array(x, name):
    f = to_numpy(check_array(x, name, ndim=3)).astype(np.float64)
    if f.shape[2] != 2:
        raise ValueError(f"`{name}` must have shape (H, W, 2): (u, v) per pixel; got {describe(f)}.")
    return f


def endpoint_error(flow, ground_truth) -> np.ndarray:
    """Endpoint error per pixel, ``||flow - ground_truth||_2``.

    Parameters
    ----------
    flow, ground_truth : array, shape (H, W, 2)

    Returns
    -------
    ndarray, shape (H, W), float64
        NaN where either flow is unknown.
    """
    f = _flow_array(flow, "flow")
    g = _flow_array(ground_truth, "ground_truth")
    check_same_shape(f, g, "flow", "ground_truth")
    return np.sqrt(((f - g) ** 2).sum(axis=2))


def _flow_prepare(flow, ground_truth, mask):
    epe = endpoint_error(flow, ground_truth)
    g = _flow_array(ground_truth, "ground_truth")
    return epe, g, _evaluated(np.isfinite(g).all(axis=2), mask)


def average_endpoint_error(flow, ground_truth, *, mask=None) -> float:
    """Mean endpoint error (AEE) over evaluated pixels that have an estimate (NaN if none has).

    Parameters
    ----------
    flow : array, shape (H, W, 2)
        Estimated flow; NaN where the method gives none.
    ground_truth : array, shape (H, W, 2)
        True flow; NaN where unknown.
    mask : bool array, shape (H, W), optional
        Restrict the evaluation to these pixels (for example the non-occluded ones).
    """
    epe, _, ev = _flow_prepare(flow, ground_truth, mask)
    e = epe[ev]
    e = e[np.isfinite(e)]
    return float(e.mean()) if e.size else float("nan")


def flow_outlier_rate(flow, ground_truth, threshold: float = 3.0, *, relative: float | None = None,
                      mask=None) -> float:
    """Fl: the fraction of evaluated pixels with EPE > ``threshold``; missing estimates count as outliers.

    With ``relative=0.05`` a pixel is an outlier only if its EPE also exceeds
    5 % of the true motion's length (KITTI 2015's Fl).
    """
    threshold = check_number(threshold, "threshold", low=0)
    epe, g, ev = _flow_prepare(flow, ground_truth, mask)
    e = epe[ev]
    bad = ~np.isfinite(e) | (e > threshold)
    if relative is not None:
        relative = check_number(relative, "relative", low=0)
        mag = np.sqrt((g[ev] ** 2).sum(axis=1))
        bad &= ~np.isfinite(e) | (e > relative * mag)
    return float(bad.mean())


def flow_metrics(flow, ground_truth, *, mask=None) -> dict:
    """All flow metrics in one dict: ``AEE`` (px), ``Fl`` (fraction, EPE > 3 px), ``density`` (fraction)."""
    epe, _, ev = _flow_prepare(flow, ground_truth, mask)
    return {
        "AEE": average_endpoint_error(flow, ground_truth, mask=mask),
        "Fl": flow_outlier_rate(flow, ground_truth, mask=mask),
        "density": float(np.isfinite(epe[ev]).mean()),
    }


# ----------------------------------------------------------------------------------------------
# object discovery

def adjusted_rand_index(true_labels, pred_labels, *, foreground_only: bool = True) -> np.ndarray:
    """The adjusted Rand index between two labellings of each image; with ``foreground_only`` (FG-ARI, the
    object-discovery convention of Greff et al. and Locatello et al.) only pixels whose true label is not 0
    (the background) are compared.

    Parameters
    ----------
    true_labels, pred_labels : array_like of int, shape (H, W) or (B, H, W)
        Instance ids; the predicted ids need not match the true ones (the index is invariant to renaming).

    Returns
    -------
    ndarray, shape (B,) (a 0-d array for one image)
        1 for the same partition, about 0 for a random one. An image with fewer than two compared pixels, or
        whose two labellings both put every compared pixel in one group, scores 1.
    """
    t = np.asarray(to_numpy(true_labels))
    p = np.asarray(to_numpy(pred_labels))
    check_same_shape(t, p, "true_labels", "pred_labels")
    single = t.ndim == 2
    if t.ndim not in (2, 3):
        raise ValueError(f"labels must have shape (H, W) or (B, H, W); got {t.shape}")
    t, p = t.reshape(len(t) if not single else 1, -1), p.reshape(len(p) if not single else 1, -1)
    out = np.empty(len(t))
    for i in range(len(t)):
        keep = t[i] != 0 if foreground_only else np.ones(t.shape[1], bool)
        out[i] = _ari(t[i][keep], p[i][keep])
    return out[0] if single else out


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)
    if n < 2:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), np.int64)
    np.add.at(table, (ai, bi), 1)

    def pairs(x):
        return float((x * (x - 1) // 2).sum())

    index, rows, cols, total = pairs(table), pairs(table.sum(1)), pairs(table.sum(0)), n * (n - 1) / 2
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
