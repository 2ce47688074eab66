"""A 50 MB notebook (outputs left in it): the outputs are cleared before grading; graded in full."""

import nbformat

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    nb = kit.copy()
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (50 * 2**20))]
    path = kit.write(nb)
    assert path.stat().st_size > 50 * 10**6
