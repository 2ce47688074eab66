"""Reliability tested on one pixel's products instead of the window's structure tensor.

Question: q3
Takes the smaller eigenvalue of [[Ix^2, Ix Iy], [Ix Iy, Iy^2]] at the centre pixel. That matrix
has rank one, so its smaller eigenvalue is (numerically) zero and almost no window counts as reliable.
"""


def lucas_kanade(I1, I2, window=15, min_eigenvalue=1e-2):
    Ix, Iy, It = image_gradients(I1, I2)
    G = structure_tensor(Ix, Iy, window)
    bx, by = -window_sum(Ix * It, window), -window_sum(Iy * It, window)
    a, b, c = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
    det = a * c - b * b
    pixel = np.stack([np.stack([Ix * Ix, Ix * Iy], -1), np.stack([Ix * Iy, Iy * Iy], -1)], -2)
    reliable = smallest_eigenvalue(pixel) >= min_eigenvalue
    safe = np.where(reliable, det, 1.0)
    u = (c * bx - b * by) / safe
    v = (a * by - b * bx) / safe
    flow = np.stack([u, v], axis=-1).astype(np.float32)
    flow[~reliable] = np.nan
    return flow
