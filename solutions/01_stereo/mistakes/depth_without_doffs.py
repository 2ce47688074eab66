"""Depth without Middlebury's doffs.

Question: q1
The lecture's Z = Bf/d, used on Middlebury data whose disparities are measured
between principal points that are doffs pixels apart.
"""


def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    d = np.asarray(disparity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = baseline * focal / d
    depth = np.where(d > 0, depth, np.inf)
    return np.where(np.isfinite(d), depth, np.nan)
