"""Tries to overwrite the gradebook and its own grades: the grader's folder does not exist in the sandbox."""

EXPECT = {"status": "graded", "score": 100, "flagged": False, "needs_sandbox": True}


def build(kit):
    target = kit.results / "gradebook.db"
    kit.write(kit.appended(f"""
for path in [{str(target)!r}, {str(kit.results / 'grades.csv')!r}]:
    try:
        with open(path, "wb") as fh:
            fh.write(b"all A")
        print("WROTE", path)
    except OSError as exc:
        print("refused:", type(exc).__name__)
"""))


def verify(kit, row, out):
    assert (out / "gradebook.db").read_bytes()[:16] == b"SQLite format 3\x00"
