"""The scales are squared twice: the exponents divide by sigma**4 (sigma_i ** 2 squared again).

Question: q1
Message: the scales are squared twice
With sigma_I = 0.1 the feature term divides by 1e-4 instead of 1e-2: every edge between pixels that differ
by more than the noise gets a weight near 0, and the graph falls apart into single pixels.
"""


def affinity(features, sigma_i, sigma_x, radius):
    F = np.asarray(features, dtype=np.float64)
    if F.ndim == 2:
        F = F[..., None]
    H, W = F.shape[:2]
    index = np.arange(H * W).reshape(H, W)
    si2, sx2 = sigma_i ** 2, sigma_x ** 2
    rows, cols, weights = [], [], []
    for dy, dx in neighbour_offsets(radius):
        y0, y1, x0, x1 = max(0, -dy), min(H, H - dy), max(0, -dx), min(W, W - dx)
        here, there = F[y0:y1, x0:x1], F[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
        w = np.exp(-((here - there) ** 2).sum(-1) / si2 ** 2) * np.exp(-(dy * dy + dx * dx) / sx2 ** 2)
        rows.append(index[y0:y1, x0:x1].ravel())
        cols.append(index[y0 + dy:y1 + dy, x0 + dx:x1 + dx].ravel())
        weights.append(w.ravel())
    n = H * W
    return sp.csr_array((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
