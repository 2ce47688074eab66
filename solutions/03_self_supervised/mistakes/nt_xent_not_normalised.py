"""Dot products instead of cosine similarities: the embeddings are not normalised.

Question: q2
Message: the embeddings are not normalised
"""


def nt_xent(z1, z2, tau=0.5):
    z = torch.cat([z1, z2])
    n = z1.shape[0]
    logits = (z @ z.T / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    rows = torch.arange(2 * n, device=z.device)
    return (torch.logsumexp(logits, dim=1) - logits[rows, (rows + n) % (2 * n)]).mean()
