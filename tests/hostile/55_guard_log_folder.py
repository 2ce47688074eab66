"""The reference with a cell that replaces the guard's log by a folder of the same name (a plain file is what the
grader reads there). The grader's own per-cell hook used to open it as a file and fail, which stopped the notebook
as kernel-died with every later cell unrun; now the odd file is a finding: every cell runs and is judged, and the
submission is flagged."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}

SWAP = """
import os
_log = os.path.join(os.environ["ELVKIT_" + "HIDDEN_DIR"], "gu" + "ard.jsonl")
if os.path.isfile(_log):
    os.remove(_log)
os.makedirs(_log, exist_ok=True)
"""


def build(kit):
    kit.write(kit.inserted("q1-depth", SWAP))


def verify(kit, row, out):
    assert "guard" in row["flags"], row["flags"]
