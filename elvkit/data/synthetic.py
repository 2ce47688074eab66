"""Synthetic stereo scenes from real textures, with exact ground truth.

A scene is a stack of planar layers seen by a rectified rig: a slanted
background plane and several objects (ellipses, rectangles, convex polygons)
that are either fronto-parallel or slanted. Each layer carries a photograph
from scikit-image's bundled images as its texture.

Every layer is a plane in disparity space, ``d(x, y) = a + b x + c y`` in left
image coordinates, so both views can be rendered exactly: a right pixel
``(x_r, y)`` sees layer ``k`` at the left abscissa ``x = (x_r + a + c y) / (1 - b)``
if the layer's outline covers that point, and the nearest covering layer (the
largest disparity) wins. The ground-truth disparity, the right view's
disparity and the occlusion mask therefore hold to floating-point precision:
no resampling of a depth map is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._checks import check_int, check_number
from ..geometry import StereoCalibration
from .stereo import StereoPair

__all__ = ["make_stereo_scene", "make_curved_stereo_scene", "TEXTURES", "WEAK_TEXTURES", "PATTERNS"]

#: scikit-image's bundled photographs with texture almost everywhere (the default).
TEXTURES = ("grass", "gravel", "immunohistochemistry", "chelsea", "coffee")
_CANDIDATE_CROPS = 24     # crops tried per layer; the best-textured one is kept
#: Photographs with large uniform areas (sky, walls, background): to show where local
#: matching costs fail. Pass ``textures=WEAK_TEXTURES`` to :func:`make_stereo_scene`.
WEAK_TEXTURES = ("camera", "astronaut", "rocket", "brick", "coins", "moon", "page")


#: Procedural textures that repeat with a short period (stripes, a checkerboard, a brick-like grid), where matching
#: has several equally good disparities one period apart.
PATTERNS = ("stripes", "checks", "grid")


def _pattern(name: str) -> np.ndarray:
    """A 512 x 512 repetitive texture with a little fine noise (cameras never see a perfect pattern)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    y, x = np.mgrid[0:512, 0:512].astype(np.float32)
    if name == "stripes":
        g = 0.5 + 0.35 * np.sign(np.sin(2 * np.pi * x / 11.0))
    elif name == "checks":
        g = 0.5 + 0.35 * np.sign(np.sin(2 * np.pi * x / 14.0) * np.sin(2 * np.pi * y / 14.0))
    else:
        g = 0.75 - 0.45 * ((x % 16 < 2) | (y % 9 < 2))
    g = g + 0.02 * rng.standard_normal(g.shape).astype(np.float32)
    return np.clip(np.repeat(g[..., None], 3, axis=2), 0, 1).astype(np.float32)


@lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray:
    if name in PATTERNS:
        img = _pattern(name)
        img.setflags(write=False)
        return img
    from skimage import data

    img = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    img.setflags(write=False)
    return img


@lru_cache(maxsize=None)
def _textured(name: str) -> np.ndarray:
    """Where the texture has structure: local (5x5) standard deviation of gray above 0.03."""
    import cv2

    g = _texture(name).mean(axis=2).astype(np.float32)
    m = cv2.blur(g, (5, 5))
    sd = np.sqrt(np.maximum(cv2.blur(g * g, (5, 5)) - m * m, 0))
    out = (sd > 0.03).astype(np.float32)
    out.setflags(write=False)
    return out


def _reflect(i, n):
    """Reflect indices into 0 .. n-1 like OpenCV's BORDER_REFLECT_101."""
    period = 2 * (n - 1)
    i = np.abs(np.asarray(i)) % period
    return np.where(i >= n, period - i, i)


