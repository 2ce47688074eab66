"""Files that are not submissions beside them: notes, macOS's `.DS_Store`, `__MACOSX/` and `._` companions.
Each gets a row in grades.csv with status `ignored` and the reason, and appears in the summary."""

EXPECT = {"status": "ignored", "score": None, "flagged": False, "student": "stray-notes.txt"}

_ENTRIES = ("stray-notes.txt", ".DS_Store", "._stray.ipynb")


def build(kit):
    kit.submissions.mkdir(parents=True, exist_ok=True)
    for name in _ENTRIES:
        (kit.submissions / name).write_bytes(b"\x00\x05\x16\x07 not a notebook")
    (kit.submissions / "__MACOSX").mkdir(exist_ok=True)


def verify(kit, row, out):
    import csv

    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8"))}
    for name in _ENTRIES + ("__MACOSX",):
        assert rows[name]["status"] == "ignored" and rows[name]["message"], name
    summary = (out / "summary.txt").read_text()
    assert all(name in summary for name in _ENTRIES)
