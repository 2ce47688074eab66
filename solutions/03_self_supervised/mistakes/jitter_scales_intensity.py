"""Contrast multiplies the intensities instead of their deviation from the image's mean.

Question: q1
Message: the contrast scales the intensities themselves
"""


def intensity_jitter(images, brightness, contrast):
    images = torch.as_tensor(images)
    b = torch.as_tensor(brightness, dtype=images.dtype, device=images.device).reshape(-1, 1, 1, 1)
    c = torch.as_tensor(contrast, dtype=images.dtype, device=images.device).reshape(-1, 1, 1, 1)
    return (images * c + b).clamp(0, 1)
