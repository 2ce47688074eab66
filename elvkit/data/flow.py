"""Optical-flow pairs with exact ground truth: the pair type and the offline generators.

Flow layout, everywhere in elvkit: ``flow`` has shape ``(H, W, 2)``;
``flow[y, x] = (u, v)`` says that the pixel ``(x, y)`` of the first image is
seen at ``(x + u, y + v)`` in the second image (``u`` along columns, ``v``
along rows, in pixels). NaN marks unknown flow.

Offline, always available
    :func:`make_affine_flow` -- a photograph under one known global affine motion.
    :func:`make_chairs_flow` -- FlyingChairs-style: a textured background under
    one affine motion and textured polygons and ellipses under others, with the
    occlusion mask and the exact backward flow.
    :func:`load_motorcycle_flow` -- the Middlebury 2014 Motorcycle stereo pair as
    a purely horizontal flow (``u = -disparity``, ``v = 0``): real images, real
    ground truth.

Every layer of a generated pair moves by an affine map ``p -> M p`` (``M`` a
2x3 matrix on homogeneous pixel coordinates), so the flow of the first image,
the flow of the second image back to the first and the occlusions are known in
closed form; only the texture lookups are interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_array, check_number, check_same_shape
from .synthetic import TEXTURES, _check_scene, _quantise, _random_layer, _render

__all__ = ["FlowPair", "make_affine_flow", "make_chairs_flow", "load_motorcycle_flow"]


@dataclass(frozen=True)
class FlowPair:
    """Two images and the flow from the first to the second.

    Attributes
    ----------
    image1, image2 : ndarray, shape (H, W, 3), uint8
        The frames at t and t + 1.
    flow : ndarray, shape (H, W, 2), float32
        Ground-truth flow of ``image1``: ``(u, v)`` per pixel; NaN where unknown.
    occlusion : ndarray, shape (H, W), bool, or None
        True where the point seen in ``image1`` is not visible in ``image2``
        (hidden by another surface, or moved out of the frame); None when unknown.
    flow_backward : ndarray, shape (H, W, 2), float32, or None
        Ground-truth flow of ``image2`` back to ``image1``, when known.
    name : str
        A human-readable name.
    """

    image1: np.ndarray
    image2: np.ndarray
    flow: np.ndarray
    occlusion: np.ndarray | None = None
    flow_backward: np.ndarray | None = None
    name: str = "flow pair"
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        check_array(self.image1, "image1", ndim=3)
        check_array(self.image2, "image2", ndim=3)
        check_same_shape(self.image1, self.image2, "image1", "image2")
        check_array(self.flow, "flow", ndim=3)
        if self.flow.shape != self.image1.shape[:2] + (2,):
            raise ValueError(f"`flow` must have shape {self.image1.shape[:2] + (2,)} (H, W, 2) to match "
                             f"the images; got {self.flow.shape}.")
        if self.occlusion is not None and (self.occlusion.dtype != np.bool_
                                           or self.occlusion.shape != self.image1.shape[:2]):
            raise ValueError(f"`occlusion` must be a boolean array of shape {self.image1.shape[:2]}; "
                             f"got {self.occlusion.dtype} {self.occlusion.shape}.")

    @property
    def shape(self) -> tuple:
        """``(H, W)``."""
        return self.image1.shape[:2]

    @property
    def valid(self) -> np.ndarray:
        """Where the ground truth is known: ``(H, W)`` bool."""
        return np.isfinite(self.flow).all(axis=2)

    @property
    def nonoccluded(self) -> np.ndarray:
        """Where the ground truth is known and the pixel stays visible."""
        return self.valid if self.occlusion is None else self.valid & ~self.occlusion

    @property
    def max_motion(self) -> float:
        """The largest ground-truth displacement, in pixels."""
        mag = np.linalg.norm(self.flow, axis=2)
        return float(np.nanmax(mag)) if np.isfinite(mag).any() else float("nan")

    def gray(self, which: int = 1) -> np.ndarray:
        """Frame 1 or 2 as gray float32 in [0, 1], shape (H, W)."""
        if which not in (1, 2):
            raise ValueError(f"`which` must be 1 or 2; got {which!r}.")
        img = self.image1 if which == 1 else self.image2
        return (img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0

    def __repr__(self) -> str:
        h, w = self.shape
        occ = f", {self.occlusion.mean():.1%} occluded" if self.occlusion is not None else ""
        return (f"FlowPair({self.name!r}, {h}x{w}, motion up to {self.max_motion:.1f} px, "
                f"ground truth on {self.valid.mean():.1%} of the pixels{occ})")


def _affine(rng, centre, *, translation, rotation_deg, scale):
    """A random 2x3 affine map: rotate and scale about ``centre``, then translate."""
    angle = np.deg2rad(rng.uniform(-rotation_deg, rotation_deg))
    sx, sy = rng.uniform(1 - scale, 1 + scale, size=2)
    shear = rng.uniform(-scale, scale) * 0.5
    A = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ \
        np.array([[sx, shear], [0.0, sy]])
    c = np.asarray(centre, dtype=np.float64)
    t = c - A @ c + rng.uniform(-translation, translation, size=2)
    return np.hstack([A, t[:, None]])


def _apply(M, x, y):
    return M[0, 0] * x + M[0, 1] * y + M[0, 2], M[1, 0] * x + M[1, 1] * y + M[1, 2]


def _inverse(M):
    A = np.linalg.inv(M[:, :2])
    return np.hstack([A, -(A @ M[:, 2])[:, None]])


def _flow_scene(seed, shape, n_objects, background_motion, object_motion, noise, brightness, textures, name):
    seed, h, w, n_objects, noise, textures = _check_scene(seed, shape, n_objects, noise, textures)
    background_motion = check_number(background_motion, "background_motion", low=0.0, high=min(h, w) / 4)
    object_motion = check_number(object_motion, "object_motion", low=0.0, high=min(h, w) / 2)
    brightness = check_number(brightness, "brightness", low=-0.9, high=2.0)
    rng = np.random.default_rng(seed)

    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    layers = [_random_layer(rng, h, w, 0.0, 0.0, "plane", textures)]
    motions = [_affine(rng, centre, translation=background_motion, rotation_deg=2.0 if background_motion else 0.0,
                       scale=0.03 if background_motion else 0.0)]
    kinds = ("ellipse", "rectangle", "polygon")
    for _ in range(n_objects):
        layer = _random_layer(rng, h, w, 0.0, 0.0, kinds[int(rng.integers(len(kinds)))], textures)
        layers.append(layer)
        params = layer.params
        obj_centre = params[:2] if layer.shape == "ellipse" else params[0].mean(axis=0)
        motions.append(_affine(rng, obj_centre, translation=object_motion, rotation_deg=10.0, scale=0.08))
    inverses = [_inverse(M) for M in motions]

    y, x = np.mgrid[0:h, 0:w].astype(np.float64)

    def render(lookup):
        """Top-most layer per pixel, the frame-1 coordinates where it is looked up, and the image."""
        index = np.full((h, w), -1, dtype=np.int64)
        px, py = np.zeros((h, w)), np.zeros((h, w))
        for k, layer in enumerate(layers):
            lx, ly = lookup(k)
            hit = layer.covers(lx, ly)
            index[hit], px[hit], py[hit] = k, lx[hit], ly[hit]
        return index, px, py, _render(layers, index, px, py)

    index1, _, _, frame1 = render(lambda k: (x, y))
    index2, bx, by, frame2 = render(lambda k: _apply(inverses[k], x, y))

    flow = np.zeros((h, w, 2))
    occluded = np.zeros((h, w), dtype=bool)
    for k, M in enumerate(motions):
        sel = index1 == k
        x2, y2 = _apply(M, x, y)
        flow[..., 0] = np.where(sel, x2 - x, flow[..., 0])
        flow[..., 1] = np.where(sel, y2 - y, flow[..., 1])
        hidden = (x2 < 0) | (x2 > w - 1) | (y2 < 0) | (y2 > h - 1)
        for j in range(k + 1, len(layers)):       # layers drawn above k may cover its new place
            hidden |= layers[j].covers(*_apply(inverses[j], x2, y2))
        occluded |= sel & hidden
    flow_bw = np.stack([bx - x, by - y], axis=2)

    return FlowPair(image1=_quantise(frame1, noise, rng), image2=_quantise(frame2, noise, rng, 1.0 + brightness),
                    flow=flow.astype(np.float32), occlusion=occluded, flow_backward=flow_bw.astype(np.float32),
                    name=name, extra={"labels": index1, "labels2": index2, "motions": np.stack(motions)})


def make_affine_flow(seed: int = 0, *, shape=(384, 512), max_motion: float = 8.0, noise: float = 0.01,
                     brightness: float = 0.0, textures=TEXTURES) -> FlowPair:
    """A real photograph under one known global affine motion.

    Parameters
    ----------
    seed : int
        Seeds everything; the same seed gives the same pair.
    shape : tuple of int
        ``(H, W)``, each at least 32.
    max_motion : float
        Largest random translation in pixels along each axis; a rotation of up
        to 2 degrees and a scale change of up to 3 % about the image centre add
        to it.
    noise : float
        Standard deviation of the Gaussian noise added to each frame (intensity
        range [0, 1]) before quantisation to uint8.
    brightness : float
        Relative brightness change of frame 2 (0.2: 20 % brighter), to show
        where brightness constancy fails.
    textures : sequence of str
        scikit-image photographs to choose from.

    Returns
    -------
    FlowPair
        With ``occlusion`` (pixels that leave the frame) and ``flow_backward``.
    """
    return _flow_scene(seed, shape, 0, max_motion, 0.0, noise, brightness, textures,
                       name=f"affine motion {seed}")


def make_chairs_flow(seed: int = 0, *, shape=(384, 512), n_objects: int = 5, max_motion: float = 20.0,
                     background_motion: float = 6.0, noise: float = 0.01, brightness: float = 0.0,
                     textures=TEXTURES) -> FlowPair:
    """A FlyingChairs-style pair: textured layers under independent affine motions.

    A background photograph moves by one random affine map; ``n_objects``
    textured ellipses, rectangles and convex polygons, drawn in front of it in
    order, move by others (translations up to ``max_motion`` pixels, rotations
    up to 10 degrees, scale changes up to 8 %). Objects hide what is behind
    them, so the pair has occlusions and motion boundaries.

    Parameters
    ----------
    seed : int
        Seeds everything.
    shape : tuple of int
        ``(H, W)``, each at least 32.
    n_objects : int
        Number of moving objects.
    max_motion : float
        Largest translation of an object, in pixels along each axis.
    background_motion : float
        Largest translation of the background, in pixels along each axis.
    noise, brightness, textures
        As in :func:`make_affine_flow`.

    Returns
    -------
    FlowPair
        With ``occlusion``, ``flow_backward`` and, in ``extra``, ``labels``
        (H, W): the layer each pixel of frame 1 sees (0 = background).
    """
    return _flow_scene(seed, shape, n_objects, background_motion, max_motion, noise, brightness, textures,
                       name=f"chairs-style scene {seed}")


def load_motorcycle_flow() -> FlowPair:
    """The Middlebury 2014 Motorcycle stereo pair as an optical-flow pair.

    The left image is frame 1 and the right image frame 2. Rectified views
    differ by a horizontal shift only: a left pixel with disparity ``d`` is seen
    ``d`` pixels to the left, so the flow is ``(u, v) = (-d, 0)``. Unknown
    disparities give unknown (NaN) flow. Motions reach about 70 pixels: a test
    of coarse-to-fine methods.
    """
    from .stereo import load_motorcycle

    pair = load_motorcycle()
    d = pair.disparity.astype(np.float32)
    flow = np.stack([-d, np.where(np.isfinite(d), 0.0, np.nan).astype(np.float32)], axis=2)
    return FlowPair(image1=pair.left, image2=pair.right, flow=flow, name="Middlebury 2014 Motorcycle as flow")

