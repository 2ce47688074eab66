"""P1 and P2 swapped in the SGM recursion.

Question: q4
Pays P2 for a disparity step of one and P1 for any larger jump.
"""


def sgm_step(L_prev, C, P1, P2):
    m = L_prev.amin(dim=-1, keepdim=True)
    best = torch.minimum(L_prev, m + P1)
    best[..., 1:] = torch.minimum(best[..., 1:], L_prev[..., :-1] + P2)
    best[..., :-1] = torch.minimum(best[..., :-1], L_prev[..., 1:] + P2)
    return C + best - m
