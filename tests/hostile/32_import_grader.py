"""A correct submission whose cell imports the grader's hidden-test module: flagged; every test still passes on
merit."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}


def build(kit):
    kit.write(kit.appended("from autograder import hidden\nprint(hidden.__file__)"))
