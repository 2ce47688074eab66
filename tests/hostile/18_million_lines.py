"""A million lines printed: the output is cut to nbgrader's limit; the feedback page stays small."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write(kit.appended("for i in range(1_000_000):\n    print('line', i)"))


def verify(kit, row, out):
    assert (out / row["feedback"]).stat().st_size < 5_000_000
