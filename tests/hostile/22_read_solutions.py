"""Takes its SAD cost from the solution script or the hidden-test specs: neither is readable, so it has none
(its tests and the end-to-end evaluation, which needs SAD, fail); running code built at run time is flagged.
Its twin is the reference without its SAD cell."""

EXPECT = {"status": "graded", "score": 100 - 6 - 16, "flagged": True, "needs_sandbox": True,
          "twin": "solution_cell_deleted"}


def build(kit):
    spec = kit.solution.parent / "spec.py"
    kit.write(kit.with_cell("q2-sad", f"""
import re
source = ""
for path in [{str(kit.solution)!r}, {str(spec)!r}]:
    try:
        source += open(path).read()
    except OSError as exc:
        print("cannot read", path, type(exc).__name__)
match = re.search(r"^def sad_cost.*?(?=^# %%)", source, re.S | re.M)
if match:
    exec(match.group(0))
else:
    def sad_cost(left, right, max_disp, window=5):
        raise NotImplementedError()
"""))
