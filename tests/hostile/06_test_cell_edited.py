"""A wrong SAD cost with its visible test cell replaced by a print: the test is restored and fails."""

EXPECT = {"status": "graded", "score": 100 - 6, "flagged": False}

WRONG = """
def sad_cost(left, right, max_disp, window=5):
    import numpy as np
    return np.zeros((max_disp,) + left.shape, dtype=left.dtype)
"""


def build(kit):
    nb = kit.with_cell("q2-sad", WRONG)
    kit.write(kit.with_cell("q2-sad-visible", "print('All visible tests passed.')", nb))
