"""An endless loop in a cell of the student's at the end: stopped at the cell limit, every test counts."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write(kit.appended("while True:\n    pass"))
