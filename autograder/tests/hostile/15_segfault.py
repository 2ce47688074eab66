"""A segmentation fault in a cell of the student's after the last test: the kernel dies, nothing is lost."""

EXPECT = {"status": "kernel-died", "score": 100, "flagged": False}


def build(kit):
    kit.write(kit.appended("import ctypes\nctypes.string_at(0)"))
