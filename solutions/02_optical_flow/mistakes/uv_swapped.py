"""u and v swapped in the Lucas-Kanade solution.

Question: q3
Solves the normal equations correctly but stacks the result as (v, u).
"""


def lucas_kanade(I1, I2, window=15, min_eigenvalue=1e-2):
    Ix, Iy, It = image_gradients(I1, I2)
    G = structure_tensor(Ix, Iy, window)
    bx, by = -window_sum(Ix * It, window), -window_sum(Iy * It, window)
    a, b, c = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
    det = a * c - b * b
    reliable = smallest_eigenvalue(G) >= min_eigenvalue
    safe = np.where(reliable, det, 1.0)
    u = (c * bx - b * by) / safe
    v = (a * by - b * bx) / safe
    flow = np.stack([v, u], axis=-1).astype(np.float32)
    flow[~reliable] = np.nan
    return flow
