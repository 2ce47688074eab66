"""A bounded fork flood (up to 2000 sleeping children) after the last test: stopped by the process limit."""

EXPECT = {"status": "graded", "score": 100, "flagged": False, "needs_sandbox": True}

FLOOD = """
import os, time
started = 0
try:
    for _ in range(2000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
except OSError as exc:
    print(f"fork refused after {started} children: {type(exc).__name__}")
print(f"FLOOD {started}")
"""


def build(kit):
    kit.write(kit.appended(FLOOD))


def verify(kit, row, out):
    import re

    import nbformat

    nb = nbformat.read(out / "autograded" / row["student"] / "stereo.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    started = int(re.search(r"FLOOD (\d+)", text).group(1))
    assert started < 2000, f"the flood was not limited: {started} children"
