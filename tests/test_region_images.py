"""Images for Normalized Cuts: the generated region images (exact labels, one cue at a time) and the BSDS500
loader, read from a tiny archive laid out like the real one (never downloaded)."""

import io
import tarfile

import numpy as np
import pytest
from scipy import ndimage

from elvkit.data import load_bsds500, make_region_image

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("cue", ["intensity", "colour", "texture"])
def test_regions_are_exact_convex_cells_and_reproducible(cue):
    a, b = make_region_image(3, (48, 64), 5, cue, 0.05), make_region_image(3, (48, 64), 5, cue, 0.05)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.labels.shape == (48, 64) and a.num_regions == 5 and a.labels.min() == 0
    for k in range(5):
        region = a.labels == k
        assert region.sum() >= 0.02 * region.size, f"region {k} is a sliver"
        assert ndimage.label(region)[1] == 1, f"region {k} is not one connected piece"
    assert not np.array_equal(make_region_image(4, (48, 64), 5, cue).labels, a.labels)
    # the noise has the asked strength (where clipping does not bite)
    inside = (a.clean > 0.2) & (a.clean < 0.8)
    assert np.std((a.image - a.clean)[inside]) == pytest.approx(0.05, rel=0.1)


def test_each_cue_alone_tells_the_regions_apart():
    """Intensity: distinct grey levels. Colour: one brightness, distinct hues. Texture: one mean, distinct
    stripe orientations (measured by the structure tensor)."""
    r = make_region_image(0, (64, 64), 4, "intensity", 0.0)
    levels = sorted(float(r.clean[r.labels == k].mean()) for k in range(4))
    assert np.diff(levels).min() >= 0.2 and all(np.ptp(r.clean[r.labels == k]) == 0 for k in range(4))

    c = make_region_image(1, (64, 64), 4, "colour", 0.0)
    colours = np.array([c.clean[c.labels == k].mean(axis=0) for k in range(4)])
    lumas = colours @ LUMA
    assert np.ptp(lumas) < 1e-3, "the regions' brightness should be equal"
    distances = np.linalg.norm(colours[:, None] - colours[None], axis=2)
    assert distances[~np.eye(4, dtype=bool)].min() > 0.15
    assert c.gray().shape == (64, 64) and np.ptp(c.gray()) < 1e-3

    t = make_region_image(2, (64, 64), 4, "texture", 0.0)
    means = [float(t.clean[t.labels == k].mean()) for k in range(4)]
    assert np.ptp(means) < 0.04
    gy, gx = np.gradient(t.clean.astype(np.float64))
    angles = []
    for k in range(4):
        m = ndimage.binary_erosion(t.labels == k, iterations=2)
        jxx, jyy, jxy = (gx * gx)[m].sum(), (gy * gy)[m].sum(), (gx * gy)[m].sum()
        angles.append(0.5 * np.arctan2(2 * jxy, jxx - jyy) % np.pi)     # the gradient's dominant direction
    gaps = np.abs(np.subtract.outer(angles, angles))
    gaps = np.minimum(gaps, np.pi - gaps)[~np.eye(4, dtype=bool)]
    assert gaps.min() > np.pi / 4 - 0.15, np.degrees(angles)


@pytest.mark.parametrize("kwargs, match", [
    ({"cue": "edges"}, "`cue` must be one of"),
    ({"regions": 1}, "`regions`"),
    ({"shape": (4, 64)}, "`shape`"),
    ({"shape": 64}, r"`shape` must be \(H, W\)"),
    ({"noise": -0.1}, "`noise`"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_region_image(0, **kwargs)


def _add(tar, name, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _mat(segmentations) -> bytes:
    """A groundTruth .mat as BSDS writes it: a 1 x K cell array of structs with Segmentation and Boundaries."""
    from scipy.io import savemat

    cell = np.empty((1, len(segmentations)), dtype=object)
    for k, seg in enumerate(segmentations):
        record = np.empty((1, 1), dtype=[("Segmentation", object), ("Boundaries", object)])
        record[0, 0]["Segmentation"] = seg.astype(np.uint16)
        record[0, 0]["Boundaries"] = (np.abs(np.diff(seg, axis=1, prepend=seg[:, :1])) > 0).astype(np.uint8)
        cell[0, k] = record
    buf = io.BytesIO()
    savemat(buf, {"groundTruth": cell})
    return buf.getvalue()


def test_bsds500_reads_a_photograph_and_its_human_segmentations(tmp_path, monkeypatch):
    import cv2

    monkeypatch.setenv("ELVKIT_DATA_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "bsds500").mkdir(parents=True)
    h, w = 21, 32
    ys, xs = np.mgrid[0:h, 0:w]
    rgb = np.stack([xs / w, ys / h, 0.5 + 0 * xs], axis=2)                 # smooth: JPEG keeps it within a few levels
    first = np.where(xs < 16, 1, 2)
    second = np.where(ys < 10, 1, np.where(xs < 20, 2, 3))
    root = "BSR/BSDS500/data"
    with tarfile.open(tmp_path / "cache" / "bsds500" / "BSR_bsds500.tgz", "w:gz") as tar:
        for split, name in (("test", "2018"), ("test", "100007"), ("train", "12003")):
            ok, jpg = cv2.imencode(".jpg", (rgb[..., ::-1] * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 98])
            _add(tar, f"{root}/images/{split}/{name}.jpg", jpg.tobytes())
            _add(tar, f"{root}/groundTruth/{split}/{name}.mat", _mat([first, second]))
        _add(tar, f"{root}/images/test/Thumbs.db", b"not an image")

    img = load_bsds500("test", 0)                  # sorted by name: 100007 before 2018
    assert (img.name, img.split) == ("100007", "test")
    assert img.image.shape == (h, w, 3) and img.image.dtype == np.float32
    np.testing.assert_allclose(img.image, rgb, atol=0.03)                  # RGB order, in [0, 1]
    assert len(img.segmentations) == 2 and len(img.boundaries) == 2
    np.testing.assert_array_equal(img.segmentations[0], first - 1)          # numbered from 0
    np.testing.assert_array_equal(img.segmentations[1], second - 1)
    assert img.boundaries[0].dtype == bool and img.boundaries[0][:, 16].all()
    assert "2 human segmentations of 2, 3 regions" in repr(img)
    assert load_bsds500("train", 0).name == "12003"
    with pytest.raises(ValueError, match=r"`index` must be below 2.*got 2"):
        load_bsds500("test", 2)
    with pytest.raises(ValueError, match="`split` must be one of"):
        load_bsds500("validation")
