"""A legitimate choice: winner_take_all returns its disparities as 16-bit unsigned integers (uint16 tensors for
tensor input, uint16 arrays for arrays), which hold every disparity of the course. The recorder writes such tensors
and the grader reads them back with their dtype (it once refused them as forgeries and scored the passing visible
test 0): full marks, nothing flagged."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}

NARROW = """
_elv_wta = winner_take_all


def winner_take_all(cost):
    d = _elv_wta(cost)
    return d.to(torch.uint16) if torch.is_tensor(d) else np.asarray(d).astype(np.uint16)
"""


def build(kit):
    kit.write(kit.inserted("q3-wta", NARROW))
