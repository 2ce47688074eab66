"""The alphas are normalised over the pixels of each slot instead of over the slots at each pixel.

Question: q3
Message: not over the pixels
Each slot's mask then sums to 1 over the image, so nothing shares a pixel out between the slots: the masks do
not compete, the reconstruction's brightness depends on the image's size, and the arg-max is meaningless.
"""


def mix(rgb, alpha_logits):
    B, M, _, H, W = alpha_logits.shape
    alpha = alpha_logits.reshape(B, M, 1, H * W).softmax(dim=-1).reshape(B, M, 1, H, W)
    return (rgb * alpha).sum(dim=1), alpha[:, :, 0]
