"""The reference saved as `.hidden_name.ipynb` (a name starting with a dot, hidden by most file browsers): it
is graded under the id `hidden_name`, with a note, not skipped."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write_entry('.hidden_name.ipynb')


def verify(kit, row, out):
    assert "hidden name" in row["flags"]
