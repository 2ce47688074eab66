"""Generated multi-object scenes with exact instance masks, for object discovery.

One generator serves self-supervised learning (the attention of a ViT), Normalized Cuts / MaskCut and slot
attention. A scene is 2-6 objects of several shape families (ellipses, rotated rectangles, triangles and
rings), painted back to front so that later objects occlude earlier ones, on a background.

Two variants, which the notebooks compare:

* ``"colour-proof"`` (the default): the background and every object are **textured** (stripes at any angle,
  checkerboards, blobs) with colours drawn from one small shared palette, so that many objects and the
  background contain the same colours. Grouping pixels by colour does not find the objects (k-means on RGB:
  FG-ARI about 0.1-0.2); shape, texture and their boundaries do.
* ``"palette"``: flat objects, one palette colour each, on a dark background, like Multi-dSprites or
  Tetrominoes, where colour alone nearly solves the task.

The masks are exact: ``masks[i, y, x]`` is 0 on the background and k = 1..K for the k-th visible object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int

__all__ = ["ObjectScenes", "make_object_scenes", "PALETTE", "SHAPES"]

#: the shared palette (RGB in [0, 1]): every object and the background draw their colours from it
PALETTE = np.array([[0.90, 0.20, 0.15], [0.15, 0.55, 0.90], [0.95, 0.80, 0.15], [0.20, 0.75, 0.30],
                    [0.60, 0.30, 0.80], [0.95, 0.95, 0.95]], dtype=np.float32)
SHAPES = ("ellipse", "rectangle", "triangle", "ring")
VARIANTS = ("colour-proof", "palette")


@dataclass(frozen=True)
class ObjectScenes:
    """A batch of scenes: ``images`` (N, 3, H, W) float32 in [0, 1], ``masks`` (N, H, W) int64 (0 = background,
    1..K = the visible objects, in painting order), ``num_objects`` (N,) the K of each scene."""

    images: np.ndarray
    masks: np.ndarray
    num_objects: np.ndarray
    variant: str

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        n, _, h, w = self.images.shape
        return (f"ObjectScenes({n} {self.variant} scenes of {h}x{w}, "
                f"{int(self.num_objects.min())}-{int(self.num_objects.max())} objects)")


def _shape_mask(kind: str, xs, ys, cx, cy, r, angle, aspect):
    c, s = np.cos(angle), np.sin(angle)
    u = ((xs - cx) * c + (ys - cy) * s) / r
    v = (-(xs - cx) * s + (ys - cy) * c) / (r * aspect)
    if kind == "ellipse":
        return u * u + v * v <= 1
    if kind == "ring":
        d = u * u + v * v
        return (d <= 1) & (d >= 0.3)
    if kind == "rectangle":
        return (np.abs(u) <= 0.9) & (np.abs(v) <= 0.9)
    # a triangle: three half-planes of the unit circle's inscribed triangle
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        a = 2 * np.pi * k / 3 + np.pi / 2
        inside &= u * np.cos(a) + v * np.sin(a) <= 0.5
    return inside


def _texture(rng, xs, ys, size, colours):
    """A two- or three-colour pattern over the whole image: stripes, a checkerboard or blobs."""
    kind = rng.integers(3)
    if kind == 0:                                              # stripes at any angle
        a = rng.uniform(0, np.pi)
        period = rng.uniform(3, 8)
        phase = (xs * np.cos(a) + ys * np.sin(a)) / period + rng.uniform()
        index = np.floor(phase).astype(int) % len(colours)
    elif kind == 1:                                            # a checkerboard
        cell = rng.uniform(2.5, 6)
        index = (np.floor(xs / cell) + np.floor(ys / cell)).astype(int) % len(colours)
    else:                                                      # blobs: thresholded smooth noise
        import cv2

        noise = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), rng.uniform(1.5, 3))
        index = np.digitize(noise, np.quantile(noise, np.linspace(0, 1, len(colours) + 1)[1:-1]))
    return colours[index]


def make_object_scenes(n: int = 256, seed: int = 0, *, size: int = 64, objects=(2, 6),
                       variant: str = "colour-proof") -> ObjectScenes:
    """Generate ``n`` scenes of ``size`` x ``size`` pixels with 2-6 objects each (``objects``: the range).

    Parameters
    ----------
    n, seed : int
        How many scenes, and the seed they are drawn from (the same seed gives the same scenes).
    size : int
        Height and width, at least 16.
    objects : (int, int)
        The fewest and most objects painted per scene (an object hidden behind later ones is not counted).
    variant : str
        ``"colour-proof"`` (textured objects sharing colours) or ``"palette"`` (flat colours).
    """
    n, size, seed = check_int(n, "n", low=1), check_int(size, "size", low=16), check_int(seed, "seed", low=0)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    lo, hi = (int(v) for v in objects)
    if not 1 <= lo <= hi <= 12:
        raise ValueError(f"objects must be (fewest, most) with 1 <= fewest <= most <= 12; got {tuple(objects)}")
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    counts = np.zeros(n, np.int64)
    for i in range(n):
        if variant == "palette":
            image = np.full((size, size, 3), 0.08, np.float32)
        else:
            image = _texture(rng, xs, ys, size, PALETTE[rng.choice(len(PALETTE), 2, replace=False)])
        label = np.zeros((size, size), np.int64)
        for k in range(1, int(rng.integers(lo, hi + 1)) + 1):
            kind = SHAPES[rng.integers(len(SHAPES))]
            r = rng.uniform(0.12, 0.24) * size
            cx, cy = rng.uniform(r * 0.6, size - r * 0.6, size=2)
            shape = _shape_mask(kind, xs, ys, cx, cy, r, rng.uniform(0, np.pi), rng.uniform(0.6, 1.0))
            if variant == "palette":
                fill = np.broadcast_to(PALETTE[rng.integers(len(PALETTE))], (size, size, 3))
            else:
                fill = _texture(rng, xs, ys, size, PALETTE[rng.choice(len(PALETTE), rng.integers(2, 4),
                                                                       replace=False)])
            image[shape] = fill[shape]
            label[shape] = k
        visible = [k for k in np.unique(label) if k > 0]
        relabel = np.zeros(label.max() + 1, np.int64)
        relabel[visible] = np.arange(1, len(visible) + 1)
        masks[i], counts[i] = relabel[label], len(visible)
        images[i] = image
    return ObjectScenes(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), masks, counts, variant)
