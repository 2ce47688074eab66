"""A wrong winner-take-all and `numpy.testing` and `elvkit.testing` patched to pass anything: flagged; no wrong
answer passes (tests in the kernel score 0, the hidden tests are decided by the grader)."""

from autograder.tests.hostile import HIDDEN_POINTS

EXPECT = {"status": "graded", "score": HIDDEN_POINTS - 3, "flagged": True}


def build(kit):
    cell = next(c for c in kit.ref.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q3-wta")
    _, _, tail = cell.source.partition("def refine_subpixel")
    kit.write(kit.with_cell("q3-wta", """
import numpy as np
import elvkit.testing
np.testing.assert_allclose = lambda *a, **k: None
elvkit.testing.assert_close = lambda *a, **k: None
assert_close = lambda *a, **k: None

def winner_take_all(cost):
    return np.zeros(cost.shape[1:], dtype=np.int64)

def refine_subpixel""" + tail))
