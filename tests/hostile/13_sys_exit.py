"""`sys.exit()` in the middle of the notebook: IPython catches it, grading goes on."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    nb = kit.copy()
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "q2-sad-hidden")
    import nbformat

    nb.cells.insert(i + 1, nbformat.v4.new_code_cell("import sys\nsys.exit()"))
    kit.write(nb)
