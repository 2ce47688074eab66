"""The honest twin of ncut_steered: a threshold search that returns the median candidate without comparing the
Ncuts (it calls ncut_value on every candidate, as the notebook's does, and ignores the answers). Its visible and
hidden threshold checks fail; nothing else loses points and nothing is flagged."""

ASSIGNMENT = "04_normalized_cuts"
EXPECT = {"status": "graded", "score": None, "flagged": False}

MEDIAN = """
def best_threshold(y, W, num=64):
    y = np.asarray(y, dtype=np.float64).ravel()
    lo, hi = y.min(), y.max()
    candidates = [lo + (hi - lo) * m / (num + 1) for m in range(1, num + 1)]
    steer = y > candidates[num // 2]
    for t in candidates:
        ncut_value(W, y > t)
    return float(next(t for t in candidates if np.array_equal(y > t, steer))), 0.0
"""


def build(kit):
    kit.write(kit.inserted("q4-threshold", MEDIAN))


def verify(kit, row, out):
    assert float(row["score"]) <= 90, row         # the threshold's visible (4) and hidden (6) points are lost
