"""The eigenvector is split at 0 instead of at the best of the candidate thresholds.

Question: q4
Message: the threshold is 0, the sign of y
0 is the natural sign split, but the second eigenvector of an unbalanced image crosses 0 away from the
weakest boundary; Shi and Malik search the threshold that minimises Ncut.
"""


def best_threshold(y, W, num=64):
    y = np.asarray(y, dtype=np.float64).ravel()
    return 0.0, float(ncut_value(W, y > 0))
