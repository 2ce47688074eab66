"""The training step never sets the optimiser's learning rate: the schedule computed for the step is ignored.

Question: q5
Message: learning rate was never set
`learning_rate(step, ...)` is passed in as `lr`, but the optimiser keeps the rate it was made with: the warm-up
and the decay never happen (and an optimiser made with lr 0 never moves at all).
"""


def train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
    recon, _, _ = model(images, model.initial_slots(len(images), generator, images.device), detach_last)
    loss = F.mse_loss(recon, images)
    optimiser.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimiser.step()
    return loss.item(), float(norm)
