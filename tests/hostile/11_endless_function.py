"""`refine_subpixel` never returns: each cell that calls it is stopped at the cell limit, until the notebook
runs out of its own time; the tests that ran before keep their points, the rest (the sub-pixel tests and the
end-to-end checks, which need it) score nothing."""

EXPECT = {"status": "timeout", "score": 100 - 7 - 16 - 12, "flagged": False}


def build(kit):
    cell = next(c for c in kit.ref.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q3-wta")
    head, _, _ = cell.source.partition("def refine_subpixel")
    kit.write(kit.with_cell("q3-wta", head + "def refine_subpixel(cost, disparity):\n    while True:\n        pass\n"))
