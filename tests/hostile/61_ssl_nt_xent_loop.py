"""nt_xent returns elvkit.contrastive.nt_xent_loop, the double loop the notebook prints for checking: right values
and gradients, so it once scored the whole question, although the notebook asks for a vectorised loss. The hidden
test measures the loss's autograd graph (1,649 operations for 6 pairs, against about 15 for any vectorised version,
whatever the batch): the vectorisation cell's 2 points are lost with a message that says why; the value, gradient and
float16 cells (10 points) and the visible test's 8 stay. An unmet requirement, not flagged."""

ASSIGNMENT = "03_self_supervised"
EXPECT = {"status": "graded", "score": None, "flagged": False}

LOOP = """
def nt_xent(z1, z2, tau=0.5):
    return nt_xent_loop(z1, z2, tau)
"""


def build(kit):
    kit.write(kit.with_cell("q2-nt-xent", LOOP))


def verify(kit, row, out):
    import nbformat

    assert float(row["q2"]) == 18.0, row["q2"]
    nb = nbformat.read(out / "autograded" / row["student"] / "self_supervised.ipynb", as_version=4)
    hidden = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q2-nt-xent-vectorised-hidden")
    assert any("Python loop" in str(o) for o in hidden.outputs), "the message says why"
