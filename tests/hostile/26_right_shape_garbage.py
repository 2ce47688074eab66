"""`sad_cost` returns random numbers of the right shape and dtype: its two tests fail, nothing else."""

EXPECT = {"status": "graded", "score": 100 - 6, "flagged": False}


def build(kit):
    kit.write(kit.with_cell("q2-sad", """
import numpy as np

def sad_cost(left, right, max_disp, window=5):
    return np.random.default_rng(0).random((max_disp,) + left.shape).astype(left.dtype)
"""))
