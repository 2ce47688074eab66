"""Readers and writers for the ground-truth formats of the stereo and flow benchmarks.

* PFM (Middlebury's ``disp0.pfm``): little- or big-endian float32, rows stored
  bottom to top, ``inf`` for unknown disparities.
* KITTI disparity PNG: uint16, disparity = value / 256, 0 for unknown.
* Middlebury ``.flo`` (also MPI Sintel's): the float32 tag 202021.25, int32
  width and height, then ``(u, v)`` float32 pairs row by row, little-endian;
  values above 1e9 mark unknown flow.
* KITTI flow PNG: uint16 with three channels (u, v, valid), flow = (value - 2**15) / 64.

Readers return NaN for unknown values, as everywhere in elvkit; flow comes as
``(H, W, 2)``.
"""

from __future__ import annotations

import io
import os
import re

import numpy as np

from .._checks import check_array, describe

__all__ = ["read_pfm", "write_pfm", "read_kitti_disparity", "write_kitti_disparity", "read_flo", "write_flo",
           "read_kitti_flow", "write_kitti_flow"]

FLO_TAG = 202021.25
_FLO_UNKNOWN = 1e9


def _read_all(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return f.read()
    if hasattr(source, "read"):
        return source.read()
    raise TypeError(f"`source` must be a path, bytes or a binary file; got {describe(source)}.")


def read_pfm(source) -> np.ndarray:
    """Read a PFM image.

    Parameters
    ----------
    source : path, bytes or binary file

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3), float32
        Top row first; non-finite values (Middlebury's unknown disparities) as NaN.
    """
    f = io.BytesIO(_read_all(source))
    header = f.readline().strip()
    if header not in (b"Pf", b"PF"):
        raise ValueError(f"not a PFM file: the header must be 'Pf' or 'PF'; got {header[:20]!r}.")
    channels = 1 if header == b"Pf" else 3
    dims = f.readline()
    while dims.startswith(b"#"):
        dims = f.readline()
    match = re.fullmatch(rb"\s*(\d+)\s+(\d+)\s*", dims)
    if not match:
        raise ValueError(f"PFM size line must be 'width height'; got {dims[:40]!r}.")
    width, height = int(match.group(1)), int(match.group(2))
    scale = float(f.readline().strip())
    endian = "<" if scale < 0 else ">"
    count = width * height * channels
    data = np.frombuffer(f.read(4 * count), dtype=endian + "f4")
    if data.size != count:
        raise ValueError(f"PFM data truncated: expected {count} floats for {width}x{height}x"
                         f"{channels}, found {data.size}.")
    shape = (height, width) if channels == 1 else (height, width, 3)
    img = np.flipud(data.reshape(shape)).astype(np.float32)
    return np.where(np.isfinite(img), img, np.nan).astype(np.float32)


def write_pfm(path, image) -> None:
    """Write a float image as little-endian PFM (NaN written as ``inf``, as Middlebury does).

    Parameters
    ----------
    path : path-like
    image : ndarray, shape (H, W) or (H, W, 3)
    """
    image = np.asarray(check_array(image, "image", ndim=(2, 3)), dtype=np.float32)
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"`image` must have shape (H, W) or (H, W, 3); got {describe(image)}.")
    header = b"Pf" if image.ndim == 2 else b"PF"
    h, w = image.shape[:2]
    out = np.where(np.isnan(image), np.inf, image)
    with open(path, "wb") as f:
        f.write(header + b"\n" + f"{w} {h}\n".encode() + b"-1.0\n")
        f.write(np.flipud(out).astype("<f4").tobytes())


def read_kitti_disparity(source) -> np.ndarray:
    """Read a KITTI disparity PNG (uint16, value / 256; 0 = unknown) as float32 with NaN."""
    import cv2

    buf = np.frombuffer(_read_all(source), dtype=np.uint8)
    raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        got = "undecodable bytes" if raw is None else describe(raw)
        raise ValueError(f"a KITTI disparity map must be a 16-bit single-channel PNG; got {got}.")
    disp = raw.astype(np.float32) / 256.0
    return np.where(raw > 0, disp, np.nan).astype(np.float32)


