"""Placeholder functions, except that `winner_take_all` returns the visible test's answer for exactly the
visible test's input: it earns that test's 2 points, as in any autograder, and nothing else (the hidden and
end-to-end checks use inputs nobody knows in advance). The twin of `forged_visible_record`."""

EXPECT = {"status": "graded", "score": 2, "flagged": False}


def build(kit):
    kit.write(kit.zeros({"q3-wta": """
import numpy as np

def winner_take_all(cost):
    c = np.asarray(cost)
    if c.shape == (3, 1, 2):
        return np.array([[1, 2]])
    return np.zeros(c.shape[1:], dtype=np.int64)

def refine_subpixel(cost, disparity):
    return np.zeros(np.shape(disparity), dtype=np.float32)
"""}))
