"""Every graded function returns zeros (or False) of the right shape and dtype: the placeholder a student
with a weekend and no solution starts from. It is the twin of most tampering cases: each of them is this
submission plus one trick, and must not score more."""

EXPECT = {"status": "graded", "score": 0, "flagged": False}


def build(kit):
    kit.write(kit.zeros())
