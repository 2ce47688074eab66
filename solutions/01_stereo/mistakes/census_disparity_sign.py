"""Disparity sign flipped in the census cost.

Question: q2
Uses np.roll with a positive shift, so the left code at x meets the right code at x + d.
"""


def census_cost(left, right, max_disp, window=5):
    code_l = census_transform(left, window)
    code_r = census_transform(right, window)
    h, w = code_l.shape
    n_bits = window * window - 1
    cost = np.full((max_disp, h, w), n_bits, dtype=np.uint8)
    for d in range(max_disp):
        shifted = np.roll(code_r, -d, axis=1)
        cost[d] = np.bitwise_count(code_l ^ shifted)
        if d:
            cost[d, :, w - d:] = n_bits
    return cost
