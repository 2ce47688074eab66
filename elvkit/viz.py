"""Pictures for the notebooks: disparity maps, error maps, masks, point clouds, cost curves,
the flow colour wheel, flow fields and their errors, training curves, a ViT's attention per head.

Every function draws with matplotlib and returns the ``Figure`` (or draws into
the ``ax`` it is given and returns it), so a notebook shows it and a script can
save it with ``fig.savefig(...)``. Unknown values (NaN) are drawn black.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_number, check_same_shape, describe
from .device import to_numpy
from .metrics import average_endpoint_error, bad_pixel_rate, endpoint_error, flow_outlier_rate

__all__ = ["disparity_to_rgb", "error_to_rgb", "show_images", "show_disparity", "show_stereo_pair",
           "show_mask", "compare_disparities", "plot_point_cloud", "plot_cost_curve", "ERROR_LEGEND",
           "flow_to_rgb", "color_wheel", "show_flow", "show_flow_arrows", "compare_flows", "plot_curves",
           "show_attention_heads"]

#: Colours of :func:`error_to_rgb`, for a legend.
ERROR_LEGEND = {
    "error <= 1 px": (0.55, 0.80, 0.45),
    "1 < error <= threshold": (0.98, 0.80, 0.25),
    "error > threshold": (0.85, 0.15, 0.15),
    "no estimate": (0.0, 0.0, 0.0),
    "no ground truth": (0.35, 0.35, 0.35),
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def disparity_to_rgb(disparity, vmin: float | None = None, vmax: float | None = None,
                     cmap: str = "turbo") -> np.ndarray:
    """Colour-code a disparity (or depth) map; NaN becomes black.

    Parameters
    ----------
    disparity : array, shape (H, W)
    vmin, vmax : float, optional
        Colour range; by default the 1st and 99th percentiles of finite values.

    Returns
    -------
    ndarray, shape (H, W, 3), float in [0, 1]
    """
    import matplotlib

    d = to_numpy(check_array(disparity, "disparity", ndim=2)).astype(np.float64)
    vmin = None if vmin is None else check_number(vmin, "vmin")
    vmax = None if vmax is None else check_number(vmax, "vmax")
    if vmin is not None and vmax is not None and vmin >= vmax:
        raise ValueError(f"`vmin` must be below `vmax`; got vmin={vmin}, vmax={vmax}.")
    finite = np.isfinite(d)
    if finite.any():
        lo = np.percentile(d[finite], 1) if vmin is None else vmin
        hi = np.percentile(d[finite], 99) if vmax is None else vmax
    else:
        lo, hi = 0.0, 1.0
    scaled = np.clip((d - lo) / max(hi - lo, 1e-9), 0, 1)
    rgb = matplotlib.colormaps[cmap](np.where(finite, scaled, 0))[..., :3]
    rgb[~finite] = 0
    return rgb


def error_to_rgb(disparity, ground_truth, threshold: float = 2.0) -> np.ndarray:
    """Colour each pixel by its disparity error; see :data:`ERROR_LEGEND`.

    Returns
    -------
    ndarray, shape (H, W, 3), float in [0, 1]
    """
    d = to_numpy(check_array(disparity, "disparity", ndim=2)).astype(np.float64)
    g = to_numpy(check_array(ground_truth, "ground_truth", ndim=2)).astype(np.float64)
    check_same_shape(d, g, "disparity", "ground_truth")
    err = np.abs(d - g)
    rgb = np.empty(d.shape + (3,))
    rgb[:] = ERROR_LEGEND["error > threshold"]
    rgb[err <= threshold] = ERROR_LEGEND["1 < error <= threshold"]
    rgb[err <= 1.0] = ERROR_LEGEND["error <= 1 px"]
    rgb[~np.isfinite(d)] = ERROR_LEGEND["no estimate"]
    rgb[~np.isfinite(g)] = ERROR_LEGEND["no ground truth"]
    return rgb


def show_images(images, titles=None, *, cols: int = 3, size: float = 3.2, suptitle: str | None = None,
                vmin: float | None = None, vmax: float | None = None, signed: bool = False,
                colorbar: str | None = None):
    """Show images in a grid and return the figure.

    ``images`` may mix RGB arrays (H, W, 3), gray images and disparity maps
    (H, W); 2-D float arrays are colour-coded with :func:`disparity_to_rgb`,
    boolean masks drawn black and white.

    Every 2-D float panel shares one colour scale: ``vmin``/``vmax`` when given, else the 1st and
    99th percentiles over all of them, so that a ground truth and a result can be compared by
    colour. ``signed=True`` draws them with a diverging map centred on 0 (white), symmetric limits
    (for derivatives and differences). ``colorbar``: a label, to draw one shared colour bar.
    """
    plt = _plt()
    import matplotlib

    images = list(images)
    if not images:
        raise ValueError("`images` must hold at least one image; got an empty sequence.")
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"`titles` must have one entry per image: {len(images)} images, {len(titles)} titles.")
    cols = max(1, min(cols, len(images)))
    rows = int(np.ceil(len(images) / cols))
    arrays = [to_numpy(img) for img in images]
    floats = [a for a in arrays if a.ndim == 2 and a.dtype.kind == "f"]
    values = np.concatenate([a[np.isfinite(a)].ravel() for a in floats]) if floats else np.zeros(0)
    cmap = "RdBu_r" if signed else "turbo"
    if signed:
        bound = max(abs(check_number(v, name)) for v, name in ((vmin, "vmin"), (vmax, "vmax")) if v is not None) \
            if vmin is not None or vmax is not None else (float(np.percentile(np.abs(values), 99)) if values.size else 1.0)
        lo, hi = -(bound or 1.0), bound or 1.0
    else:
        lo = vmin if vmin is not None else (float(np.percentile(values, 1)) if values.size else 0.0)
        hi = vmax if vmax is not None else (float(np.percentile(values, 99)) if values.size else 1.0)
        if hi <= lo:
            hi = lo + 1.0
    first = arrays[0]
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + (0.8 if colorbar else 0), size * aspect * rows + 0.4 * rows),
                             squeeze=False)
    for ax, img, title in zip(axes.flat, arrays, titles):
        if img.ndim == 2 and img.dtype == np.bool_:
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        elif img.ndim == 2 and img.dtype.kind == "f":
            ax.imshow(disparity_to_rgb(img, lo, hi, cmap=cmap), interpolation="nearest")
        elif img.ndim == 2:
            ax.imshow(img, cmap="gray", interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    for ax in list(axes.flat)[len(images):]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    if colorbar and floats:
        mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(lo, hi), cmap=cmap)
        fig.colorbar(mappable, ax=axes.ravel().tolist(), fraction=0.025, pad=0.01, label=colorbar)
    return fig


def show_disparity(disparity, *, ax=None, title: str = "", vmin=None, vmax=None, colorbar: bool = True,
                   label: str = "disparity [px]"):
    """Draw one disparity (or depth) map with a colour bar; returns the axes."""
    plt = _plt()
    import matplotlib

    d = to_numpy(check_array(disparity, "disparity", ndim=2)).astype(np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6 * d.shape[0] / d.shape[1]))
    finite = d[np.isfinite(d)]
    lo = vmin if vmin is not None else (np.percentile(finite, 1) if finite.size else 0)
    hi = vmax if vmax is not None else (np.percentile(finite, 99) if finite.size else 1)
    ax.imshow(disparity_to_rgb(d, lo, hi), interpolation="nearest")
    if colorbar:
        mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(lo, hi), cmap="turbo")
        ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02, label=label)
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_stereo_pair(pair, *, rows=(0.25, 0.5, 0.75)):
    """The left and right images side by side with a few epipolar lines (rows) drawn across."""
    plt = _plt()
    if not all(hasattr(pair, k) for k in ("left", "right", "shape")):
        raise TypeError(f"`pair` must be an elvkit.data.StereoPair; got {describe(pair)}.")
    h, w = pair.shape
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.5 * h / w + 0.5))
    for ax, img, title in zip(axes, (pair.left, pair.right), ("left", "right")):
        ax.imshow(img)
        for r in rows:
            ax.axhline(r * h, color="yellow", lw=0.8, alpha=0.8)
        ax.set_title(f"{title} — rectified: matches lie on the same row")
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_mask(image, mask, *, ax=None, title: str = "", color=(1.0, 0.1, 0.6), alpha: float = 0.55):
    """Overlay a boolean mask on an image; returns the axes."""
    plt = _plt()
    img = to_numpy(image).astype(np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    m = to_numpy(mask).astype(bool)
    check_same_shape(img, m, "image", "mask", axes=(0, 1))
    out = img.copy()
    out[m] = (1 - alpha) * out[m] + alpha * np.asarray(color)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6 * m.shape[0] / m.shape[1]))
    ax.imshow(out)
    ax.set_title(title or f"mask: {m.mean():.1%} of pixels")
    ax.axis("off")
    return ax


def compare_disparities(left, ground_truth, results: dict, *, threshold: float = 2.0, vmax=None):
    """One row per method: its disparity and its error map, under the left image and the truth.

    Parameters
    ----------
    left : ndarray, shape (H, W, 3)
    ground_truth : ndarray, shape (H, W)
    results : dict
        Method name -> disparity map (H, W) with NaN where it gives none.
    """
    plt = _plt()
    from matplotlib.patches import Patch

    g = to_numpy(check_array(ground_truth, "ground_truth", ndim=2))
    h, w = g.shape
    if not results:
        raise ValueError("`results` must map at least one method name to its disparity map.")
    for name, disp in results.items():
        check_same_shape(to_numpy(disp), g, f"results[{name!r}]", "ground_truth")
    vmax = vmax if vmax is not None else float(np.nanpercentile(g, 99.5))
    n = len(results) + 1
    fig, axes = plt.subplots(n, 2, figsize=(10, n * 5 * h / w + 0.6), squeeze=False)
    axes[0, 0].imshow(left)
    axes[0, 0].set_title("left image")
    axes[0, 1].imshow(disparity_to_rgb(g, 0, vmax), interpolation="nearest")
    axes[0, 1].set_title("ground truth (black: unknown)")
    for row, (name, disp) in enumerate(results.items(), start=1):
        d = to_numpy(disp)
        axes[row, 0].imshow(disparity_to_rgb(d, 0, vmax), interpolation="nearest")
        axes[row, 0].set_title(f"{name}")
        axes[row, 1].imshow(error_to_rgb(d, g, threshold), interpolation="nearest")
        bad = bad_pixel_rate(d, g, threshold)
        axes[row, 1].set_title(f"{name}: bad-{threshold:g} = {bad:.1%}")
    for ax in axes.flat:
        ax.axis("off")
    handles = [Patch(color=c, label=k.replace("threshold", f"{threshold:g} px")) for k, c in ERROR_LEGEND.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    import matplotlib

    mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, vmax), cmap="turbo")
    disparity_axes = [axes[0, 1]] + [axes[row, 0] for row in range(1, n)]
    fig.colorbar(mappable, ax=disparity_axes, fraction=0.03, pad=0.01,
                 label="disparity [px] (one scale for the truth and every method)")
    return fig


def plot_point_cloud(points, colors=None, *, max_points: int = 30000, ax=None, seed: int = 0,
                     elev: float = 15, azim: float = -75, title: str = "3-D points"):
    """Scatter a point cloud in 3-D.

    Parameters
    ----------
    points : array, shape (H, W, 3) or (N, 3)
        X, Y, Z coordinates; rows with a non-finite coordinate are skipped.
    colors : array, shape (H, W, 3) or (N, 3), optional
        RGB per point (uint8 or floats in [0, 1]).
    max_points : int
        Random subsample drawn (seeded) to keep the plot responsive.
    """
    plt = _plt()
    p = to_numpy(points).reshape(-1, 3).astype(np.float64)
    keep = np.isfinite(p).all(axis=1)
    c = None
    if colors is not None:
        c = to_numpy(colors).reshape(-1, 3).astype(np.float64)
        if c.shape[0] != p.shape[0]:
            raise ValueError(f"`colors` must have one colour per point: {p.shape[0]} points, {c.shape[0]} colours.")
        if c.max() > 1.0:
            c = c / 255.0
    idx = np.flatnonzero(keep)
    if idx.size > max_points:
        idx = np.random.default_rng(seed).choice(idx, max_points, replace=False)
    if ax is None:
        fig = plt.figure(figsize=(7, 6))
        ax = fig.add_subplot(projection="3d")
    ax.scatter(p[idx, 0], p[idx, 2], -p[idx, 1], c=None if c is None else c[idx], s=0.6, depthshade=False)
    ax.set_xlabel("X")
    ax.set_ylabel("Z (depth)")
    ax.set_zlabel("-Y (up)")
    ax.view_init(elev=elev, azim=azim)
    ax.set_title(title)
    return ax


def plot_cost_curve(costs: dict, *, ax=None, title: str = "matching cost at one pixel", true_disparity=None):
    """Plot cost against disparity for one pixel, one curve per cost volume.

    Parameters
    ----------
    costs : dict
        Name -> 1-D array of costs over disparities ``0 .. D-1``.
    true_disparity : float, optional
        Drawn as a vertical line.
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for name, c in costs.items():
        c = to_numpy(check_array(c, f"costs[{name!r}]", ndim=1)).astype(np.float64)
        span = np.ptp(c) or 1.0
        ax.plot((c - c.min()) / span, label=f"{name} (normalised)")
    if true_disparity is not None and np.isfinite(true_disparity):
        ax.axvline(true_disparity, color="k", ls="--", lw=1, label="ground truth")
    ax.set_xlabel("disparity d [px]")
    ax.set_ylabel("cost")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def _colorwheel() -> np.ndarray:
    """The Middlebury colour wheel (Baker et al., IJCV 2011): 55 hues, RGB in [0, 1].

    Six segments, each ramping one channel up or down: red -> yellow -> green
    -> cyan -> blue -> magenta -> red.
    """
    segments = ((15, 1, +1), (6, 0, -1), (4, 2, +1), (11, 1, -1), (13, 0, +1), (6, 2, -1))
    colour = np.array([1.0, 0.0, 0.0])
    rows = []
    for n, channel, direction in segments:
        t = np.arange(n) / n
        block = np.repeat(colour[None], n, axis=0)
        block[:, channel] = t if direction > 0 else 1 - t
        rows.append(block)
        colour[channel] = 1.0 if direction > 0 else 0.0
    return np.concatenate(rows)


