"""SimSiam's stop-gradient on the prediction p instead of the target z.

Question: q4
Message: the stop-gradient detaches the wrong branch
"""


def simsiam_loss(p1, p2, z1, z2, stop_gradient=True):
    if stop_gradient:
        p1, p2 = p1.detach(), p2.detach()

    def D(p, z):
        return -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(dim=1).mean()

    return 0.5 * D(p1, z2) + 0.5 * D(p2, z1)
