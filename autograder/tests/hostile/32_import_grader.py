"""A student's cell imports the grader's hidden-test module: flagged; the hidden tests still pass on merit."""

from autograder.tests.hostile import HIDDEN_POINTS

EXPECT = {"status": "graded", "score": HIDDEN_POINTS, "flagged": True}


def build(kit):
    kit.write(kit.appended("from autograder import hidden\nprint(hidden.__file__)"))
