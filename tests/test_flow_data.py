"""Flow pairs with exact ground truth, the flow file formats and the downloadable flow sets."""

import io
import zipfile

import numpy as np
import pytest

from elvkit.data import (FlowPair, load_motorcycle_flow, make_affine_flow, make_chairs_flow, read_flo,
                         read_kitti_flow, write_flo, write_kitti_flow)


def _warp(image, flow):
    import cv2

    h, w = flow.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    f = np.nan_to_num(flow)
    return cv2.remap(image, x + f[..., 0], y + f[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("make", [make_affine_flow, make_chairs_flow], ids=["affine", "chairs"])
@pytest.mark.parametrize("seed", [0, 3])
def test_generated_flow_is_exact(make, seed):
    """Without noise, frame 2 read at x + flow(x) is frame 1 wherever the pixel stays visible."""
    pair = make(seed, shape=(96, 128), noise=0.0)
    assert isinstance(pair, FlowPair) and pair.flow.shape == (96, 128, 2) and pair.flow.dtype == np.float32
    assert np.isfinite(pair.flow).all()
    err = np.abs(_warp(pair.gray(2), pair.flow) - pair.gray(1))
    visible = ~pair.occlusion
    assert np.median(err[visible]) < 0.02 and err[visible].mean() < 0.03      # bilinear texture lookups
    zero = np.abs(pair.gray(2) - pair.gray(1))[visible].mean()
    assert zero > 3 * err[visible].mean(), "the frames must differ: the motion is not trivial"


def test_chairs_occlusion_and_backward_flow_are_consistent():
    pair = make_chairs_flow(1, shape=(120, 160))
    assert 0.005 < pair.occlusion.mean() < 0.4
    # forward then backward returns home where visible; it does not where occluded
    back = np.stack([_warp(pair.flow_backward[..., i], pair.flow) for i in range(2)], axis=-1)
    loop = np.linalg.norm(pair.flow + back, axis=-1)
    assert np.median(loop[~pair.occlusion]) < 1e-3 and (loop[~pair.occlusion] < 0.5).mean() > 0.95
    assert np.median(loop[pair.occlusion]) > 1.0
    labels = pair.extra["labels"]
    assert labels.shape == pair.shape and labels.max() >= 1, "objects are drawn in front of the background"


def test_affine_flow_is_one_affine_map():
    pair = make_affine_flow(2, shape=(64, 80), max_motion=5.0)
    M = pair.extra["motions"][0]
    y, x = np.mgrid[0:64, 0:80].astype(np.float64)
    np.testing.assert_allclose(pair.flow[..., 0], M[0, 0] * x + M[0, 1] * y + M[0, 2] - x, atol=1e-4)
    np.testing.assert_allclose(pair.flow[..., 1], M[1, 0] * x + M[1, 1] * y + M[1, 2] - y, atol=1e-4)
    assert np.abs(pair.flow).max() > 1.0


def test_generators_are_seeded_and_accept_brightness():
    a, b, c = (make_chairs_flow(s, shape=(48, 64)) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.image1, b.image1)
    np.testing.assert_array_equal(a.flow, b.flow)
    assert not np.array_equal(a.flow, c.flow)
    dark = make_affine_flow(0, shape=(48, 64), noise=0.0)
    bright = make_affine_flow(0, shape=(48, 64), noise=0.0, brightness=0.3)
    np.testing.assert_array_equal(dark.image1, bright.image1)
    assert bright.image2.mean() > 1.2 * dark.image2.mean()


def test_motorcycle_as_flow_is_horizontal_minus_disparity():
    from elvkit.data import load_motorcycle

    stereo = load_motorcycle()
    pair = load_motorcycle_flow()
    np.testing.assert_array_equal(pair.image1, stereo.left)
    np.testing.assert_array_equal(pair.flow[..., 0], -stereo.disparity)
    known = np.isfinite(stereo.disparity)
    assert (pair.flow[..., 1][known] == 0).all() and np.isnan(pair.flow[..., 1][~known]).all()
    assert 50 < pair.max_motion < 70
    assert "Motorcycle" in repr(pair) and "500x741" in repr(pair)


def test_flow_pair_validates_its_fields():
    img = np.zeros((8, 10, 3), np.uint8)
    with pytest.raises(ValueError, match=r"`flow` must have shape \(8, 10, 2\)"):
        FlowPair(image1=img, image2=img, flow=np.zeros((8, 9, 2)))
    with pytest.raises(ValueError, match="`image1` and `image2`"):
        FlowPair(image1=img, image2=np.zeros((8, 11, 3), np.uint8), flow=np.zeros((8, 10, 2)))
    with pytest.raises(ValueError, match="`occlusion` must be a boolean array"):
        FlowPair(image1=img, image2=img, flow=np.zeros((8, 10, 2)), occlusion=np.zeros((8, 10)))
    with pytest.raises(ValueError, match="`which` must be 1 or 2"):
        FlowPair(image1=img, image2=img, flow=np.zeros((8, 10, 2))).gray(3)


def test_flo_round_trip_keeps_unknown_as_nan(tmp_path, rng):
    flow = rng.normal(0, 5, size=(7, 9, 2)).astype(np.float32)
    flow[2, 3] = np.nan
    write_flo(tmp_path / "a.flo", flow)
    raw = (tmp_path / "a.flo").read_bytes()
    assert raw[:4] == b"PIEH" and len(raw) == 12 + 7 * 9 * 2 * 4      # 202021.25 as little-endian float32
    back = read_flo(tmp_path / "a.flo")
    np.testing.assert_array_equal(back, flow)
    assert np.isnan(back[2, 3]).all()
    with pytest.raises(ValueError, match="not a .flo file"):
        read_flo(b"PIEZ" + raw[4:])
    with pytest.raises(ValueError, match="truncated"):
        read_flo(raw[:-8])


def test_kitti_flow_round_trip(tmp_path, rng):
    flow = np.round(rng.normal(0, 20, size=(6, 8, 2)) * 64) / 64
    flow[0, 0] = np.nan
    write_kitti_flow(tmp_path / "f.png", flow)
    back = read_kitti_flow((tmp_path / "f.png").read_bytes())
    np.testing.assert_allclose(back, flow, atol=1e-6)
    with pytest.raises(ValueError, match="below 512"):
        write_kitti_flow(tmp_path / "g.png", np.full((2, 2, 2), 600.0))


def _png(image) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def _flo(flow) -> bytes:
    out = io.BytesIO()
    out.write(np.array([202021.25], "<f4").tobytes() + np.array([flow.shape[1], flow.shape[0]], "<i4").tobytes())
    out.write(flow.astype("<f4").tobytes())
    return out.getvalue()


@pytest.fixture
def fake_flow_sets(tmp_path, monkeypatch, rng):
    """The three flow archives, tiny, laid out as the real ones, in the cache (never downloaded)."""
    cache = tmp_path / "cache"
    img = lambda: rng.integers(0, 255, size=(6, 8, 3), dtype=np.uint8)      # noqa: E731
    flow = rng.normal(0, 3, size=(6, 8, 2)).astype(np.float32)
    (cache / "sintel").mkdir(parents=True)
    with zipfile.ZipFile(cache / "sintel" / "MPI-Sintel-complete.zip", "w") as zf:
        zf.writestr("training/clean/alley_1/frame_0001.png", _png(img()))
        zf.writestr("training/clean/alley_1/frame_0002.png", _png(img()))
        zf.writestr("training/flow/alley_1/frame_0001.flo", _flo(flow))
        zf.writestr("training/occlusions/alley_1/frame_0001.png", _png(np.where(flow[..., 0] > 0, 255, 0).astype(np.uint8)))
    (cache / "kitti2015").mkdir()
    kitti = tmp_path / "k.png"
    write_kitti_flow(kitti, np.where(np.arange(8)[None, :, None] < 2, np.nan, np.round(flow * 64) / 64))
    noc = tmp_path / "n.png"
    write_kitti_flow(noc, np.where(np.arange(8)[None, :, None] < 4, np.nan, np.round(flow * 64) / 64))
    with zipfile.ZipFile(cache / "kitti2015" / "data_scene_flow.zip", "w") as zf:
        zf.writestr("training/image_2/000007_10.png", _png(img()))
        zf.writestr("training/image_2/000007_11.png", _png(img()))
        zf.writestr("training/flow_occ/000007_10.png", kitti.read_bytes())
        zf.writestr("training/flow_noc/000007_10.png", noc.read_bytes())
    (cache / "middlebury-flow").mkdir()
    with zipfile.ZipFile(cache / "middlebury-flow" / "other-color-twoframes.zip", "w") as zf:
        zf.writestr("other-data/RubberWhale/frame10.png", _png(img()))
        zf.writestr("other-data/RubberWhale/frame11.png", _png(img()))
    with zipfile.ZipFile(cache / "middlebury-flow" / "other-gt-flow.zip", "w") as zf:
        zf.writestr("other-gt-flow/RubberWhale/flow10.flo", _flo(flow))
    monkeypatch.setenv("ELVKIT_DATA_DIR", str(cache))
    return flow


def test_flow_set_loaders_read_the_archives(fake_flow_sets, capsys):
    from elvkit.data import load_kitti2015_flow, load_middlebury_flow, load_sintel

    flow = fake_flow_sets
    s = load_sintel("alley_1", 1)
    np.testing.assert_array_equal(s.flow, flow)
    np.testing.assert_array_equal(s.occlusion, flow[..., 0] > 0)
    assert s.image1.shape == (6, 8, 3) and "alley_1" in s.name
    k = load_kitti2015_flow(7)
    assert np.isnan(k.flow[:, :2]).all() and np.isfinite(k.flow[:, 2:]).all()
    assert k.occlusion[:, 2:4].all() and not k.occlusion[:, 4:].any()
    m = load_middlebury_flow("RubberWhale")
    np.testing.assert_array_equal(m.flow, flow)
    with pytest.raises(ValueError, match="has no frames 5 and 6"):
        load_sintel("alley_1", 5)
    # data archives the registry holds no hash for are read (parsed, never unpickled), and nothing is recorded in
    # the cache: hashes live in the registry only
    import os
    from pathlib import Path

    assert sorted(p.name for p in Path(os.environ["ELVKIT_DATA_DIR"]).rglob("*.toml")) == []


def test_shipped_registry_lists_the_flow_sets():
    from elvkit.data.registry import registry

    table = registry()
    for name in ("sintel/MPI-Sintel-complete.zip", "middlebury-flow/other-color-twoframes.zip",
                 "middlebury-flow/other-gt-flow.zip", "kitti2015/data_scene_flow.zip"):
        assert name in table and table[name]["url"].startswith("https://")
