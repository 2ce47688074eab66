"""The reference solution of assignment 01 against literal, loop-by-loop implementations of the
definitions, on small seeded inputs; and on the devices present."""

import numpy as np
import pytest
import torch

from conftest import DEVICES


def naive_sgm(cost, P1, P2, directions=4):
    """SGM straight from the recursion, one pixel at a time."""
    D, H, W = cost.shape
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    if directions == 8:
        dirs += [(1, 1), (-1, -1), (1, -1), (-1, 1)]
    S = np.zeros((D, H, W))
    for dx, dy in dirs:
        L = np.zeros((D, H, W))
        xs = range(W) if dx >= 0 else range(W - 1, -1, -1)
        ys = range(H) if dy >= 0 else range(H - 1, -1, -1)
        order = [(x, y) for x in xs for y in ys] if dx != 0 else [(x, y) for y in ys for x in xs]
        for x, y in order:
            px, py = x - dx, y - dy
            if not (0 <= px < W and 0 <= py < H):
                L[:, y, x] = cost[:, y, x]
                continue
            prev = L[:, py, px]
            m = prev.min()
            for d in range(D):
                options = [prev[d], m + P2]
                if d > 0:
                    options.append(prev[d - 1] + P1)
                if d < D - 1:
                    options.append(prev[d + 1] + P1)
                L[d, y, x] = cost[d, y, x] + min(options) - m
        S += L
    return S


