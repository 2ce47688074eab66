"""Functions that return 48 MB of zeros whatever they are asked: each hidden check's record holds three to five
such results (150 to 240 MB, under the 256 MB a single record may hold), over 1.5 GB in all, to exhaust the
grader's memory (twelve such records once drove a worker to 5.3 GB). The grader reads and judges each cell's
records as the cell ends and drops them; past the submission's budget (512 MB) a cell scores 0 with a message
and the submission is flagged; the worker's peak memory stays bounded."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}

FLOOD = """
def {name}(*args, **kwargs):
    return np.zeros(6_000_000)          # 48 MB, whatever the inputs
"""

NAMES = {"q2-sad": "sad_cost", "q2-census-transform": "census_transform", "q2-census-cost": "census_cost",
         "q3-wta": "winner_take_all\ndef refine_subpixel(*args, **kwargs):\n    return np.zeros(6_000_000)",
         "q4-aggregate": "aggregate_sgm", "q5-right-cost": "right_cost_volume", "q5-lr-check": "left_right_check"}


def build(kit):
    kit.write(kit.zeros({gid: FLOOD.format(name=name) for gid, name in NAMES.items()}))


def verify(kit, row, out):
    import json

    assert "budget" in row["flags"], row["flags"]
    entry = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()
             if json.loads(line)["student"] == row["student"]][-1]
    print(f"record flood: the worker's peak memory was {entry['peak_mb']:.0f} MB")
    assert entry["peak_mb"] is None or entry["peak_mb"] < 2048, entry["peak_mb"]
