"""Right-view cost volume shifted the wrong way.

Question: q5
Reads the left volume at x - d: the right pixel x is the left pixel x + d.
"""


def right_cost_volume(cost):
    cost = np.asarray(cost)
    n, h, w = cost.shape
    out = np.full_like(cost, cost.max())
    for d in range(min(n, w)):
        out[d, :, d:] = cost[d, :, : w - d]
    return out
