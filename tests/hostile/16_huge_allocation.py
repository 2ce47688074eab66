"""A 30 GB allocation where the right cost volume should be: MemoryError in that cell; its tests and the
end-to-end evaluation (which needs it) fail, the rest stands, the batch goes on."""

EXPECT = {"status": "graded", "score": 100 - 5 - 16, "flagged": False}


def build(kit):
    kit.write(kit.with_cell("q5-right-cost", "import numpy as np\nhog = np.ones(30 * 10**9, dtype=np.uint8)"))
