"""disparity_to_depth returns 0 where d + doffs == 0, where the formula gives +inf (a point at infinity). The
comparison used to accept any value where +inf was expected (|a - inf| <= atol + rtol * inf holds for every a), in
the visible test and the grader's hidden cases alike; now only +inf passes there, and the message names the special
case. Both depth cells of q1 lose their points, nothing else does; an honest mistake, not flagged."""

EXPECT = {"status": "graded", "score": None, "flagged": False}

ZERO_AT_INFINITY = """
_elv_depth = disparity_to_depth


def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    depth = np.asarray(_elv_depth(disparity, baseline, focal, doffs), dtype=np.float64)
    return np.where(np.isposinf(depth), 0.0, depth)
"""


def build(kit):
    kit.write(kit.inserted("q1-depth", ZERO_AT_INFINITY))


def verify(kit, row, out):
    import nbformat

    assert float(row["q1"]) == 5.0, row["q1"]                     # q1-reproject's 2 + 3 points only
    assert float(row["score"]) == 100 - 5
    nb = nbformat.read(out / "autograded" / row["student"] / "stereo.ipynb", as_version=4)
    visible = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-depth-visible")
    assert any("should be +inf" in str(o) for o in visible.outputs), "the message names the special case"
