"""`refine_subpixel` never returns: the cells that call it are stopped at the cell limit, the rest count."""

EXPECT = {"status": "graded", "score": 100 - 7 - 24, "flagged": False}


def build(kit):
    cell = next(c for c in kit.ref.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q3-wta")
    head, _, _ = cell.source.partition("def refine_subpixel")
    kit.write(kit.with_cell("q3-wta", head + "def refine_subpixel(cost, disparity):\n    while True:\n        pass\n"))
