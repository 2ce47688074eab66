"""Placeholder functions and IPython's traceback display switched off through names built at run time, so
failing test cells print nothing: the kernel's replies still say `error`; flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q2-sad": """
import numpy as np
setattr(get_ipython(), "show" + "traceback", lambda *a, **k: None)

def sad_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + left.shape, dtype=left.dtype)
"""}))
