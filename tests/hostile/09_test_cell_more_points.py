"""A visible test cell's points raised from 2 to 50 in its metadata: the release's points count; flagged."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}


def build(kit):
    nb = kit.copy()
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-depth-visible":
            c.metadata["nbgrader"]["points"] = 50
    kit.write(nb)
