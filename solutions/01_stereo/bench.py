"""`make bench`'s part for this assignment: the reference's semi-global matching against OpenCV's StereoSGBM,
side by side (accuracy and CPU time). `bench/run.py` finds this file and calls :func:`run`."""

import numpy as np

P1, P2 = 20, 70      # the notebook's penalties


def run(bench, a, args) -> None:
    """Census + SGM + WTA + sub-pixel of the reference against OpenCV's StereoSGBM: accuracy on Motorcycle and
    on ``args.scenes`` generated scenes, CPU time on one thread, and GPU wall time when there is one."""
    repeats, n_scenes = args.repeats, args.scenes
    import cv2
    import torch

    import elvkit
    from elvkit import metrics
    from elvkit.baselines import opencv_sgbm
    from elvkit.data import load_motorcycle, make_stereo_scene

    ref = bench.reference(a)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    def ours(pair, device="cpu"):
        def run():
            cost = ref.census_cost(pair.gray("left"), pair.gray("right"), pair.max_disp)
            S = ref.aggregate_sgm(torch.as_tensor(cost, device=device), P1, P2)
            if device != "cpu":
                torch.cuda.synchronize()
            S = elvkit.to_numpy(S)
            return ref.refine_subpixel(S, ref.winner_take_all(S))
        return run

    pairs = [load_motorcycle()] + [make_stereo_scene(s, shape=(300, 400), max_disp=64) for s in range(n_scenes)]
    for pair in pairs:
        part = pair.name
        d_ours, cpu_ours, wall_ours = bench.timed(ours(pair), repeats)
        d_cv, cpu_cv, wall_cv = bench.timed(lambda: opencv_sgbm(pair.left, pair.right, pair.max_disp), repeats)
        bad_o = metrics.bad_pixel_rate(d_ours, pair.disparity, 2.0)
        bad_c = metrics.bad_pixel_rate(d_cv, pair.disparity, 2.0)
        bench.row(part, "bad-2.0, all pixels with ground truth (missing = bad)", bad_o, bad_c,
            "below OpenCV", bad_o < bad_c, "%")
        interior = np.zeros(pair.shape, bool)
        interior[:, 64:] = True
        region = interior & pair.nonoccluded
        label = "x >= 64" if pair.occlusion is None else "non-occluded, x >= 64"
        bad_oi = metrics.bad_pixel_rate(d_ours, pair.disparity, 2.0, mask=region)
        bad_ci = metrics.bad_pixel_rate(d_cv, pair.disparity, 2.0, mask=region)
        if pair.occlusion is None:
            bench.row(part, f"bad-2.0, {label}", bad_oi, bad_ci, "below OpenCV", bad_oi < bad_ci, "%")
        else:
            bench.row(part, f"bad-2.0, {label}", bad_oi, bad_ci, "<= 5 %", bad_oi <= 0.05, "%")
        bench.row(part, "CPU time (1 thread), census + SGM 4 paths + WTA + sub-pixel", cpu_ours, cpu_cv,
            "", None, "s")
        bench.row(part, "CPU time ratio to OpenCV StereoSGBM", cpu_ours / cpu_cv, 1.0, "<= 10x",
            cpu_ours / cpu_cv <= 10, "x")
        bench.row(part, "wall time", wall_ours, wall_cv, "", None, "s")
        if torch.cuda.is_available():
            _, _, wall_gpu = bench.timed(ours(pair, "cuda"), repeats)
            bench.row(part, f"wall time on {torch.cuda.get_device_name()}", wall_gpu, wall_cv, "", None, "s")
