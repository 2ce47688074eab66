"""A segmentation fault (through `ctypes`) in a cell of the student's after the last test: the kernel dies,
nothing is lost; `ctypes` reaches anything in the process, so the submission is flagged for a look."""

EXPECT = {"status": "kernel-died", "score": 100, "flagged": True, "twin": "reference"}


def build(kit):
    kit.write(kit.appended("import ctypes\nctypes.string_at(0)"))
