"""The Gaussian kernel is not normalised to sum to 1: a blurred image gets brighter.

Question: q1
Message: the kernel is not normalised to sum to 1
"""


def gaussian_blur(images, sigma, radius=2):
    images = torch.as_tensor(images)
    B, C, H, W = images.shape
    s = torch.as_tensor(sigma, dtype=images.dtype, device=images.device).reshape(-1, 1).clamp_min(1e-3)
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device).reshape(1, -1)
    kernel = torch.exp(-t ** 2 / (2 * s ** 2)).repeat_interleave(C, dim=0)
    out = F.pad(images.reshape(1, B * C, H, W), (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.reshape(B * C, 1, 1, -1), groups=B * C)
    out = F.conv2d(out, kernel.reshape(B * C, 1, -1, 1), groups=B * C)
    return out.reshape(B, C, H, W)