def flow_to_rgb(flow, max_flow: float | None = None) -> np.ndarray:
    """Colour-code a flow field with the Middlebury colour wheel; unknown flow is black.

    The hue gives the direction of motion (right: red, down: yellow-green,
    left: cyan-blue, up: purple) and the saturation its length: white is no
    motion, full colour is ``max_flow`` or more. :func:`color_wheel` draws the key.

    Parameters
    ----------
    flow : array, shape (H, W, 2)
        ``(u, v)`` per pixel.
    max_flow : float, optional
        Length shown with full colour; by default the largest finite length.

    Returns
    -------
    ndarray, shape (H, W, 3), float in [0, 1]
    """
    f = to_numpy(check_array(flow, "flow", ndim=3)).astype(np.float64)
    if f.shape[2] != 2:
        raise ValueError(f"`flow` must have shape (H, W, 2); got {describe(f)}.")
    known = np.isfinite(f).all(axis=2)
    u, v = np.where(known, f[..., 0], 0), np.where(known, f[..., 1], 0)
    mag = np.hypot(u, v)
    if max_flow is None:
        max_flow = float(mag[known].max()) if known.any() else 0.0
        max_flow = max_flow if max_flow > 0 else 1.0      # no motion anywhere: all white
    else:
        max_flow = check_number(max_flow, "max_flow", low=0, low_open=True)
    wheel = _colorwheel()
    n = len(wheel)
    angle = np.arctan2(-v, -u) / np.pi                # in [-1, 1]
    k = (angle + 1) / 2 * (n - 1)
    k0 = np.floor(k).astype(int)
    k1 = (k0 + 1) % n
    frac = (k - k0)[..., None]
    colour = (1 - frac) * wheel[k0] + frac * wheel[k1]
    r = np.clip(mag / max_flow, 0, 1)[..., None]
    rgb = 1 - r * (1 - colour)                        # white at rest, full hue at max_flow
    rgb = np.where(mag[..., None] > max_flow, rgb * 0.75, rgb)   # beyond the scale: darker
    rgb[~known] = 0
    return rgb


