"""`torch.allclose` replaced through names built at run time (no source scan can see it) in a correct
submission: the kernel's guard notices; flagged; nothing changes in the score."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}


def build(kit):
    kit.write(kit.appended('setattr(__import__("to" + "rch"), "allc" + "lose", lambda *a, **k: True)'))
