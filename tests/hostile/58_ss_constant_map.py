"""Self-supervised losses that do not depend on the disparity (a constant with a gradient of its own): the
optimisation leaves the map at the constant it starts from, whose bad-2.0 (18-66 % on the graded scenes) is under
the end-to-end limit of 55 %, so the check once gave its 3 points. The grader now rebuilds the left view from the
returned map with the reference's warp and appearance loss: a map that did not move does not lower it, and the check
fails. An honest mistake, not flagged."""

EXPECT = {"status": "graded", "score": None, "flagged": False}

CONSTANT = """
def ssim(a, b):
    return torch.ones_like(a)


def appearance_loss(image, reconstructed, alpha=0.85):
    return torch.zeros((), requires_grad=True)


def disparity_smoothness(disparity, image, edge_weight=10.0):
    return torch.zeros((), requires_grad=True)


def lr_consistency_loss(disp_left, disp_right):
    return torch.zeros((), requires_grad=True)
"""


def build(kit):
    kit.write(kit.with_cell("q7-losses", CONSTANT))


def verify(kit, row, out):
    assert float(row["q7"]) == 4.0, row["q7"]                     # the warp's 2 + 2 points only: e2e lost too
