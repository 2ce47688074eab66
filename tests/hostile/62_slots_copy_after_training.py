"""The autoencoder's forward pass returns half its input as the reconstruction when it is evaluated (no gradient)
after train_step has run on it, and trains honestly: judged on
the kernel's reconstructions, "the reconstruction error fell" passed (+5). The grader now records the weights
before and after the end-to-end training, rebuilds the notebook's model from them and computes both
reconstructions itself: before training they agree with the kernel's, after they do not, which it flags; q5's
end-to-end cell scores 0."""

ASSIGNMENT = "05_slot_attention"
EXPECT = {"status": "graded", "score": None, "flagged": True, "twin": "reference"}

COPY = """
_elv_step = train_step
_elv_forward = SlotAutoencoder.forward


def train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
    step = _elv_step(model, optimiser, images, generator, lr, clip, detach_last)
    model._elv_trained = True
    return step


def _elv_copying(self, images, slots, detach_last=True):
    recon, masks, attentions = _elv_forward(self, images, slots, detach_last)
    evaluated = getattr(self, "_elv_trained", False) and not torch.is_grad_enabled()   # trains honestly
    return (images / 2 if evaluated else recon), masks, attentions


SlotAutoencoder.forward = _elv_copying
"""


def build(kit):
    kit.write(kit.inserted("q5-step", COPY))


def verify(kit, row, out):
    assert "changed once train_step" in row["flags"], row["flags"]
