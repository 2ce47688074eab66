"""A wrong SAD cost and IPython's traceback display switched off through names built at run time, so failing
test cells print nothing: the kernel's replies still say `error`; flagged."""

from autograder.tests.hostile import HIDDEN_POINTS

EXPECT = {"status": "graded", "score": HIDDEN_POINTS - 4, "flagged": True}


def build(kit):
    kit.write(kit.with_cell("q2-sad", """
import numpy as np
setattr(get_ipython(), "show" + "traceback", lambda *a, **k: None)

def sad_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + left.shape, dtype=left.dtype)
"""))
