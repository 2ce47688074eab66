"""SGM written in NumPy: tensors come back as arrays, and never run on the GPU.

Question: q4
Converts the cost to NumPy at the start; the recursion is right but a torch
input returns a NumPy array, and nothing runs on elvkit.device().
"""


def aggregate_sgm(cost, P1, P2, directions=4):
    C = np.asarray(elvkit.to_numpy(cost), dtype=np.float32).transpose(1, 2, 0)   # (H, W, D)
    h, w, n = C.shape

    def step(prev, c):
        m = prev.min(axis=-1, keepdims=True)
        best = np.minimum(prev, m + P2)
        best[..., 1:] = np.minimum(best[..., 1:], prev[..., :-1] + P1)
        best[..., :-1] = np.minimum(best[..., :-1], prev[..., 1:] + P1)
        return c + best - m

    S = np.zeros_like(C)
    for xs in (range(w), range(w - 1, -1, -1)):
        prev = None
        for x in xs:
            prev = C[:, x] if prev is None else step(prev, C[:, x])
            S[:, x] += prev
    for ys in (range(h), range(h - 1, -1, -1)):
        prev = None
        for y in ys:
            prev = C[y] if prev is None else step(prev, C[y])
            S[y] += prev
    if directions == 8:
        for dx, dy in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
            L = np.zeros_like(C)
            xs = range(w) if dx > 0 else range(w - 1, -1, -1)
            ys = range(h) if dy > 0 else range(h - 1, -1, -1)
            for x in xs:
                for y in ys:
                    px, py = x - dx, y - dy
                    if 0 <= px < w and 0 <= py < h:
                        L[y, x] = step(L[py, px], C[y, x])
                    else:
                        L[y, x] = C[y, x]
            S += L
    return S.transpose(2, 0, 1)