def color_wheel(size: int = 151) -> np.ndarray:
    """The key of :func:`flow_to_rgb`: a disc whose colour at each point is the colour of that motion."""
    r = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - r
    rgb = flow_to_rgb(np.stack([x, y], axis=2), max_flow=r)
    rgb[np.hypot(x, y) > r] = 1.0
    return rgb


def show_flow(flow, *, ax=None, title: str = "", max_flow: float | None = None, key: bool = True):
    """Draw a flow field in Middlebury colours, with the colour wheel as its key; returns the axes."""
    plt = _plt()
    f = to_numpy(check_array(flow, "flow", ndim=3))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6 * f.shape[0] / f.shape[1]))
    ax.imshow(flow_to_rgb(f, max_flow), interpolation="nearest")
    if key:
        inset = ax.inset_axes([0.78, 0.02, 0.2, 0.2 * f.shape[1] / f.shape[0]])
        inset.imshow(color_wheel(101))
        inset.axis("off")
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_flow_arrows(image, flow, *, step: int = 16, ax=None, title: str = "", color: str = "yellow",
                     scale: float = 1.0):
    """Draw flow vectors every ``step`` pixels over an image (arrows in pixels, times ``scale``)."""
    plt = _plt()
    img = to_numpy(image)
    f = to_numpy(check_array(flow, "flow", ndim=3)).astype(np.float64)
    check_same_shape(img, f, "image", "flow", axes=(0, 1))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6 * f.shape[0] / f.shape[1]))
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    ys, xs = np.mgrid[step // 2: f.shape[0]: step, step // 2: f.shape[1]: step]
    u, v = f[ys, xs, 0], f[ys, xs, 1]
    ax.quiver(xs, ys, u * scale, v * scale, color=color, angles="xy", scale_units="xy", scale=1, width=0.003)
    ax.set_title(title)
    ax.axis("off")
    return ax


def compare_flows(image, ground_truth, results: dict, *, max_flow: float | None = None, max_error: float = 5.0):
    """One row per method: its flow and its endpoint-error map, under the image and the true flow.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3)
        The first frame.
    ground_truth : ndarray, shape (H, W, 2)
    results : dict
        Method name -> flow (H, W, 2).
    max_flow : float, optional
        Colour scale of the flows (default: the 99th percentile of the true motion).
    max_error : float
        Endpoint error drawn with the brightest colour.
    """
    plt = _plt()
    g = to_numpy(check_array(ground_truth, "ground_truth", ndim=3))
    h, w = g.shape[:2]
    if not results:
        raise ValueError("`results` must map at least one method name to its flow.")
    for name, f in results.items():
        check_same_shape(to_numpy(f), g, f"results[{name!r}]", "ground_truth")
    if max_flow is None:
        mag = np.hypot(g[..., 0], g[..., 1])
        max_flow = float(np.nanpercentile(mag, 99)) if np.isfinite(mag).any() else 1.0
    n = len(results) + 1
    fig, axes = plt.subplots(n, 2, figsize=(10, n * 5 * h / w + 0.6), squeeze=False, layout="constrained")
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("frame 1")
    show_flow(g, ax=axes[0, 1], title="ground truth (black: unknown)", max_flow=max_flow)
    for row, (name, f) in enumerate(results.items(), start=1):
        show_flow(to_numpy(f), ax=axes[row, 0], title=name, max_flow=max_flow, key=False)
        epe = endpoint_error(f, g)
        axes[row, 1].imshow(np.where(np.isfinite(epe), epe, max_error), cmap="magma", vmin=0, vmax=max_error,
                            interpolation="nearest")
        aee = average_endpoint_error(f, g)
        fl = flow_outlier_rate(f, g)
        axes[row, 1].set_title(f"{name}: AEE {aee:.2f} px, Fl {fl:.1%}")
    for ax in axes.flat:
        ax.axis("off")
    import matplotlib

    mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, max_error), cmap="magma")
    fig.colorbar(mappable, ax=axes[:, 1].tolist(), fraction=0.03, pad=0.02, label="endpoint error [px]")
    return fig


