"""The reference saved as `-formula_name.ipynb`: a spreadsheet reads a cell starting with `-`, `+`, `=` or `@`
as a formula. Graded under the id `formula_name`; no cell of grades.csv starts like a formula."""

import csv

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write_entry('-formula_name.ipynb')


def verify(kit, row, out):
    assert "submitted as '-formula_name'" in row["flags"]
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        for record in csv.reader(fh):
            for value in record:
                assert not value.startswith(("=", "+", "@")) and not (value.startswith("-") and
                                                                     not value.lstrip("-").replace(".", "").isdigit())
