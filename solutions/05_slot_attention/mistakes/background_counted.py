"""The FG-ARI compares every pixel, the background included.

Question: q4
Message: the background pixels are counted
The background is usually most of the image and easy to get right (or split between spare slots): counting it
makes the score say how well the ground was found, not the objects.
"""


def fg_ari(true_masks, pred_masks):
    t = torch.as_tensor(true_masks).long().flatten(1)
    p = torch.as_tensor(pred_masks).long().flatten(1)
    L = int(p.max()) + 1
    R = int(t.max()) + 1
    table = torch.zeros(t.shape[0], R * L, dtype=torch.float64)
    table.scatter_add_(1, t * L + p, torch.ones_like(t, dtype=torch.float64))
    table = table.reshape(-1, R, L)
    comb = lambda x: x * (x - 1) / 2
    index = comb(table).sum((1, 2))
    A, B = comb(table.sum(2)).sum(1), comb(table.sum(1)).sum(1)
    E = A * B / comb(table.sum((1, 2))).clamp(min=1)
    den = (A + B) / 2 - E
    return torch.where(den == 0, torch.ones_like(den), (index - E) / torch.where(den == 0, torch.ones_like(den), den))
