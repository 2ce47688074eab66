"""`torch.allclose` replaced through names built at run time (no source scan can see it): the kernel's guard
notices; flagged."""

from autograder.tests.hostile import HIDDEN_POINTS

EXPECT = {"status": "graded", "score": HIDDEN_POINTS, "flagged": True}


def build(kit):
    kit.write(kit.appended('setattr(__import__("to" + "rch"), "allc" + "lose", lambda *a, **k: True)'))
