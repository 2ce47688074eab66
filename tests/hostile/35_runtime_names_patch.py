"""Placeholder functions, and the helpers that `assert_close` and `assert_true` rely on changed in place,
reached through `sys.modules` and attribute names built at run time: the tests in the kernel pass, the
grader's re-run does not; flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q1-reproject": """
import sys
_m = sys.modules["elvkit." + "tes" + "ting"]
_all = lambda a, e, rtol, atol, equal_nan: __import__("num" + "py").ones(__import__("num" + "py").shape(a), bool)
setattr(getattr(_m, "_cl" + "ose"), "__co" + "de__", _all.__code__)
setattr(getattr(_m, "assert_" + "true"), "__co" + "de__", (lambda condition, message: None).__code__)

def reproject_to_3d(disparity, calib):
    return np.zeros(np.shape(disparity) + (3,))
"""}))
