"""Placeholder functions, and the keys the grader uses for itself written into the cells' metadata
(`elv_judged`, `elv_reply`) on the student's own test cells: they are removed and count for nothing; flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    nb = kit.zeros()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["elv_judged"] = True
            cell.metadata["elv_reply"] = "ok"
    kit.write(nb)
