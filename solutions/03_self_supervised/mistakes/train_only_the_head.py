"""train_simclr gives the optimiser only the projection head's parameters: the encoder stays random.

Question: q5
Message: the encoder's weights never changed
The loss still falls (the head learns on random features), but the representation h is an untrained
encoder's.
"""


def train_simclr(encoder, head, images, steps, batch_size=256, tau=0.5, lr=2e-3, seed=0, config=AUGMENT,
                 progress=True):
    generator = torch.Generator().manual_seed(int(seed))
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=1e-6)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    encoder.train(), head.train()
    order, at, losses = torch.randperm(len(images), generator=generator), 0, []
    batch_size = min(batch_size, len(images))
    for _ in tqdm(range(steps), desc="SimCLR", disable=not progress, leave=False):
        if at + batch_size > len(images):
            order, at = torch.randperm(len(images), generator=generator), 0
        batch = images[order[at: at + batch_size].to(images.device)]
        at += batch_size
        view1, view2 = two_views(batch, generator, config)
        loss = nt_xent(head(encoder(view1)), head(encoder(view2)), tau)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    encoder.eval(), head.eval()
    return losses
