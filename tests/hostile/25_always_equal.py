"""`sad_cost` returns an object whose `__eq__` is always True (and with the right shape): it fails the grader's
strict type check; flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q2-sad": """
class Anything:
    def __init__(self, shape):
        self.shape = shape
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        import numpy as np
        return np.zeros(self.shape)

def sad_cost(left, right, max_disp, window=5):
    return Anything((max_disp,) + left.shape)
"""}))
