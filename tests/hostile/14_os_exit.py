"""`os._exit(1)` inside the left-right check: the kernel dies; the cells before it keep their points."""

EXPECT = {"status": "kernel-died", "score": 100 - 7 - 16 - 12, "flagged": False}


def build(kit):
    kit.write(kit.with_cell("q5-lr-check", "import os\nos._exit(1)"))
