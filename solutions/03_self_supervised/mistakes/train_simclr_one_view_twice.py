"""train_simclr embeds the first view twice: the positive pair is an image and itself.

Question: q5
Message: the two embeddings passed to nt_xent were the same tensor
A typo (`view1` for `view2`) with a large effect: the positive pair is identical, its similarity is 1 whatever the
encoder does, and the loss only pushes the images apart; nothing makes the representation invariant to the
augmentations.
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
        loss = nt_xent(head(encoder(view1)), head(encoder(view1)), tau)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    encoder.eval(), head.eval()
    return losses
