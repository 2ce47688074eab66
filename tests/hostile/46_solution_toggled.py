"""The reference with its first solution cell's metadata toggled to an autograded answer worth 25 points:
the release's metadata is restored and the notebook graded in full; flagged."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}


def build(kit):
    nb = kit.copy()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q1-depth":
            cell.metadata["nbgrader"].update(grade=True, points=25)
    kit.write(nb)
