"""Stand-ins that a later question's hidden test hands to the student's function in place of the student's own
earlier classes, so that the question judges its own function only (a mistake in the model costs points in the
model's question, not again in the training step's). They run in the student's kernel and in the grader alike;
they are test fixtures, not solutions: nothing here is what a student writes.
"""

from __future__ import annotations

__all__ = ["StepProbe"]


def _probe_class():
    import torch
    from torch import nn

    class StepProbe(nn.Module):
        """A small model with a slot autoencoder's interface, for the hidden test of a training step.

        ``initial_slots(batch, generator=None, device=None, num_slots=None)`` draws ``mu + sigma * noise`` with the
        noise from ``generator`` on the CPU, as the assignment's model does; ``forward(images, slots,
        detach_last=True)`` returns ``(reconstruction, masks, [attention])`` from two rounds of a softmax over the
        slots (the second on detached slots when ``detach_last``), so that a step that draws its slots elsewhere,
        drops ``detach_last`` or compares with anything but the images gives other numbers. Its attributes are a
        slot autoencoder's: ``size``, ``num_slots``, ``dim``.
        """

        def __init__(self, size: int = 16, num_slots: int = 3, dim: int = 16):
            super().__init__()
            self.size, self.num_slots, self.dim = size, num_slots, dim
            self.slots_mu = nn.Parameter(torch.zeros(1, 1, dim))
            self.slots_log_sigma = nn.Parameter(torch.zeros(1, 1, dim))
            nn.init.xavier_uniform_(self.slots_mu)
            nn.init.xavier_uniform_(self.slots_log_sigma)
            self.read = nn.Linear(3, dim)
            self.q = nn.Linear(dim, dim, bias=False)
            self.out = nn.Linear(dim, 4)

        def initial_slots(self, batch, generator=None, device=None, num_slots=None):
            noise = torch.randn(batch, num_slots or self.num_slots, self.dim, generator=generator)
            return self.slots_mu + self.slots_log_sigma.exp() * noise.to(device or self.slots_mu.device)

        def forward(self, images, slots, detach_last=True):
            b, _, h, w = images.shape
            features = torch.tanh(self.read(images.flatten(2).transpose(1, 2)))          # (B, N, D)
            attention = None
            for t in range(2):
                if detach_last and t == 1:
                    slots = slots.detach()
                attention = torch.einsum("bkd,bnd->bkn", self.q(slots), features).softmax(dim=1)
                weights = attention / (attention.sum(dim=2, keepdim=True) + 1e-8)
                slots = slots + torch.einsum("bkn,bnd->bkd", weights, features)
            out = self.out(torch.tanh(slots[:, :, None, :] + features[:, None]))            # (B, M, N, 4)
            alpha = out[..., 3:].softmax(dim=1)
            recon = (torch.sigmoid(out[..., :3]) * alpha).sum(dim=1).transpose(1, 2).reshape(b, 3, h, w)
            return recon, alpha[..., 0].reshape(b, -1, h, w), [attention]

    return StepProbe


def __getattr__(name: str):
    if name == "StepProbe":          # made on first use: importing this module imports no torch
        cls = globals()["StepProbe"] = _probe_class()
        return cls
    raise AttributeError(name)