def plot_curves(curves: dict, *, ax=None, title: str = "", xlabel: str = "step", ylabel: str = "",
                logy: bool = False):
    """Plot named 1-D sequences against their index (losses, errors over optimisation steps)."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    if not curves:
        raise ValueError("`curves` must map at least one name to a sequence of values.")
    for name, values in curves.items():
        values = to_numpy(check_array(np.asarray(values, dtype=np.float64), f"curves[{name!r}]", ndim=1))
        ax.plot(values, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def show_attention_heads(images, maps, *, titles=None, suptitle: str = "", mass: float | None = 0.6):
    """Each image beside the attention of each head over its patches, one row per image, every attention panel on
    one colour scale (a colour bar), as the DINO paper draws [CLS] attention.

    Parameters
    ----------
    images : array_like, shape (N, 3, H, W)
        RGB images in [0, 1].
    maps : array_like, shape (N, heads, h, w)
        Attention over the h x w patch grid (each head's row of the attention, [CLS] left out).
    titles : sequence of str, optional
        What each image shows.
    mass : float or None
        Also outline, on the image, the patches holding this share of the heads' mean attention (DINO's figures
        keep 60 %); None for no outline.
    """
    plt = _plt()
    images = np.asarray(to_numpy(images), dtype=np.float32)
    maps = np.asarray(to_numpy(maps), dtype=np.float32)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"`images` must be (N, 3, H, W); got {describe(images)}")
    if maps.ndim != 4 or len(maps) != len(images):
        raise ValueError(f"`maps` must be (N, heads, h, w) with one row per image ({len(images)}); got "
                         f"{describe(maps)}")
    n, heads = maps.shape[:2]
    h, w = images.shape[2:]
    fig, axes = plt.subplots(n, heads + 1, figsize=(1.9 * (heads + 1), 1.9 * n + 0.6), squeeze=False)
    vmax = float(maps.max()) or 1.0
    for r in range(n):
        axes[r, 0].imshow(images[r].transpose(1, 2, 0))
        if mass is not None:
            mean = maps[r].mean(0)
            order = np.sort(mean.ravel())[::-1]
            cut = order[min(np.searchsorted(np.cumsum(order) / order.sum(), mass), len(order) - 1)]
            axes[r, 0].contour(np.kron(mean >= cut, np.ones((h // mean.shape[0], w // mean.shape[1]))),
                               levels=[0.5], colors="cyan", linewidths=1.2)
        axes[r, 0].set_ylabel(titles[r] if titles is not None else "", fontsize=8)
        for k in range(heads):
            shown = axes[r, k + 1].imshow(maps[r, k], cmap="inferno", vmin=0, vmax=vmax)
    for k in range(heads):
        axes[0, k + 1].set_title(f"head {k + 1}", fontsize=9)
    axes[0, 0].set_title("image" + (f" ({mass:.0%} of the attention)" if mass is not None else ""), fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(shown, ax=axes[:, 1:].ravel().tolist(), shrink=0.7,
                 label=f"attention weight (uniform: {1 / (maps.shape[2] * maps.shape[3]):.4f})")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
