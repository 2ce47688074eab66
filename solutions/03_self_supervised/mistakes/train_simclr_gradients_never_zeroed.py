"""train_simclr never zeroes the gradients: every backward adds to the sum of all earlier steps' gradients.

Question: q5
Message: the gradients are never zeroed
`loss.backward()` accumulates into `.grad`. Without `optimiser.zero_grad()` each step follows the running sum of
every gradient so far: the first steps look like training, then the direction is the past's, not the batch's.
"""


def train_simclr(encoder, head, images, steps, batch_size=256, tau=0.5, lr=2e-3, seed=0, config=AUGMENT,
                 progress=True):
    generator = torch.Generator().manual_seed(int(seed))
    optimiser = torch.optim.Adam(list(encoder.parameters()) + list(head.parameters()), lr=lr, weight_decay=1e-6)
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
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    encoder.eval(), head.eval()
    return losses
