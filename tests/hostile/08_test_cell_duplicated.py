"""A visible test cell pasted twice (same grade id): the copy is not counted twice."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    nb = kit.copy()
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-depth-visible")
    nb.cells.insert(i + 1, kit.copy({"c": nb.cells[i]})["c"])
    kit.write(nb)
