"""The min-over-disparities normalisation left out.

Question: q4
Drops "- min_k L(p - r, k)": the winner does not change, but the path costs grow
along the path and no longer match the lecture's definition.
"""


def sgm_step(L_prev, C, P1, P2):
    m = L_prev.amin(dim=-1, keepdim=True)
    best = torch.minimum(L_prev, m + P2)
    best[..., 1:] = torch.minimum(best[..., 1:], L_prev[..., :-1] + P1)
    best[..., :-1] = torch.minimum(best[..., :-1], L_prev[..., 1:] + P1)
    return C + best
