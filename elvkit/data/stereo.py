"""The stereo pair type and the embedded default: Middlebury 2014 Motorcycle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .._checks import check_array, check_int, check_number, check_same_shape, describe
from ..geometry import StereoCalibration

__all__ = ["StereoPair", "load_motorcycle", "MOTORCYCLE_CALIBRATION"]

#: Calibration of scikit-image's quarter-size Motorcycle pair (from its docstring:
#: focal 994.978 px, principal point (311.193, 254.877), principal point dx 31.086 px,
#: baseline 193.001 mm).
MOTORCYCLE_CALIBRATION = StereoCalibration(focal=994.978, cx=311.193, cy=254.877,
                                           baseline=193.001, doffs=31.086, units="mm")


@dataclass(frozen=True)
class StereoPair:
    """A rectified stereo pair with ground truth.

    Attributes
    ----------
    left, right : ndarray, shape (H, W, 3), uint8
        The rectified images.
    disparity : ndarray, shape (H, W), float32
        Ground-truth left disparity in pixels; NaN where unknown.
    calib : StereoCalibration
        The rig's calibration.
    max_disp : int
        Number of disparities to search, ``0 .. max_disp - 1``; covers the
        ground truth.
    occlusion : ndarray, shape (H, W), bool, or None
        True where the left pixel is not visible in the right image (hidden by
        a nearer surface or outside the frame); None when unknown.
    name : str
        A human-readable name.
    """

    left: np.ndarray
    right: np.ndarray
    disparity: np.ndarray
    calib: StereoCalibration
    max_disp: int
    occlusion: np.ndarray | None = None
    name: str = "stereo pair"
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        check_array(self.left, "left", ndim=3)
        check_array(self.right, "right", ndim=3)
        check_same_shape(self.left, self.right, "left", "right")
        check_array(self.disparity, "disparity", ndim=2)
        check_same_shape(self.left, self.disparity, "left", "disparity", axes=(0, 1))
        check_int(self.max_disp, "max_disp", low=1)
        if self.occlusion is not None:
            if getattr(self.occlusion, "dtype", None) != np.bool_:
                raise TypeError(f"`occlusion` must be a boolean array; got {describe(self.occlusion)}.")
            check_same_shape(self.left, self.occlusion, "left", "occlusion", axes=(0, 1))

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return tuple(self.disparity.shape)

    @property
    def valid(self) -> np.ndarray:
        """Where the ground truth is known, shape (H, W), bool."""
        return np.isfinite(self.disparity)

    @property
    def nonoccluded(self) -> np.ndarray:
        """Known and visible in both views (all known pixels if occlusion is unknown)."""
        if self.occlusion is None:
            return self.valid
        return self.valid & ~self.occlusion

    def gray(self, which: str = "left") -> np.ndarray:
        """One view as float32 gray levels in [0, 1], shape (H, W)."""
        if which not in ("left", "right"):
            raise ValueError(f"`which` must be 'left' or 'right'; got {which!r}.")
        img = getattr(self, which).astype(np.float32) / 255.0
        return img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    def resized(self, scale: float) -> "StereoPair":
        """The pair resized by ``scale`` (area averaging when shrinking).

        Disparities are scaled with the image width; unknown ground truth stays
        unknown, and a pixel whose footprint touched an unknown or occluded
        pixel becomes unknown or occluded.
        """
        import cv2

        scale = check_number(scale, "scale", low=0, low_open=True, high=4.0)
        h, w = self.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR

        def img(a):
            return cv2.resize(a, size, interpolation=interp)

        known = np.isfinite(self.disparity)
        disp = img(np.where(known, self.disparity, 0).astype(np.float32)) * scale
        known_r = img(known.astype(np.float32)) > 0.999
        disp = np.where(known_r, disp, np.nan).astype(np.float32)
        occ = None
        if self.occlusion is not None:
            occ = img(self.occlusion.astype(np.float32)) > 0.001
        return replace(self, left=img(self.left), right=img(self.right), disparity=disp,
                       calib=self.calib.scaled(scale), occlusion=occ,
                       max_disp=max(1, int(np.ceil(self.max_disp * scale))),
                       name=f"{self.name} (x{scale:g})")

    def __repr__(self) -> str:
        h, w = self.shape
        known = float(self.valid.mean())
        occ = "unknown" if self.occlusion is None else f"{self.occlusion.mean():.1%}"
        return (f"StereoPair({self.name!r}, {h}x{w}, max_disp={self.max_disp}, "
                f"ground truth known at {known:.1%}, occluded {occ})")


def load_motorcycle() -> StereoPair:
    """The Middlebury 2014 Motorcycle pair at quarter size, offline.

    scikit-image ships it (500 x 741 pixels) with ground-truth disparity and
    the calibration in its docstring. Its ground truth marks unknown pixels
    with ``+inf`` (the docstring says NaN); here they are NaN. The pair has
    no occlusion mask. Disparities reach about 60 px, so ``max_disp`` is 64.

    References
    ----------
    D. Scharstein et al., High-resolution stereo datasets with subpixel-accurate
    ground truth, GCPR 2014.
    """
    from skimage import data

    left, right, disp = data.stereo_motorcycle()
    disp = np.asarray(disp, dtype=np.float32)
    disp = np.where(np.isfinite(disp), disp, np.nan).astype(np.float32)
    return StereoPair(left=np.ascontiguousarray(left), right=np.ascontiguousarray(right),
                      disparity=disp, calib=MOTORCYCLE_CALIBRATION, max_disp=64,
                      occlusion=None, name="Middlebury 2014 Motorcycle (quarter size)")
