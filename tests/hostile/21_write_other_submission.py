"""Tries to overwrite another student's submission: other submissions are not in the sandbox."""

EXPECT = {"status": "graded", "score": 100, "flagged": False, "needs_sandbox": True}


def build(kit):
    victim = kit.submissions / "reference" / "stereo.ipynb"
    kit.write(kit.appended(f"""
try:
    with open({str(victim)!r}, "w") as fh:
        fh.write("{{}}")
    print("WROTE")
except OSError as exc:
    print("refused:", type(exc).__name__)
"""))


def verify(kit, row, out):
    assert (kit.submissions / "reference" / "stereo.ipynb").read_text().startswith("{\n")
    assert '"cells"' in (kit.submissions / "reference" / "stereo.ipynb").read_text()
