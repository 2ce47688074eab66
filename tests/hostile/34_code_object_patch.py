"""Placeholder functions, and the test helpers changed in place: `assert_close`, `assert_true` and
`assert_shape` keep their identity but get the code of a function that accepts anything, so every visible
test passes in the kernel. The grader runs the tests again on what the functions returned: nothing passes;
flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q1-depth": """
import numpy as np
import elvkit.testing

def _accept(*args, **kwargs):
    return None

for helper in (elvkit.testing.assert_close, elvkit.testing.assert_true, elvkit.testing.assert_shape):
    helper.__code__ = _accept.__code__

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(depth))
"""}))
