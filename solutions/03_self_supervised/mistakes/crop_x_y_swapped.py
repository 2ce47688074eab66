"""The crop's box read as (y0, x0, y1, x1): rows and columns swapped.

Question: q1
Message: x and y are swapped
theta's first row maps the output's x (columns); this one puts the box's y extent there.
"""


def resized_crop(images, boxes, size):
    images = torch.as_tensor(images)
    boxes = torch.as_tensor(boxes, dtype=images.dtype, device=images.device)
    B, C, H, W = images.shape
    y0, x0, y1, x1 = boxes.unbind(-1)
    theta = torch.zeros(B, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = (x1 - x0) / W
    theta[:, 0, 2] = (x0 + x1) / W - 1
    theta[:, 1, 1] = (y1 - y0) / H
    theta[:, 1, 2] = (y0 + y1) / H - 1
    grid = F.affine_grid(theta, [B, C, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
