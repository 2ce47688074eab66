"""The positive of view i is taken as i itself (the diagonal), not view i + N.

Question: q2
Message: the positive of view i is taken as view i itself
"""


def nt_xent(z1, z2, tau=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sims = z @ z.T / tau
    logits = sims.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    return (torch.logsumexp(logits, dim=1) - sims.diagonal()).mean()
