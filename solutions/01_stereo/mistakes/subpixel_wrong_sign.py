"""Sub-pixel offset with the wrong sign.

Question: q3
Writes (C(d+1) - C(d-1)) in the numerator, moving away from the parabola's vertex.
"""


def refine_subpixel(cost, disparity):
    cost = np.asarray(cost, dtype=np.float32)
    d = np.asarray(disparity).astype(np.int64)
    n = cost.shape[0]
    inner = (d > 0) & (d < n - 1)
    dc = np.clip(d, 1, n - 2)
    c_prev = np.take_along_axis(cost, (dc - 1)[None], axis=0)[0]
    c_mid = np.take_along_axis(cost, dc[None], axis=0)[0]
    c_next = np.take_along_axis(cost, (dc + 1)[None], axis=0)[0]
    denom = c_prev - 2.0 * c_mid + c_next
    ok = inner & (denom > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(ok, (c_next - c_prev) / (2.0 * denom), 0.0)
    return (d + offset).astype(np.float32)
