"""The honest twin of ssl_digit_lookup: train_simclr reports a falling loss but trains nothing, and the encoder
is the untrained one, with nothing else. The grader's NT-Xent of the rebuilt networks on its own views does not
fall, nor does its probe reach 0.90: q5 scores 0, and nothing is flagged (a wrong training is not tampering)."""

ASSIGNMENT = "03_self_supervised"
EXPECT = {"status": "graded", "score": None, "flagged": False}


def build(kit):
    import importlib

    lookup = importlib.import_module("hostile.59_ssl_digit_lookup")
    kit.write(kit.inserted("q3-train", lookup.NO_TRAINING))


def verify(kit, row, out):
    assert float(row["q5"]) == 0, row["q5"]
