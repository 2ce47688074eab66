"""Data for the course: offline defaults and real downloadable sets.

Offline, always available
    :func:`load_motorcycle` -- the Middlebury 2014 Motorcycle pair (quarter size)
    with ground truth and calibration, shipped by scikit-image.
    :func:`make_stereo_scene` -- generated stereo scenes from real textures with
    exact ground truth and occlusion masks.
    :func:`make_affine_flow`, :func:`make_chairs_flow` -- generated optical-flow
    pairs (a global affine motion; FlyingChairs-style layers) with exact flow,
    backward flow and occlusions.
    :func:`load_motorcycle_flow` -- the Motorcycle pair as a horizontal flow.
    :func:`load_digits` -- scikit-learn's 1,797 real 8 x 8 handwritten digits, split
    into training and test images (self-supervised learning and its probes).
    :func:`make_object_scenes` -- generated multi-object scenes with exact instance
    masks (textured objects sharing colours, or flat ones), for object discovery.
    :func:`make_region_image` -- generated images of a few regions that differ in
    intensity, colour or texture only, with exact segmentations (Normalized Cuts).
    :func:`load_photographs` -- scikit-image's colour photographs and the Motorcycle's
    left view, square, for what networks trained on photographs show (DINO).

Downloaded on demand (pooch, sha256, cached; never needed by the tests)
    :func:`load_middlebury` -- full-size Middlebury 2014 scenes.
    :func:`load_kitti2015` -- KITTI 2015 stereo training pairs.
    :func:`load_sintel` -- MPI Sintel training frames with flow and occlusions.
    :func:`load_kitti2015_flow` -- KITTI 2015 flow training pairs.
    :func:`load_middlebury_flow` -- the Middlebury flow benchmark's pairs with ground truth.
    :func:`load_cifar10`, :func:`load_stl10` -- labelled image sets (STL-10 with its
    unlabelled images) for full-size self-supervised runs.
    :func:`load_bsds500` -- the Berkeley Segmentation Dataset's photographs with their
    human segmentations.
    :func:`load_multi_object` -- DeepMind's multi-object scenes (Tetrominoes, Multi-dSprites,
    CLEVR with masks) with instance masks, read from their TFRecords without TensorFlow.
"""

from .digits import Digits, load_digits
from .objects import ObjectScenes, make_object_scenes
from .photos import PHOTOGRAPHS, Photographs, load_photographs
from .multi_object import MULTI_OBJECT_SETS, load_multi_object
from .segments import BSDSImage, RegionImage, load_bsds500, make_region_image
from .images import ImageSet, load_cifar10, load_stl10
from .flow import FlowPair, load_motorcycle_flow, make_affine_flow, make_chairs_flow
from .formats import (read_flo, read_kitti_disparity, read_kitti_flow, read_pfm, write_flo, write_kitti_disparity,
                      write_kitti_flow, write_pfm)
from .registry import (available, download_all, fetch, load_kitti2015, load_kitti2015_flow, load_middlebury,
                       load_middlebury_flow, load_sintel)
from .stereo import MOTORCYCLE_CALIBRATION, StereoPair, load_motorcycle
from .synthetic import PATTERNS, TEXTURES, WEAK_TEXTURES, make_curved_stereo_scene, make_stereo_scene

__all__ = [
    "StereoPair",
    "load_motorcycle",
    "MOTORCYCLE_CALIBRATION",
    "make_stereo_scene",
    "make_curved_stereo_scene",
    "PATTERNS",
    "TEXTURES",
    "WEAK_TEXTURES",
    "FlowPair",
    "make_affine_flow",
    "make_chairs_flow",
    "load_motorcycle_flow",
    "Digits",
    "load_digits",
    "Photographs",
    "load_photographs",
    "PHOTOGRAPHS",
    "ObjectScenes",
    "make_object_scenes",
    "load_multi_object",
    "MULTI_OBJECT_SETS",
    "read_flo",
    "write_flo",
    "read_kitti_flow",
    "write_kitti_flow",
    "load_sintel",
    "load_kitti2015_flow",
    "load_middlebury_flow",
    "read_pfm",
    "write_pfm",
    "read_kitti_disparity",
    "write_kitti_disparity",
    "available",
    "fetch",
    "download_all",
    "load_middlebury",
    "load_kitti2015",
    "ImageSet",
    "load_cifar10",
    "load_stl10",
    "RegionImage",
    "make_region_image",
    "BSDSImage",
    "load_bsds500",
]
