"""The candidate thresholds are np.linspace(min, max, num): the two ends are candidates, and the spacing is not
(max - min) / (num + 1).

Question: q4
Message: it is on np.linspace(min, max, num)
A threshold at max(y) puts no node in A (Ncut is infinite) and one at min(y) puts only the smallest node in B;
the notebook's num candidates lie strictly inside, lo + (hi - lo) * m / (num + 1) for m = 1..num, so the
search picks a different t whenever the best split falls between the two grids.
"""


def best_threshold(y, W, num=64):
    y = np.asarray(y, dtype=np.float64).ravel()
    best = (float(y.min()), np.inf)
    for t in np.linspace(y.min(), y.max(), num):
        value = ncut_value(W, y > t)
        if value < best[1]:
            best = (float(t), float(value))
    return best
