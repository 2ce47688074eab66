"""Images with exact segmentations, for graph-based segmentation (Normalized Cuts).

Offline, generated: :func:`make_region_image` paints a few regions (a Voronoi partition of the image, so
that every boundary is straight and every region convex) that differ in **one** cue the notebook chooses:

* ``"intensity"``: each region has its own grey level; noise of a chosen strength on top. Intensity
  affinities separate them.
* ``"colour"``: every region has the **same brightness** (luma) but its own hue. The grey image is one flat
  level plus noise, so only colour features separate them.
* ``"texture"``: every region has the same mean grey level and is striped at its own orientation and period.
  Neither intensity nor colour separates them; filter responses (oriented energy) do.

Downloaded on demand: :func:`load_bsds500`, the Berkeley Segmentation Dataset's 500 photographs with 4-9
human segmentations each (Arbelaez et al., TPAMI 2011), read straight from its archive.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_number

__all__ = ["RegionImage", "make_region_image", "REGION_CUES", "BSDSImage", "load_bsds500", "BSDS500_SPLITS"]

REGION_CUES = ("intensity", "colour", "texture")
BSDS500_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RegionImage:
    """A generated image and its exact segmentation.

    ``image`` is (H, W) float32 in [0, 1] for the grey cues and (H, W, 3) for ``"colour"``; ``labels`` is
    (H, W) int64 with the regions numbered 0..K-1; ``clean`` is the image before noise."""

    image: np.ndarray
    labels: np.ndarray
    clean: np.ndarray
    cue: str
    noise: float

    @property
    def num_regions(self) -> int:
        return int(self.labels.max()) + 1

    def gray(self) -> np.ndarray:
        """The image in grey levels (ITU-R BT.601 luma for ``"colour"``)."""
        if self.image.ndim == 2:
            return self.image
        return self.image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    def __repr__(self) -> str:
        h, w = self.labels.shape
        return f"RegionImage({h}x{w}, {self.num_regions} regions differing in {self.cue}, noise {self.noise:g})"


def _hsv_at_luma(hues: np.ndarray, luma: float, saturation: float) -> np.ndarray:
    """RGB colours of the given hues whose luma is exactly ``luma`` (scaled down from a saturated colour)."""
    import colorsys

    out = []
    for h in hues:
        rgb = np.array(colorsys.hsv_to_rgb(float(h), saturation, 1.0))
        y = rgb @ np.array([0.299, 0.587, 0.114])
        out.append(rgb * (luma / y))
    out = np.array(out)
    if out.max() > 1.0:              # a hue too dark to reach this luma: lower the luma for all
        out *= 1.0 / out.max()
    return out.astype(np.float32)


def make_region_image(seed: int = 0, shape=(64, 64), regions: int = 4, cue: str = "intensity",
                      noise: float = 0.1) -> RegionImage:
    """A Voronoi partition of the image into ``regions`` regions that differ in one ``cue``, with exact labels.

    Parameters
    ----------
    seed : int
        Everything (the sites, the levels, the noise) is drawn from ``numpy.random.default_rng(seed)``.
    shape : (int, int)
        (H, W), each at least 8.
    regions : int
        2 to 12. The sites are drawn at least a fifth of the image's shorter side apart where the image
        allows it, so that no region is a sliver.
    cue : {"intensity", "colour", "texture"}
        What tells the regions apart (see the module's description).
    noise : float
        Standard deviation of the Gaussian noise added to every pixel (and channel), in grey levels of [0, 1];
        the result is clipped to [0, 1].
    """
    seed = check_int(seed, "seed", low=0)
    regions = check_int(regions, "regions", low=2, high=12)
    noise = check_number(noise, "noise", low=0.0, high=1.0)
    if cue not in REGION_CUES:
        raise ValueError(f"`cue` must be one of {REGION_CUES}; got {cue!r}")
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
        raise ValueError(f"`shape` must be (H, W); got {shape!r}")
    h, w = (check_int(s, "shape", low=8) for s in shape)
    rng = np.random.default_rng(seed)

    # sites by dart throwing: at least min(h, w) / 5 apart while that is possible
    spacing = min(h, w) / 5
    sites = []
    for _ in range(2000):
        p = rng.uniform([0, 0], [h, w])
        if all(np.hypot(*(p - q)) >= spacing for q in sites):
            sites.append(p)
            if len(sites) == regions:
                break
    while len(sites) < regions:                       # a crowded image: take what comes
        sites.append(rng.uniform([0, 0], [h, w]))
    sites = np.array(sites)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    d = (ys[None] - sites[:, 0, None, None]) ** 2 + (xs[None] - sites[:, 1, None, None]) ** 2
    labels = d.argmin(axis=0).astype(np.int64)

    order = rng.permutation(regions)
    if cue == "intensity":
        levels = np.linspace(0.15, 0.85, regions)[order]
        clean = levels[labels].astype(np.float32)
    elif cue == "colour":
        hues = (np.arange(regions) / regions + rng.uniform())[order] % 1.0
        colours = _hsv_at_luma(hues, luma=0.45, saturation=0.8)
        clean = colours[labels]
    else:
        angles = (np.arange(regions) * np.pi / regions)[order]
        periods = rng.uniform(4.0, 7.0, size=regions)
        phase = (xs[None] * np.cos(angles)[:, None, None] + ys[None] * np.sin(angles)[:, None, None])
        stripes = 0.5 + 0.25 * np.sin(2 * np.pi * phase / periods[:, None, None])
        clean = np.take_along_axis(stripes, labels[None], axis=0)[0].astype(np.float32)
    image = clean + rng.normal(0.0, noise, size=clean.shape) if noise > 0 else clean.copy()
    return RegionImage(image=np.clip(image, 0, 1).astype(np.float32), labels=labels,
                       clean=clean.astype(np.float32), cue=cue, noise=noise)


@dataclass(frozen=True)
class BSDSImage:
    """One BSDS500 photograph: ``image`` (H, W, 3) float32 RGB in [0, 1] (481 x 321 or 321 x 481), and every
    human segmentation of it, as (H, W) int64 labels from 0 (``segmentations``) and boolean boundary maps
    (``boundaries``)."""

    name: str
    split: str
    image: np.ndarray
    segmentations: list = field(repr=False)
    boundaries: list = field(repr=False)

    def __repr__(self) -> str:
        h, w = self.image.shape[:2]
        counts = ", ".join(str(int(s.max()) + 1) for s in self.segmentations)
        return (f"BSDSImage({self.split}/{self.name}, {w}x{h}, {len(self.segmentations)} human segmentations "
                f"of {counts} regions)")


def _bsds_members(tar: tarfile.TarFile, split: str) -> tuple[list, dict]:
    images, truths = [], {}
    for m in tar.getmembers():
        parts = m.name.split("/")
        if not m.isfile() or len(parts) < 3 or parts[-2] != split:
            continue
        if parts[-3] == "images" and parts[-1].endswith(".jpg"):
            images.append(m)
        elif parts[-3] == "groundTruth" and parts[-1].endswith(".mat"):
            truths[parts[-1][:-4]] = m
    return sorted(images, key=lambda m: m.name), truths


def load_bsds500(split: str = "test", index: int = 0) -> BSDSImage:
    """The ``index``-th photograph (in the order of their names) of a BSDS500 split with its human
    segmentations. The archive (``BSR_bsds500.tgz``, 71 MB) is downloaded on first use through the registry.

    Parameters
    ----------
    split : {"train", "val", "test"}
        200, 100 and 200 images.
    index : int
        0 to the split's size - 1.
    """
    import cv2
    from scipy.io import loadmat

    from .registry import fetch

    if split not in BSDS500_SPLITS:
        raise ValueError(f"`split` must be one of {BSDS500_SPLITS}; got {split!r}")
    index = check_int(index, "index", low=0)
    with tarfile.open(fetch("bsds500/BSR_bsds500.tgz"), "r:gz") as tar:
        images, truths = _bsds_members(tar, split)
        if not images:
            raise KeyError(f"no images of the {split!r} split in the archive: its layout may have changed "
                           "(expected BSR/BSDS500/data/images/<split>/*.jpg)")
        if index >= len(images):
            raise ValueError(f"`index` must be below {len(images)}, the {split!r} split's size; got {index}")
        member = images[index]
        name = member.name.rsplit("/", 1)[-1][:-4]
        data = np.frombuffer(tar.extractfile(member).read(), np.uint8)
        if name not in truths:
            raise KeyError(f"{split}/{name}.jpg has no groundTruth/{split}/{name}.mat in the archive")
        mat = loadmat(io.BytesIO(tar.extractfile(truths[name]).read()))
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{member.name} is not a readable JPEG")
    image = (bgr[..., ::-1].astype(np.float32) / 255.0).copy()
    segs, bounds = [], []
    for entry in np.ravel(mat["groundTruth"]):
        record = entry.ravel()[0] if entry.dtype == object else entry
        seg = np.asarray(record["Segmentation"]).squeeze()
        seg = seg.item() if seg.dtype == object else seg
        bnd = np.asarray(record["Boundaries"]).squeeze()
        bnd = bnd.item() if bnd.dtype == object else bnd
        # BSDS numbers the regions from 1; here they start at 0
        segs.append(np.asarray(seg, dtype=np.int64) - 1)
        bounds.append(np.asarray(bnd).astype(bool))
    return BSDSImage(name=name, split=split, image=image, segmentations=segs, boundaries=bounds)
