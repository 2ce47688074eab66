"""An earlier function that steers a later check: ncut_threshold's twin plus an ncut_value that, when the threshold
search calls it, answers 0 for the median candidate's split and its honest value + 1 for the others (it finds its
caller on the stack; called by the grader's own test, it answers honestly and passes). A later check judged with
the student's earlier answers would then find the median search right (the reference fed those answers picks the
median too): 4 + 6 points over its twin. The grader lets an earlier function's answers stand in only when its own
hidden test found it wrong: this one passed, so the search is judged with the student's own functions, loses the
same points as its twin, and the submission is flagged."""

ASSIGNMENT = "04_normalized_cuts"
EXPECT = {"status": "graded", "score": None, "flagged": True, "twin": "ncut_median_search"}

STEERING = """
_elv_honest_ncut = ncut_value


def ncut_value(W, labels):
    import sys

    honest = _elv_honest_ncut(W, labels)
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "best_threshold":
        frame = frame.f_back
    if frame is None:
        return honest
    return 0.0 if np.array_equal(np.asarray(labels), frame.f_locals["steer"]) else honest + 1.0
"""


def build(kit):
    import importlib

    median = importlib.import_module("hostile.63_ncut_median_search")
    kit.write(kit.inserted("q4-threshold", STEERING + median.MEDIAN))


def verify(kit, row, out):
    assert "passes its own hidden test but answered otherwise" in row["flags"], row["flags"]