@dataclass
class _Layer:
    a: float  # disparity plane d = a + b x + c y
    b: float
    c: float
    shape: str
    params: tuple
    texture: str
    tint: np.ndarray
    scale: float
    angle: float
    offset: tuple

    def disparity(self, x, y):
        return self.a + self.b * x + self.c * y

    def left_x(self, xr, y):
        """Left abscissa of the layer point that the right pixel ``(xr, y)`` sees."""
        return (xr + self.a + self.c * y) / (1.0 - self.b)

    def covers(self, x, y):
        if self.shape == "plane":
            return np.ones(np.broadcast(x, y).shape, dtype=bool)
        if self.shape == "ellipse":
            cx, cy, rx, ry, theta = self.params
            u = (x - cx) * np.cos(theta) + (y - cy) * np.sin(theta)
            v = -(x - cx) * np.sin(theta) + (y - cy) * np.cos(theta)
            return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
        # convex polygon, vertices counter-clockwise in (x, y) with y down
        (vertices,) = self.params
        inside = np.ones(np.broadcast(x, y).shape, dtype=bool)
        for (x0, y0), (x1, y1) in zip(vertices, np.roll(vertices, -1, axis=0)):
            inside &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0
        return inside

    def colour(self, x, y):
        """Texture colour at left coordinates ``(x, y)`` (bilinear), float32 (..., 3)."""
        import cv2

        tex = _texture(self.texture)
        ca, sa = np.cos(self.angle), np.sin(self.angle)
        u = (self.offset[0] + self.scale * (ca * x - sa * y)).astype(np.float32)
        v = (self.offset[1] + self.scale * (sa * x + ca * y)).astype(np.float32)
        out = cv2.remap(tex, u, v, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        return out * self.tint


def _random_layer(rng, h, w, d_lo, d_hi, shape, textures):
    """A layer whose disparity stays within [d_lo, d_hi] over the whole frame."""
    texture = textures[rng.integers(len(textures))]
    tint = (0.75 + 0.25 * rng.random(3)).astype(np.float32)
    scale = float(rng.uniform(0.8, 1.6))
    angle = float(rng.uniform(-0.5, 0.5))
    th, tw = _texture(texture).shape[:2]
    offsets = np.stack([rng.uniform(0, tw, _CANDIDATE_CROPS), rng.uniform(0, th, _CANDIDATE_CROPS)], axis=1)
    slanted = shape == "plane" or rng.random() < 0.5
    # pick the disparities at three corners inside [d_lo, d_hi]; that fixes the plane
    if slanted:
        d00, d10, d01 = rng.uniform(d_lo, d_hi, size=3)
        b = (d10 - d00) / (w - 1)
        c = (d01 - d00) / (h - 1)
        a = d00
        # the fourth corner may leave the range: pull the gradient back until it fits
        while not (d_lo <= a + b * (w - 1) + c * (h - 1) <= d_hi):
            b *= 0.5
            c *= 0.5
    else:
        a, b, c = float(rng.uniform(d_lo, d_hi)), 0.0, 0.0
    size = min(h, w)
    cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
    if shape == "plane":
        params = ()
    elif shape == "ellipse":
        params = (cx, cy, rng.uniform(0.08, 0.22) * size * 1.3, rng.uniform(0.08, 0.22) * size,
                  rng.uniform(0, np.pi))
    else:
        n = 4 if shape == "rectangle" else int(rng.integers(5, 8))
        radius = rng.uniform(0.1, 0.25) * size
        if shape == "rectangle":
            base = rng.uniform(0, np.pi / 2)
            half = rng.uniform(0.25, 0.6) * np.pi / 2
            angles = np.array([base - half, base + half, base + np.pi - half, base + np.pi + half])
            radii = np.full(4, radius)
        else:
            angles = np.sort(rng.uniform(0, 2 * np.pi, size=n))
            radii = radius * rng.uniform(0.7, 1.0, size=n)
        # y grows downwards: counter-clockwise on screen is increasing angle with y flipped
        vertices = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
        params = (vertices,)
        shape = "polygon"
    layer = _Layer(a=float(a), b=float(b), c=float(c), shape=shape, params=params, texture=texture,
                   tint=tint, scale=scale, angle=angle, offset=(0.0, 0.0))
    # of several random crops of the photograph, keep the one with the most structure where the
    # layer is seen, so that surfaces are not large uniform areas (those are WEAK_TEXTURES' job)
    ys, xs = np.mgrid[0:h:max(1, h // 40), 0:w:max(1, w // 40)].astype(np.float64)
    inside = layer.covers(xs, ys)
    xs, ys = (xs[inside], ys[inside]) if inside.any() else (xs.ravel(), ys.ravel())
    ca, sa = np.cos(angle), np.sin(angle)
    rich = _textured(texture)
    best, best_score = offsets[0], -1.0
    for ox, oy in offsets:
        u = _reflect(np.round(ox + scale * (ca * xs - sa * ys)).astype(np.int64), tw)
        v = _reflect(np.round(oy + scale * (sa * xs + ca * ys)).astype(np.int64), th)
        score = float(rich[v, u].mean())
        if score > best_score:
            best, best_score = (float(ox), float(oy)), score
    layer.offset = best
    return layer


def _zbuffer(layers, xs_of, y):
    """For each pixel, the index of the nearest covering layer and its disparity.

    ``xs_of(layer)`` gives, per pixel, the left abscissa at which that layer
    is looked up.
    """
    best = np.full(y.shape, -np.inf)
    index = np.full(y.shape, -1, dtype=np.int64)
    where_x = np.zeros(y.shape)
    for k, layer in enumerate(layers):
        x = xs_of(layer)
        d = layer.disparity(x, y)
        hit = layer.covers(x, y) & (d > best)
        best = np.where(hit, d, best)
        index = np.where(hit, k, index)
        where_x = np.where(hit, x, where_x)
    return index, best, where_x


def _render(layers, index, x, y):
    img = np.zeros(y.shape + (3,), dtype=np.float32)
    for k, layer in enumerate(layers):
        sel = index == k
        if sel.any():
            img[sel] = layer.colour(x, y)[sel]
    return img


def _quantise(img, noise, rng, gain=1.0):
    """A rendered float image times ``gain``, plus Gaussian noise, as uint8 (what a camera saves)."""
    img = img * gain + noise * rng.standard_normal(img.shape).astype(np.float32)
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def _check_scene(seed, shape, n_objects, noise, textures):
    """The arguments every scene generator shares, checked: (seed, H, W, n_objects, noise, textures)."""
    seed = check_int(seed, "seed", low=0)
    if len(shape) != 2:
        raise ValueError(f"`shape` must be (H, W); got {shape!r}.")
    h = check_int(int(shape[0]), "shape[0]", low=32)
    w = check_int(int(shape[1]), "shape[1]", low=32)
    n_objects = check_int(n_objects, "n_objects", low=0, high=50)
    noise = check_number(noise, "noise", low=0.0, high=0.5)
    from skimage import data as _skdata

    textures = tuple(textures)
    unknown = [t for t in textures if not callable(getattr(_skdata, t, None))]
    if not textures or unknown:
        raise ValueError(f"`textures` must name scikit-image images such as {', '.join(TEXTURES[:3])}; "
                         f"got {list(textures) if not unknown else unknown}.")
    return seed, h, w, n_objects, noise, textures


def make_stereo_scene(seed: int = 0, *, shape=(300, 400), max_disp: int = 64, n_objects: int = 5,
                      noise: float = 0.01, textures=TEXTURES) -> StereoPair:
    """Generate a synthetic rectified stereo pair with exact ground truth.

    Parameters
    ----------
    seed : int
        Seeds everything; the same seed gives the same scene.
    shape : tuple of int
        ``(H, W)`` of the images, each at least 32.
    max_disp : int
        Search range of the pair; every disparity lies in ``[2, 0.92 * max_disp]``.
    n_objects : int
        Number of objects in front of the background plane.
    noise : float
        Standard deviation of the Gaussian noise added to each view, in units
        of the [0, 1] intensity range (before quantisation to uint8).
    textures : sequence of str
        Names of scikit-image images to texture the layers with: the richly
        textured :data:`TEXTURES` by default, :data:`WEAK_TEXTURES` for scenes
        with uniform areas where matching is ambiguous.

    Returns
    -------
    StereoPair
        With ``occlusion`` (left pixels hidden in the right view or outside
        it), and in ``extra``: ``disparity_right`` (H, W) and ``labels``
        (H, W), the index of the layer each left pixel sees (0 = background).
    """
    seed, h, w, n_objects, noise, textures = _check_scene(seed, shape, n_objects, noise, textures)
    max_disp = check_int(max_disp, "max_disp", low=8, high=w // 2)
    rng = np.random.default_rng(seed)

    d_max = 0.92 * max_disp
    layers = [_random_layer(rng, h, w, 2.0, 0.3 * d_max, "plane", textures)]
    kinds = ("ellipse", "rectangle", "polygon")
    for i in range(n_objects):
        lo = 0.35 * d_max + (0.6 * d_max) * i / max(n_objects, 1)
        hi = min(d_max, lo + 0.6 * d_max / max(n_objects, 1) + 0.1 * d_max)
        layers.append(_random_layer(rng, h, w, lo, hi, kinds[int(rng.integers(len(kinds)))], textures))

    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    # left view: each layer is looked up at the pixel itself
    index_l, disp_l, _ = _zbuffer(layers, lambda layer: x, y)
    # right view: each layer is looked up where it projects to the right pixel
    index_r, disp_r, x_r = _zbuffer(layers, lambda layer: layer.left_x(x, y), y)
    left = _render(layers, index_l, x, y)
    right = _render(layers, index_r, x_r, y)

    # occlusion: the left pixel's point lands outside the right frame, or a nearer
    # layer covers the place where it lands
    xr = x - disp_l
    occluded = xr < 0
    for layer in layers:
        xl = layer.left_x(xr, y)
        occluded |= layer.covers(xl, y) & (layer.disparity(xl, y) > disp_l + 1e-6)

    calib = StereoCalibration(focal=float(w), cx=(w - 1) / 2.0, cy=(h - 1) / 2.0, baseline=100.0,
                              doffs=0.0, units="mm")
    return StereoPair(left=_quantise(left, noise, rng), right=_quantise(right, noise, rng), disparity=disp_l.astype(np.float32),
                      calib=calib, max_disp=max_disp, occlusion=occluded,
                      name=f"generated scene {seed}",
                      extra={"disparity_right": disp_r.astype(np.float32), "labels": index_l})


@dataclass
class _CurvedLayer(_Layer):
    """A layer whose disparity is its plane plus smooth Gaussian bumps (domes, dents, a curved wall), seen with its
    texture's contrast scaled by ``contrast`` (below 1: weakly textured)."""

    bumps: tuple = ()          # (amplitude, cx, cy, sx, sy) per bump
    contrast: float = 1.0

    def disparity(self, x, y):
        d = self.a + self.b * x + self.c * y
        for amp, cx, cy, sx, sy in self.bumps:
            d = d + amp * np.exp(-((x - cx) / sx) ** 2 - ((y - cy) / sy) ** 2)
        return d

    def left_x(self, xr, y):
        """The left abscissa x with x - d(x, y) = xr: a fixed point of x = xr + d(x, y), unique and reached
        geometrically because |dd/dx| < 1/2 everywhere (the bumps are kept that gentle)."""
        x = (xr + self.a + self.c * y) / (1.0 - self.b)
        for _ in range(60):
            x_new = xr + self.disparity(x, y)
            if np.max(np.abs(x_new - x)) < 1e-9:
                return x_new
            x = x_new
        return x

    def colour(self, x, y):
        out = super().colour(x, y)
        if self.contrast != 1.0:
            mean = out.reshape(-1, 3).mean(axis=0) if out.size else 0.0
            out = mean + self.contrast * (out - mean)
        return out


def _curved(layer: _Layer, bumps, contrast: float = 1.0) -> _CurvedLayer:
    fields = {k: getattr(layer, k) for k in ("a", "b", "c", "shape", "params", "texture", "tint", "scale", "angle",
                                             "offset")}
    return _CurvedLayer(**fields, bumps=tuple(bumps), contrast=float(contrast))


def _bump(rng, amp_max, cx, cy, s_lo, s_hi):
    """A Gaussian bump of disparity whose steepest slope along x stays below 0.45 px per px."""
    sx, sy = rng.uniform(s_lo, s_hi), rng.uniform(s_lo, s_hi)
    amp = rng.uniform(0.4, 1.0) * min(amp_max, 0.45 * sx / 0.86)
    return (float(amp * rng.choice([-1.0, 1.0])), float(cx), float(cy), float(sx), float(sy))


def make_curved_stereo_scene(seed: int = 0, *, shape=(300, 400), max_disp: int = 64, n_objects: int = 5,
                             noise: float = 0.01, photometric: bool = True) -> StereoPair:
    """A rectified pair from a second family of scenes, unlike :func:`make_stereo_scene`'s planes: for evaluating
    a stereo method on scenes its parameters were never chosen on.

    The background is a curved wall (a slanted plane plus broad bumps of disparity); the objects are domes and
    dents (ellipses and polygons whose disparity bulges), **thin structures** (poles and wires 2-5 px wide) and
    **weakly textured** or **repetitive** surfaces (a texture at a quarter of its contrast; stripes, checks or a
    grid with a period of 9-16 px). With ``photometric`` the right camera differs from the left: a gain in
    [0.85, 1.15], an offset in [-0.05, 0.05] and a gamma in [0.9, 1.1]. Disparities are exact: every surface is
    ``d(x, y)`` in closed form and the right view is rendered by solving ``x - d(x, y) = x_r`` per layer.

    Parameters
    ----------
    seed : int
        Seeds everything; the same seed gives the same scene.
    shape : tuple of int
        ``(H, W)``, each at least 32.
    max_disp : int
        Search range; every disparity lies in ``[2, 0.92 * max_disp]``.
    n_objects : int
        Objects in front of the background (about a quarter of them thin, a quarter weak or repetitive).
    noise : float
        Gaussian noise of each view, in units of the [0, 1] range.
    photometric : bool
        Whether the two cameras differ in gain, offset and gamma.

    Returns
    -------
    StereoPair
        As :func:`make_stereo_scene` (``occlusion``, and ``disparity_right`` and ``labels`` in ``extra``), with
        ``extra["kinds"]``: each layer's kind ("wall", "dome", "thin", "weak", "repetitive").
    """
    seed, h, w, n_objects, noise, _ = _check_scene(seed, shape, n_objects, noise, TEXTURES)
    max_disp = check_int(max_disp, "max_disp", low=8, high=w // 2)
    rng = np.random.default_rng(seed + 7_000_003)       # never the planar family's stream
    d_max = 0.92 * max_disp

    wall = _random_layer(rng, h, w, 2.0 + 0.08 * d_max, 0.25 * d_max, "plane", TEXTURES)
    wall_bumps = [_bump(rng, 0.08 * d_max, rng.uniform(0, w), rng.uniform(0, h), 0.25 * w, 0.6 * w) for _ in range(2)]
    layers, kinds = [_curved(wall, wall_bumps)], ["wall"]
    for i in range(n_objects):
        lo = 0.35 * d_max + (0.45 * d_max) * i / max(n_objects, 1)      # planes within [0.35, 0.8] d_max;
        hi = min(0.8 * d_max, lo + 0.45 * d_max / max(n_objects, 1) + 0.08 * d_max)   # domes add at most 0.1
        kind = ("dome", "thin", "weak", "repetitive")[i % 4] if i < 4 else str(rng.choice(["dome", "thin", "weak",
                                                                                         "repetitive"]))
        if kind == "thin":
            layer = _random_layer(rng, h, w, lo, hi, "rectangle", TEXTURES)
            cx, cy = rng.uniform(0.15 * w, 0.85 * w), rng.uniform(0.2 * h, 0.8 * h)
            length, width = rng.uniform(0.35, 0.8) * min(h, w), rng.uniform(2.0, 5.0)
            angle = rng.uniform(0.15, np.pi - 0.15)              # never horizontal: a wire along a row is unmatchable
            u = np.array([np.cos(angle), np.sin(angle)])
            v = np.array([-u[1], u[0]])
            c = np.array([cx, cy])
            corners = [c - u * length / 2 - v * width / 2, c + u * length / 2 - v * width / 2,
                       c + u * length / 2 + v * width / 2, c - u * length / 2 + v * width / 2]
            # counter-clockwise on screen (y down) as _Layer.covers expects
            area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]))
            layer.params = (np.array(corners if area > 0 else corners[::-1]),)
            layer.shape = "polygon"
            layers.append(_curved(layer, ()))
        else:
            base = _random_layer(rng, h, w, lo, hi, str(rng.choice(["ellipse", "polygon"])),
                                 PATTERNS if kind == "repetitive" else TEXTURES)
            if base.shape == "ellipse":
                cx, cy, rx, ry, _ = base.params
            else:
                (vertices,) = base.params
                (cx, cy), rx = vertices.mean(axis=0), float(np.ptp(vertices[:, 0])) / 2
                ry = float(np.ptp(vertices[:, 1])) / 2
            bumps = [_bump(rng, 0.1 * d_max, cx, cy, 0.6 * min(rx, ry) + 4, 1.2 * max(rx, ry) + 6)] \
                if kind == "dome" else []
            layers.append(_curved(base, bumps, contrast=0.25 if kind == "weak" else 1.0))
        kinds.append(kind)

    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    index_l, disp_l, _ = _zbuffer(layers, lambda layer: x, y)
    index_r, disp_r, x_r = _zbuffer(layers, lambda layer: layer.left_x(x, y), y)
    left = _render(layers, index_l, x, y)
    right = _render(layers, index_r, x_r, y)
    xr = x - disp_l
    occluded = xr < 0
    for layer in layers:
        xl = layer.left_x(xr, y)
        occluded |= layer.covers(xl, y) & (layer.disparity(xl, y) > disp_l + 1e-6)
    if photometric:
        gain, offset, gamma = rng.uniform(0.85, 1.15), rng.uniform(-0.05, 0.05), rng.uniform(0.9, 1.1)
        right = np.clip(right, 0, 1) ** gamma + offset / max(gain, 1e-6)
    else:
        gain = 1.0
    calib = StereoCalibration(focal=float(w), cx=(w - 1) / 2.0, cy=(h - 1) / 2.0, baseline=100.0,
                              doffs=0.0, units="mm")
    return StereoPair(left=_quantise(left, noise, rng), right=_quantise(right, noise, rng, gain),
                      disparity=disp_l.astype(np.float32), calib=calib, max_disp=max_disp, occlusion=occluded,
                      name=f"curved scene {seed}",
                      extra={"disparity_right": disp_r.astype(np.float32), "labels": index_l, "kinds": tuple(kinds)})
