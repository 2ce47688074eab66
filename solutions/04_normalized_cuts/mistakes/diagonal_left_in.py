"""The offset (0, 0) is kept: every pixel is joined to itself with weight 1.

Question: q1
Message: (0, 0) is not an offset
A self-loop is never cut but adds 1 to every degree and association, which biases every Ncut towards
splits with few pixels on the smaller side.
"""


def affinity(features, sigma_i, sigma_x, radius):
    F = np.asarray(features, dtype=np.float64)
    if F.ndim == 2:
        F = F[..., None]
    H, W = F.shape[:2]
    index = np.arange(H * W).reshape(H, W)
    r = int(math.ceil(radius))
    rows, cols, weights = [], [], []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx >= radius ** 2:
                continue
            y0, y1, x0, x1 = max(0, -dy), min(H, H - dy), max(0, -dx), min(W, W - dx)
            here, there = F[y0:y1, x0:x1], F[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
            w = np.exp(-((here - there) ** 2).sum(-1) / sigma_i ** 2) * np.exp(-(dy * dy + dx * dx) / sigma_x ** 2)
            rows.append(index[y0:y1, x0:x1].ravel())
            cols.append(index[y0 + dy:y1 + dy, x0 + dx:x1 + dx].ravel())
            weights.append(w.ravel())
    n = H * W
    return sp.csr_array((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
