"""Library methods to compare against: OpenCV's semi-global block matching and optical flow.

Flow baselines take two frames (uint8, or floats in [0, 1]; gray or RGB) and
return the flow of the first frame, ``(H, W, 2)`` float32, as everywhere in elvkit.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_image, check_int, check_same_shape

__all__ = ["opencv_sgbm", "opencv_farneback", "opencv_dis", "opencv_pyramidal_lk", "kmeans_colours"]


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


def _flow_inputs(image1, image2):
    image1 = check_image(image1, "image1")
    image2 = check_image(image2, "image2")
    check_same_shape(image1, image2, "image1", "image2", axes=(0, 1))
    return _gray_u8(image1), _gray_u8(image2)


def opencv_farneback(image1, image2, *, levels: int = 3, window: int = 15, iterations: int = 3) -> np.ndarray:
    """Dense flow from OpenCV's Farneback method (polynomial expansion, coarse to fine).

    Parameters
    ----------
    image1, image2 : ndarray, shape (H, W) or (H, W, 3)
    levels : int
        Pyramid levels (OpenCV's ``levels``). The defaults are OpenCV's documented example
        settings (levels 3, window 15, 3 iterations, poly_n 5, poly_sigma 1.2).
    window : int
        Averaging window size.
    iterations : int
        Iterations per level.
    """
    import cv2

    g1, g2 = _flow_inputs(image1, image2)
    levels = check_int(levels, "levels", low=1, high=10)
    window = check_int(window, "window", low=3)
    iterations = check_int(iterations, "iterations", low=1)
    flow = cv2.calcOpticalFlowFarneback(g1, g2, None, pyr_scale=0.5, levels=levels, winsize=window,
                                        iterations=iterations, poly_n=5, poly_sigma=1.2, flags=0)
    return flow.astype(np.float32)


_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def opencv_dis(image1, image2, *, preset: str = "medium") -> np.ndarray:
    """Dense flow from OpenCV's DIS (dense inverse search, Kroeger et al., ECCV 2016).

    Parameters
    ----------
    preset : {"ultrafast", "fast", "medium"}
    """
    import cv2

    g1, g2 = _flow_inputs(image1, image2)
    if preset not in _DIS_PRESETS:
        raise ValueError(f"`preset` must be one of {', '.join(_DIS_PRESETS)}; got {preset!r}.")
    dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])
    return dis.calc(g1, g2, None).astype(np.float32)


def opencv_pyramidal_lk(image1, image2, *, window: int = 21, levels: int = 5, iterations: int = 30,
                        step: int = 1) -> np.ndarray:
    """OpenCV's pyramidal Lucas-Kanade (Bouguet's), tracked from every ``step``-th pixel.

    ``cv2.calcOpticalFlowPyrLK`` follows sparse points; here it tracks every
    pixel (``step=1``) or a grid whose flow is then interpolated bilinearly. Points
    that OpenCV loses (status 0) get NaN.

    Parameters
    ----------
    window : int
        Side of the square window.
    levels : int
        Pyramid levels above the image (OpenCV's ``maxLevel``).
    iterations : int
        Largest number of iterations per level.
    step : int
        Track a grid with this spacing.
    """
    import cv2

    g1, g2 = _flow_inputs(image1, image2)
    window = check_int(window, "window", low=3)
    levels = check_int(levels, "levels", low=0, high=10)
    step = check_int(step, "step", low=1)
    h, w = g1.shape
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)[:, None, :]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 0.01)
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(g1, g2, pts, None, winSize=(window, window), maxLevel=levels,
                                              criteria=criteria)
    flow = (nxt - pts)[:, 0, :].reshape(ys.shape + (2,))
    flow[status.reshape(ys.shape) == 0] = np.nan
    if step > 1:
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    return flow.astype(np.float32)


def kmeans_colours(image, k: int, *, seed: int = 0) -> np.ndarray:
    """Group the pixels of one image by colour alone: OpenCV's k-means on RGB, ``k`` clusters.

    The baseline an object-discovery method must beat: on the colour-proof scenes of
    :func:`elvkit.data.make_object_scenes` it does not find objects, on flat-coloured ones it nearly does.

    Parameters
    ----------
    image : array_like, shape (3, H, W) or (H, W, 3), floats in [0, 1]
    k : int
        The number of clusters (for example the number of objects plus one for the background).

    Returns
    -------
    ndarray, shape (H, W), int64 : the cluster of each pixel
    """
    import cv2

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 3 or 3 not in (img.shape[0], img.shape[-1]):
        raise ValueError(f"image must have shape (3, H, W) or (H, W, 3); got {img.shape}")
    if img.shape[0] == 3 and img.shape[-1] != 3:
        img = img.transpose(1, 2, 0)
    h, w, _ = img.shape
    k = int(k)
    if not 1 <= k <= h * w:
        raise ValueError(f"k must be between 1 and the number of pixels ({h * w}); got {k}")
    cv2.setRNGSeed(int(seed))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, labels, _ = cv2.kmeans(img.reshape(-1, 3), k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    return labels.reshape(h, w).astype(np.int64)
