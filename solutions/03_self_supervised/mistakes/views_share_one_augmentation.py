"""Both views drawn with one augmentation: the positive pair is the same image twice.

Question: q1
Message: each view must draw its own crop
The loss is then minimised by any encoder (the positive is identical), and SimCLR learns nothing.
"""


def two_views(images, generator, config=AUGMENT):
    if not isinstance(generator, torch.Generator):
        generator = torch.Generator().manual_seed(int(generator))
    images = torch.as_tensor(images)
    view = random_augment(images, generator, config)
    return view, view.clone()
