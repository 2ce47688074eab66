"""train_step returns the gradient's norm measured after clipping it.

Question: q5
Message: the norm after clipping is returned
clip_grad_norm_ returns the norm before clipping; measured afterwards, the norm is never above clip, and the
plot of gradient norms shows a flat line at the limit whenever clipping acts -- exactly when it matters.
"""


def train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
    for group in optimiser.param_groups:
        group["lr"] = lr
    recon, _, _ = model(images, model.initial_slots(len(images), generator, images.device), detach_last)
    loss = ((recon - images) ** 2).mean()
    optimiser.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters() if p.grad is not None))
    optimiser.step()
    return loss.item(), float(norm)
