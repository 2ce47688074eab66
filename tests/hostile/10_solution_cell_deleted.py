"""The SAD solution cell deleted: `sad_cost` is undefined; its two tests fail, and so does the end-to-end
evaluation, whose pipeline compares SAD with census (partial credit for everything before)."""

EXPECT = {"status": "graded", "score": 100 - 6 - 16, "flagged": False}


def build(kit):
    kit.write(kit.without("q2-sad"))
