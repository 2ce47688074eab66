"""Library methods to compare against: OpenCV's semi-global block matching."""

from __future__ import annotations

import numpy as np

from ._checks import check_image, check_int, check_same_shape

__all__ = ["opencv_sgbm"]


def _gray_u8(img) -> np.ndarray:
    import cv2

    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.round(img.astype(np.float64) * (255.0 if img.max() <= 1.0 else 1.0)), 0, 255)
        img = img.astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img


def opencv_sgbm(left, right, max_disp: int, *, block_size: int = 5, uniqueness: int = 10,
                speckle_window: int = 100) -> np.ndarray:
    """Disparity from OpenCV's StereoSGBM (Hirschmuller's SGM with block costs).

    Parameters
    ----------
    left, right : ndarray, shape (H, W) or (H, W, 3)
        uint8 images, or floats in [0, 1].
    max_disp : int
        Disparities ``0 .. max_disp - 1`` are searched; rounded up to a
        multiple of 16 as OpenCV requires.
    block_size : int
        Odd matching block size.

    Returns
    -------
    ndarray, shape (H, W), float32
        Disparity in pixels; NaN where OpenCV gives none (its invalid pixels,
        which include the leftmost ``max_disp`` columns).
    """
    import cv2

    left = check_image(left, "left")
    right = check_image(right, "right")
    check_same_shape(left, right, "left", "right")
    max_disp = check_int(max_disp, "max_disp", low=1)
    block_size = check_int(block_size, "block_size", low=1, high=11, odd=True)
    num = int(np.ceil(max_disp / 16.0) * 16)
    channels = 1
    matcher = cv2.StereoSGBM_create(
        minDisparity=0, numDisparities=num, blockSize=block_size,
        P1=8 * channels * block_size ** 2, P2=32 * channels * block_size ** 2,
        disp12MaxDiff=1, uniquenessRatio=uniqueness, speckleWindowSize=speckle_window,
        speckleRange=2, mode=cv2.STEREO_SGBM_MODE_SGBM)
    raw = matcher.compute(_gray_u8(left), _gray_u8(right))
    disp = raw.astype(np.float32) / 16.0
    return np.where(raw < 0, np.nan, disp).astype(np.float32)