@pytest.mark.parametrize("directions", [4, 8])
@pytest.mark.parametrize("integer", [False, True])
def test_aggregate_matches_the_definition(ref, rng, directions, integer):
    shape = (5, 7, 9)
    if integer:
        cost = rng.integers(0, 25, size=shape).astype(np.uint8)
        P1, P2 = 3, 11
    else:
        cost = rng.random(shape).astype(np.float32) * 4
        P1, P2 = 0.7, 2.3
    S = ref.aggregate_sgm(cost, P1, P2, directions)
    assert isinstance(S, np.ndarray) and S.dtype == np.float32 and S.shape == shape
    np.testing.assert_allclose(S, naive_sgm(cost.astype(np.float64), P1, P2, directions), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_aggregate_runs_on_each_device_and_agrees_with_the_cpu(ref, rng, device):
    cost = rng.random((16, 24, 32)).astype(np.float32) * 10
    expected = ref.aggregate_sgm(cost, 0.8, 4.0, 8)
    out = ref.aggregate_sgm(torch.as_tensor(cost, device=device), 0.8, 4.0, 8)
    assert torch.is_tensor(out) and out.device.type == device
    # elementwise adds and minima only: TF32 and reduction order do not enter, but allow float32 rounding
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.gpu
def test_full_size_sgm_on_the_gpu_matches_the_cpu(ref):
    from elvkit.data import load_motorcycle

    pair = load_motorcycle()
    cost = ref.census_cost(pair.gray("left"), pair.gray("right"), 64)
    device = next(d for d in DEVICES if d != "cpu")
    cpu = ref.aggregate_sgm(cost, 20, 70)
    gpu = ref.aggregate_sgm(torch.as_tensor(cost, device=device), 20, 70).cpu().numpy()
    np.testing.assert_allclose(gpu, cpu, rtol=0, atol=0)   # integer arithmetic: exact on any device
    fcost = cost.astype(np.float32) + 0.25
    np.testing.assert_allclose(ref.aggregate_sgm(torch.as_tensor(fcost, device=device), 20.5, 70.0).cpu().numpy(),
                               ref.aggregate_sgm(fcost, 20.5, 70.0), rtol=1e-5, atol=1e-3)


def naive_census(img, window):
    r = window // 2
    H, W = img.shape
    p = np.pad(img, r, mode="edge")
    out = np.zeros((H, W), np.uint64)
    for y in range(H):
        for x in range(W):
            bits = [p[y + r + v, x + r + u] < img[y, x] for v in range(-r, r + 1) for u in range(-r, r + 1)
                    if (u, v) != (0, 0)]
            out[y, x] = int("".join("1" if b else "0" for b in bits), 2)
    return out


@pytest.mark.parametrize("window", [3, 5, 7])
def test_census_transform_and_cost(ref, rng, window):
    left = np.floor(rng.random((9, 14)) * 4) / 3.0
    right = np.floor(rng.random((9, 14)) * 4) / 3.0
    codes = ref.census_transform(left, window)
    np.testing.assert_array_equal(codes, naive_census(left, window))
    cost = ref.census_cost(left, right, 5, window)
    cr = naive_census(right, window)
    n_bits = window * window - 1
    for d in range(5):
        for x in range(14):
            want = (np.array([bin(int(a) ^ int(b)).count("1") for a, b in zip(codes[:, x], cr[:, x - d])])
                    if x >= d else np.full(9, n_bits))
            np.testing.assert_array_equal(cost[d, :, x], want)


def test_sad_cost_interior_matches_the_definition(ref, rng):
    left, right = rng.random((10, 16)), rng.random((10, 16))
    cost = ref.sad_cost(left, right, 4, window=3)
    for d in range(4):
        for y in range(1, 9):
            for x in range(d + 1, 15):
                want = sum(abs(left[y + v, x + u] - right[y + v, x + u - d]) for v in (-1, 0, 1) for u in (-1, 0, 1))
                assert cost[d, y, x] == pytest.approx(want, rel=1e-5)
        assert (cost[d, :, :d] == 9).all()


def test_subpixel_is_exact_on_parabolas_and_wta_breaks_ties_low(ref):
    d = np.arange(8.0)
    true = np.array([2.25, 5.6, 0.0, 7.0])
    cost = np.stack([(d - t) ** 2 for t in true], axis=1)[:, None, :]
    np.testing.assert_allclose(ref.refine_subpixel(cost, ref.winner_take_all(cost))[0], true, rtol=0, atol=1e-5)
    tie = np.array([[[1.0]], [[0.0]], [[0.0]]])
    assert ref.winner_take_all(tie)[0, 0] == 1


def test_right_cost_and_lr_check(ref, rng):
    cost = rng.random((4, 3, 10)).astype(np.float32)
    right = ref.right_cost_volume(cost)
    for d in range(4):
        np.testing.assert_array_equal(right[d, :, : 10 - d], cost[d, :, d:])
        assert (right[d, :, 10 - d:] == cost.max()).all()
    dl = rng.integers(0, 4, size=(3, 10)).astype(float)
    dr = rng.integers(0, 4, size=(3, 10)).astype(float)
    mask = ref.left_right_check(dl, dr)
    for y in range(3):
        for x in range(10):
            xr = int(round(x - dl[y, x]))
            assert mask[y, x] == (0 <= xr < 10 and abs(dl[y, x] - dr[y, xr]) <= 1)


def test_triangulation_round_trip_and_reprojection(ref, rng):
    from elvkit.geometry import StereoCalibration

    d = rng.uniform(1, 60, size=(5, 6))
    z = ref.disparity_to_depth(d, 193.0, 995.0, 31.0)
    np.testing.assert_allclose(z, 193.0 * 995.0 / (d + 31.0), rtol=1e-12)
    np.testing.assert_allclose(ref.depth_to_disparity(z, 193.0, 995.0, 31.0), d, rtol=1e-10)
    calib = StereoCalibration(focal=995.0, cx=2.0, cy=3.0, baseline=193.0, doffs=31.0)
    p = ref.reproject_to_3d(d, calib)
    np.testing.assert_allclose(p[4, 5], [(5 - 2) * z[4, 5] / 995.0, (4 - 3) * z[4, 5] / 995.0, z[4, 5]], rtol=1e-10)


def test_depth_is_infinite_only_at_zero_and_unknown_behind_the_cameras(ref):
    """d + doffs = 0: parallel rays, a point at infinity; d + doffs < 0 would be behind the cameras, an invalid
    match whose depth is unknown; a missing disparity stays missing."""
    z = ref.disparity_to_depth(np.array([[-31.0, -40.0, np.nan, 9.0]]), 193.0, 995.0, 31.0)
    assert np.isposinf(z[0, 0])
    assert np.isnan(z[0, 1]) and np.isnan(z[0, 2])
    assert z[0, 3] == pytest.approx(193.0 * 995.0 / 40.0)
    back = ref.depth_to_disparity(z, 193.0, 995.0, 31.0)
    assert back[0, 0] == pytest.approx(-31.0) and np.isnan(back[0, 1]) and back[0, 3] == pytest.approx(9.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_sgm_is_accurate_on_generated_scenes(ref, seed):
    """The reference pipeline on scenes with exact ground truth: bad-2.0 on the non-occluded
    interior below 6 % (the bench reports the full-size figures)."""
    from elvkit import metrics
    from elvkit.data import make_stereo_scene

    scene = make_stereo_scene(seed, shape=(150, 200), max_disp=32)
    cost = ref.census_cost(scene.gray("left"), scene.gray("right"), scene.max_disp)
    S = ref.aggregate_sgm(cost, 20, 70)
    disp = ref.refine_subpixel(S, ref.winner_take_all(S))
    region = scene.nonoccluded.copy()
    region[:, : scene.max_disp] = False
    assert metrics.bad_pixel_rate(disp, scene.disparity, 2.0, mask=region) < 0.06


def test_self_supervised_losses_match_their_definitions(ref, rng):
    """Part 7's reference against the lecture's formulas written out: the warp reads right(x - d) bilinearly
    with the border repeated, C_lr reads d_right where the left pixel lands, C_ds weighs each difference."""
    import torch
    from scipy.ndimage import map_coordinates

    right = rng.random((7, 9)).astype(np.float32)
    d = rng.uniform(0, 4, size=(7, 9)).astype(np.float32)
    y, x = np.mgrid[0:7, 0:9]
    expected = map_coordinates(right, [y, np.clip(x - d, 0, 8)], order=1)
    out = ref.warp_right_to_left(torch.as_tensor(right), torch.as_tensor(d)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    d_right = rng.uniform(0, 4, size=(7, 9)).astype(np.float32)
    read = map_coordinates(d_right, [y, np.clip(x - d, 0, 8)], order=1)
    lr = float(ref.lr_consistency_loss(torch.as_tensor(d), torch.as_tensor(d_right)))
    assert lr == pytest.approx(float(np.abs(d - read).mean()), abs=1e-5)
    img = rng.random((7, 9)).astype(np.float32)
    total = sum(abs(d[i, j + 1] - d[i, j]) * np.exp(-10 * abs(img[i, j + 1] - img[i, j]))
                for i in range(7) for j in range(8)) / 56 + \
        sum(abs(d[i + 1, j] - d[i, j]) * np.exp(-10 * abs(img[i + 1, j] - img[i, j])) for i in range(6) for j in range(9)) / 54
    assert float(ref.disparity_smoothness(torch.as_tensor(d), torch.as_tensor(img))) == pytest.approx(total, rel=1e-4)


def test_optimise_disparity_refuses_what_it_cannot_use(ref):
    import torch

    from elvkit.selfsup import optimise_disparity

    losses = dict(warp=ref.warp_right_to_left, appearance=ref.appearance_loss, smoothness=ref.disparity_smoothness,
                  lr_consistency=ref.lr_consistency_loss)
    with pytest.raises(TypeError, match="`left` must be a 2-D torch tensor"):
        optimise_disparity(np.zeros((8, 8)), torch.zeros(8, 8), 4, **losses)
    with pytest.raises(ValueError, match=r"same shape; got \(8, 8\) and \(8, 9\)"):
        optimise_disparity(torch.zeros(8, 8), torch.zeros(8, 9), 4, **losses)
    with pytest.raises(ValueError, match="levels"):
        optimise_disparity(torch.zeros(8, 8), torch.zeros(8, 8), 4, levels=9, **losses)
