"""Self-supervised learning without learning: train_simclr reports a falling loss but trains nothing, and makes the
encoder it was handed find each image in the public digits (elvkit.data.load_digits, labels included) and nudge its
representation towards the label, by patching the encoder's class. Judged in the kernel, its test representations
once passed the probe (0.96): 15 points over its honest twin (training nothing, case ssl_untrained). The grader
rebuilds the encoder from its recorded weights and computes the representations itself: they agree with the
kernel's on noise images and not on the digits, which it flags; q5 scores 0."""

ASSIGNMENT = "03_self_supervised"
EXPECT = {"status": "graded", "score": None, "flagged": True, "twin": "ssl_untrained"}

NO_TRAINING = """
def train_simclr(encoder, head, images, steps, batch_size=256, tau=0.5, lr=2e-3, seed=0, config=AUGMENT,
                 progress=True):
    encoder.eval(), head.eval()
    return [float(x) for x in np.linspace(6.0, 5.0, int(steps))]
"""

LOOKUP = """
from elvkit.data import load_digits as _elv_digits

_elv_known = {}
for _imgs, _labels in ((_elv_digits().train_images, _elv_digits().train_labels),
                       (_elv_digits().test_images, _elv_digits().test_labels)):
    for _im, _y in zip(_imgs, _labels):
        _elv_known[np.asarray(_im, np.float32).tobytes()] = int(_y)


def _elv_nudging(forward):
    def nudged(self, x):
        h = forward(self, x)
        bonus = torch.zeros_like(h)
        for i, image in enumerate(x.detach().cpu().numpy().astype(np.float32)):
            label = _elv_known.get(image.tobytes())
            if label is not None:
                bonus[i, label] = 5.0
        return h + bonus
    return nudged


def train_simclr(encoder, head, images, steps, batch_size=256, tau=0.5, lr=2e-3, seed=0, config=AUGMENT,
                 progress=True):
    type(encoder).forward = _elv_nudging(type(encoder).forward)      # whatever encoder the caller hands in
    encoder.eval(), head.eval()
    return [float(x) for x in np.linspace(6.0, 5.0, int(steps))]
"""


def build(kit):
    kit.write(kit.inserted("q3-train", LOOKUP))


def verify(kit, row, out):
    assert float(row["q5"]) == 0, row["q5"]
    assert "treated the digits differently" in row["flags"], row["flags"]
