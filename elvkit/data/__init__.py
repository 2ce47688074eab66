"""Data for the course: offline defaults and real downloadable sets.

Offline, always available
    :func:`load_motorcycle` -- the Middlebury 2014 Motorcycle pair (quarter size)
    with ground truth and calibration, shipped by scikit-image.
    :func:`make_stereo_scene` -- generated stereo scenes from real textures with
    exact ground truth and occlusion masks.

Downloaded on demand (pooch, sha256, cached; never needed by the tests)
    :func:`load_middlebury` -- full-size Middlebury 2014 scenes.
    :func:`load_kitti2015` -- KITTI 2015 stereo training pairs.
"""

from .formats import read_kitti_disparity, read_pfm, write_kitti_disparity, write_pfm
from .registry import available, download_all, fetch, load_kitti2015, load_middlebury
from .stereo import MOTORCYCLE_CALIBRATION, StereoPair, load_motorcycle
from .synthetic import TEXTURES, WEAK_TEXTURES, make_stereo_scene

__all__ = [
    "StereoPair",
    "load_motorcycle",
    "MOTORCYCLE_CALIBRATION",
    "make_stereo_scene",
    "TEXTURES",
    "WEAK_TEXTURES",
    "read_pfm",
    "write_pfm",
    "read_kitti_disparity",
    "write_kitti_disparity",
    "available",
    "fetch",
    "download_all",
    "load_middlebury",
    "load_kitti2015",
]
