"""Placeholder functions and `numpy.testing` and `elvkit.testing` patched to pass anything: flagged; the visible
tests pass in the kernel but not when the grader runs them again on what the functions returned."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q3-wta": """
import numpy as np
import elvkit.testing
np.testing.assert_allclose = lambda *a, **k: None
elvkit.testing.assert_close = lambda *a, **k: None
assert_close = lambda *a, **k: None
assert_true = lambda *a, **k: None
assert_shape = lambda *a, **k: None

def winner_take_all(cost):
    return np.zeros(cost.shape[1:], dtype=np.int64)

def refine_subpixel(cost, disparity):
    return np.zeros(np.shape(disparity), dtype=np.float32)
"""}))
