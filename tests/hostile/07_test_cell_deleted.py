"""The hidden test cell of winner-take-all deleted: added back, and the reference passes it."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write(kit.without("q3-wta-hidden"))
