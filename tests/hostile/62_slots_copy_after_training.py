"""The training step makes the model it was handed return half its input as the reconstruction when it is evaluated
(no gradient) once it has trained, by patching the model's class, and trains honestly: judged on the kernel's
reconstructions, "the reconstruction error fell" passed (+5). The grader records the weights after the end-to-end
training, rebuilds the model from them and its own initial weights and computes both reconstructions itself: before
training they agree with the kernel's, after they do not, which it flags; q5's end-to-end cell scores 0."""

ASSIGNMENT = "05_slot_attention"
EXPECT = {"status": "graded", "score": None, "flagged": True, "twin": "reference"}

COPY = """
_elv_step = train_step


def _elv_copying(forward):
    def copying(self, images, slots, detach_last=True):
        recon, masks, attentions = forward(self, images, slots, detach_last)
        evaluated = getattr(self, "_elv_trained", False) and not torch.is_grad_enabled()   # trains honestly
        return (images / 2 if evaluated else recon), masks, attentions
    copying._elv = True
    return copying


def train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
    step = _elv_step(model, optimiser, images, generator, lr, clip, detach_last)
    model._elv_trained = True
    if not getattr(type(model).forward, "_elv", False):
        type(model).forward = _elv_copying(type(model).forward)     # whatever model the caller hands in
    return step
"""


def build(kit):
    kit.write(kit.inserted("q5-step", COPY))


def verify(kit, row, out):
    assert "changed once train_step" in row["flags"], row["flags"]
