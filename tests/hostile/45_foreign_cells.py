"""The reference with a test cell pasted from the optical-flow assignment (its grading metadata came with it),
a new cell carrying grading metadata without an id, and a cell whose grading metadata is not a mapping: each
is ignored for scoring and listed; the notebook is graded for what is right in it, not rejected."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    import nbformat

    from autograder.course import get_assignment
    from autograder.course.notebooks import read_source

    flow = read_source(get_assignment("02_optical_flow").source)
    pasted = next(c for c in flow.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-normal-flow-visible")
    nb = kit.copy()
    nb.cells.insert(6, kit.copy({"c": pasted})["c"])
    nb.cells.insert(7, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "points": 100}}))
    nb.cells.insert(8, nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": "q1-depth-visible"}))
    kit.write(nb)


def verify(kit, row, out):
    assert "q1-normal-flow-visible" in row["flags"] and "not graded" in row["flags"]