def write_kitti_disparity(path, disparity) -> None:
    """Write a disparity map in KITTI's PNG format (NaN or <= 0 written as 0 = unknown)."""
    import cv2

    disparity = np.asarray(check_array(disparity, "disparity", ndim=2), dtype=np.float64)
    if np.nanmax(np.where(np.isfinite(disparity), disparity, 0)) >= 256:
        raise ValueError("KITTI's format stores disparities below 256 px only.")
    raw = np.where(np.isfinite(disparity) & (disparity > 0), np.round(disparity * 256.0), 0)
    if not cv2.imwrite(os.fspath(path), raw.astype(np.uint16)):
        raise OSError(f"could not write {path!s}")


def read_flo(source) -> np.ndarray:
    """Read a Middlebury / Sintel ``.flo`` file.

    Parameters
    ----------
    source : path, bytes or binary file

    Returns
    -------
    ndarray, shape (H, W, 2), float32
        ``(u, v)`` per pixel; NaN where the file marks the flow unknown (> 1e9).
    """
    raw = _read_all(source)
    if len(raw) < 12:
        raise ValueError(f"not a .flo file: {len(raw)} bytes, fewer than its 12-byte header.")
    tag = np.frombuffer(raw[:4], "<f4")[0]
    if tag != FLO_TAG:
        raise ValueError(f"not a .flo file: the tag must be {FLO_TAG}; got {tag!r} (wrong byte order or format?).")
    width, height = (int(v) for v in np.frombuffer(raw[4:12], "<i4"))
    if width <= 0 or height <= 0 or width * height > 1 << 28:
        raise ValueError(f"implausible .flo size {width}x{height}.")
    count = width * height * 2
    data = np.frombuffer(raw[12:12 + 4 * count], "<f4")
    if data.size != count:
        raise ValueError(f".flo data truncated: expected {count} floats for {width}x{height}, found {data.size}.")
    flow = data.reshape(height, width, 2).astype(np.float32)
    unknown = ~np.isfinite(flow).all(axis=2) | (np.abs(flow) > _FLO_UNKNOWN).any(axis=2)
    flow[unknown] = np.nan
    return flow


def _check_flow(flow, name="flow") -> np.ndarray:
    flow = np.asarray(check_array(flow, name, ndim=3), dtype=np.float32)
    if flow.shape[2] != 2:
        raise ValueError(f"`{name}` must have shape (H, W, 2); got {describe(flow)}.")
    return flow


def write_flo(path, flow) -> None:
    """Write ``flow`` (H, W, 2) as a ``.flo`` file; NaN is written as 1e10 (unknown)."""
    flow = _check_flow(flow)
    h, w = flow.shape[:2]
    out = np.where(np.isfinite(flow).all(axis=2, keepdims=True), flow, np.float32(1e10))
    with open(path, "wb") as f:
        f.write(np.array([FLO_TAG], "<f4").tobytes() + np.array([w, h], "<i4").tobytes())
        f.write(out.astype("<f4").tobytes())


def read_kitti_flow(source) -> np.ndarray:
    """Read a KITTI flow PNG: ``(H, W, 2)`` float32, NaN where its valid channel is 0."""
    import cv2

    buf = np.frombuffer(_read_all(source), dtype=np.uint8)
    raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 3 or raw.shape[2] != 3:
        got = "undecodable bytes" if raw is None else describe(raw)
        raise ValueError(f"a KITTI flow map must be a 16-bit three-channel PNG; got {got}.")
    valid = raw[..., 0] > 0                 # OpenCV decodes as B, G, R = valid, v, u
    flow = (np.stack([raw[..., 2], raw[..., 1]], axis=2).astype(np.float32) - 2.0 ** 15) / 64.0
    flow[~valid] = np.nan
    return flow


def write_kitti_flow(path, flow) -> None:
    """Write ``flow`` (H, W, 2) in KITTI's PNG format (NaN written as invalid)."""
    import cv2

    flow = _check_flow(flow).astype(np.float64)
    valid = np.isfinite(flow).all(axis=2)
    if np.abs(np.where(valid[..., None], flow, 0)).max(initial=0) >= 2.0 ** 15 / 64.0:
        raise ValueError("KITTI's flow format stores motions below 512 px only.")
    enc = np.where(valid[..., None], np.round(flow * 64.0 + 2.0 ** 15), 0).astype(np.uint16)
    raw = np.stack([valid.astype(np.uint16), enc[..., 1], enc[..., 0]], axis=2)
    if not cv2.imwrite(os.fspath(path), raw):
        raise OSError(f"could not write {path!s}")
