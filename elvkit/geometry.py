"""Camera geometry for rectified stereo: calibration, intrinsics, warping.

Conventions used everywhere in elvkit
-------------------------------------
* Images are arrays of shape ``(H, W)`` or ``(H, W, 3)``; ``x`` is the column,
  ``y`` the row, and pixel centres sit at integer coordinates.
* ``disparity`` is in pixels and positive for the left image:
  a left pixel ``(x, y)`` is seen at ``(x - d, y)`` in the right image
  (the lecture's :math:`\\delta = x_L - x_R`).
* Depth ``Z`` is along the optical axis, in the unit of the baseline (mm for
  Middlebury). With Middlebury's offset between the two principal points,
  ``Z = baseline * focal / (d + doffs)``.

The triangulation itself (disparity to depth, reprojection to 3-D) is an
exercise of assignment 01 and deliberately not provided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ._checks import check_array, check_image, check_number, check_same_shape

__all__ = ["StereoCalibration", "warp_by_disparity"]


@dataclass(frozen=True)
class StereoCalibration:
    """Calibration of a rectified stereo pair.

    Attributes
    ----------
    focal : float
        Focal length in pixels (the same for both rectified cameras).
    cx, cy : float
        Principal point of the left camera, in pixels.
    baseline : float
        Distance between the two camera centres (mm for Middlebury).
    doffs : float
        x-difference of the principal points, ``cx_right - cx_left`` in
        Middlebury's calib.txt; 0 for most rigs.
    units : str
        Unit of ``baseline`` and therefore of depth.
    """

    focal: float
    cx: float
    cy: float
    baseline: float
    doffs: float = 0.0
    units: str = "mm"

    def __post_init__(self):
        check_number(self.focal, "focal", low=0, low_open=True)
        check_number(self.baseline, "baseline", low=0, low_open=True)
        check_number(self.cx, "cx")
        check_number(self.cy, "cy")
        check_number(self.doffs, "doffs")

    @property
    def K(self) -> np.ndarray:
        """The left camera's 3x3 intrinsic matrix."""
        return np.array([[self.focal, 0.0, self.cx],
                         [0.0, self.focal, self.cy],
                         [0.0, 0.0, 1.0]])

    def scaled(self, factor: float) -> "StereoCalibration":
        """The calibration of the same rig after resizing both images by ``factor``.

        Pixel quantities (focal length, principal point, doffs) scale; the
        baseline does not. Pixel centres are kept at integer coordinates, so
        ``cx' = (cx + 0.5) * factor - 0.5``.
        """
        f = check_number(factor, "factor", low=0, low_open=True)
        return replace(self, focal=self.focal * f, cx=(self.cx + 0.5) * f - 0.5,
                       cy=(self.cy + 0.5) * f - 0.5, doffs=self.doffs * f)

    @classmethod
    def from_middlebury(cls, text: str) -> "StereoCalibration":
        """Parse a Middlebury 2014 ``calib.txt``.

        Its lines look like ``cam0=[3979.911 0 1244.772; 0 3979.911 1019.507; 0 0 1]``,
        ``doffs=124.343`` and ``baseline=193.001``.
        """
        values = {}
        for line in text.splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
        missing = [k for k in ("cam0", "baseline") if k not in values]
        if missing:
            raise ValueError(f"`text` is not a Middlebury calib.txt: missing {', '.join(missing)}.")
        numbers = [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", values["cam0"])]
        if len(numbers) != 9:
            raise ValueError(f"cam0 in calib.txt must hold a 3x3 matrix; got {values['cam0']!r}.")
        return cls(focal=numbers[0], cx=numbers[2], cy=numbers[5],
                   baseline=float(values["baseline"]), doffs=float(values.get("doffs", 0.0)))


def warp_by_disparity(right, disparity):
    """Re-render the left view from the right image and a left disparity map.

    Each left pixel ``(x, y)`` takes the right image's value at ``(x - d, y)``,
    interpolated bilinearly. Where the disparity is right, the result looks
    like the left image except in occlusions.

    Parameters
    ----------
    right : ndarray, shape (H, W) or (H, W, C)
        The right image.
    disparity : ndarray, shape (H, W)
        Left disparity in pixels; NaN where unknown.

    Returns
    -------
    warped : ndarray, shape like ``right``, float32
        The right image resampled into the left view; 0 where invalid.
    valid : ndarray, shape (H, W), bool
        Where ``x - d`` fell inside the right image and ``d`` was known.
    """
    import cv2

    right = check_image(right, "right")
    disparity = check_array(disparity, "disparity", ndim=2)
    check_same_shape(right, disparity, "right", "disparity", axes=(0, 1))
    disparity = np.asarray(disparity, dtype=np.float32)
    h, w = disparity.shape
    xs = np.arange(w, dtype=np.float32)[None, :] - disparity
    ys = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w))
    known = np.isfinite(xs)
    valid = known & (xs >= 0) & (xs <= w - 1)
    map_x = np.where(known, xs, -1.0).astype(np.float32)
    warped = cv2.remap(np.asarray(right, dtype=np.float32), map_x, np.ascontiguousarray(ys),
                       interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if warped.ndim == 3:
        warped[~valid] = 0
    else:
        warped = np.where(valid, warped, 0).astype(np.float32)
    return warped, valid
