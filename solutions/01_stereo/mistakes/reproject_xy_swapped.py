"""Rows and columns swapped in the reprojection.

Question: q1
np.mgrid returns the row index first; this student unpacks it as (x, y).
"""


def reproject_to_3d(disparity, calib):
    z = disparity_to_depth(disparity, calib.baseline, calib.focal, calib.doffs)
    z = np.where(np.isfinite(z), z, np.nan)
    h, w = z.shape
    x, y = np.mgrid[0:h, 0:w]
    return np.stack([(x - calib.cx) * z / calib.focal, (y - calib.cy) * z / calib.focal, z], axis=-1)
