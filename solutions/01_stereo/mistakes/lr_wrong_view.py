"""Left-right check against the wrong view.

Question: q5
Looks up the right disparity at x + d_L, the lecture slide's index, which holds
in the opposite sign convention, not in this course's.
"""


def left_right_check(disp_left, disp_right, max_diff=1.0):
    dl = np.asarray(disp_left, dtype=np.float64)
    dr = np.asarray(disp_right, dtype=np.float64)
    h, w = dl.shape
    with np.errstate(invalid="ignore"):
        xr = np.rint(np.arange(w)[None, :] + dl)
    inside = np.isfinite(xr) & (xr >= 0) & (xr <= w - 1)
    partner = np.take_along_axis(dr, np.where(inside, xr, 0).astype(np.int64), axis=1)
    with np.errstate(invalid="ignore"):
        return inside & (np.abs(dl - partner) <= max_diff)
