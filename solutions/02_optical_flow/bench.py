"""`make bench`'s part for this assignment: the reference's pyramidal Lucas-Kanade against OpenCV's flow
methods, side by side (endpoint error and time), and the unsupervised optimisation. `bench/run.py` finds this
file and calls :func:`run`."""

import os
import statistics
import time

import numpy as np


def run(bench, a, args) -> None:
    """The reference's pyramidal LK against OpenCV's Farneback, pyramidal LK and DIS on generated pairs (with
    exact flow) and on Motorcycle, its speed, and the unsupervised optimisation against its zero start."""
    repeats, n_pairs, steps = args.repeats, args.flow_pairs, args.flow_steps
    import cv2
    import torch

    from elvkit import metrics
    from elvkit.baselines import opencv_dis, opencv_farneback, opencv_pyramidal_lk
    from elvkit.data import load_motorcycle_flow, make_affine_flow, make_chairs_flow

    ref = bench.reference(a)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    methods = {
        "reference pyramidal LK": lambda p: ref.pyramidal_lk(p.gray(1), p.gray(2)),
        "OpenCV Farneback": lambda p: opencv_farneback(p.image1, p.image2),
        "OpenCV pyramidal LK (every pixel)": lambda p: opencv_pyramidal_lk(p.image1, p.image2),
        "OpenCV DIS medium": lambda p: opencv_dis(p.image1, p.image2),
    }
    sets = {
        f"affine motion, {n_pairs} pairs 384x512": [make_affine_flow(s) for s in range(n_pairs)],
        f"chairs-style, {n_pairs} pairs 384x512": [make_chairs_flow(s) for s in range(n_pairs)],
        "Motorcycle as flow, 500x741": [load_motorcycle_flow()],
    }
    for name, pairs in sets.items():
        part = f"flow: {name}"
        aee = {m: statistics.fmean(metrics.average_endpoint_error(fn(p), p.flow) for p in pairs)
               for m, fn in methods.items()}
        ours = aee["reference pyramidal LK"]
        for anchor in ("OpenCV Farneback", "OpenCV pyramidal LK (every pixel)"):
            bench.row(part, f"AEE [px] vs {anchor}", ours, aee[anchor], "below the anchor", ours < aee[anchor])
        dis = aee["OpenCV DIS medium"]
        stretch = "chairs" in name
        bench.row(part, "AEE [px] vs OpenCV DIS medium" + (" (stretch: within 2x)" if stretch else ""), ours, dis,
            "<= 2x DIS" if stretch else "", (ours <= 2 * dis) if stretch else None)
    moto = sets["Motorcycle as flow, 500x741"][0]
    _, cpu, wall = bench.timed(lambda: methods["reference pyramidal LK"](moto), repeats)
    _, cpu_dis, wall_dis = bench.timed(lambda: methods["OpenCV DIS medium"](moto), repeats)
    bench.row("flow: speed", "reference pyramidal LK on one 500x741 pair, wall, 1 thread (anchor: DIS medium)", wall,
        wall_dis, "<= 0.6 s", wall <= 0.6, "s")
    bench.row("flow: speed", "CPU time", cpu, cpu_dis, "", None, "s")

    # the unsupervised losses: the optimised flow ends closer to the truth than it starts
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for name, pairs in list(sets.items())[:2]:
        for p in pairs:
            I1 = torch.as_tensor(p.gray(1), device=device)
            I2 = torch.as_tensor(p.gray(2), device=device)
            torch.manual_seed(0)
            start = time.perf_counter()
            flow, _ = ref.optimise_flow(I1, I2, steps=steps)
            took = time.perf_counter() - start
            before = metrics.average_endpoint_error(np.zeros_like(p.flow), p.flow)
            after = metrics.average_endpoint_error(flow, p.flow)
            bench.row("flow: unsupervised optimisation", f"{p.name}: AEE after {steps} steps on {device} "
                f"({took:.0f} s; anchor: the zero start)", after, before, "below the start", after < before)
