"""The same grading command on Dask distributed: a real LocalCluster of separate worker processes,
and the Slurm job that dask-jobqueue would submit."""

import csv

import pytest


@pytest.mark.slow
def test_grading_on_a_dask_local_cluster_matches_local_workers(tmp_path, stereo, stereo_batch):
    """The same submissions graded on Dask and by the local workers of the shared batch get the same rows."""
    pytest.importorskip("distributed")
    import shutil

    from autograder.cli import main

    subs = tmp_path / "subs"
    students = ("reference", "blank", "mistake-p1-p2-swapped", "malformed_json")
    for student in students:
        shutil.copytree(stereo_batch["submissions"] / student, subs / student)
    out = tmp_path / "dask"
    assert main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress",
                 "--scheduler", "local"]) == 0
    dask = {r["student"]: (r["status"], r["score"], r["q4"]) for r in csv.DictReader(open(out / "grades.csv"))}
    pool = {s: (r["status"], r["score"], r["q4"]) for s, r in stereo_batch["rows"].items() if s in students}
    assert dask == pool
    assert dask["reference"] == ("graded", "100", "20") and dask["malformed_json"][0] == "malformed"
    assert float(dask["mistake-p1-p2-swapped"][2]) < 22


def test_slurm_jobs_ask_for_what_the_grader_needs():
    pytest.importorskip("dask_jobqueue")
    from autograder.grading import GradeOptions
    from autograder.grading.executors import slurm_cluster

    cluster = slurm_cluster(GradeOptions(scheduler="slurm", device="cuda",
                                         slurm={"queue": "gpu", "account": "cs123", "memory": "16GB"}))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p gpu" in script and "#SBATCH -A cs123" in script
    assert "--gres=gpu:1" in script and "#SBATCH --cpus-per-task=1" in script
    assert "#SBATCH -J elv-grade" in script


def _visible_gpu(barrier):
    """The GPU a worker sees; with a barrier, only once another worker holds the other task."""
    import os

    if barrier is not None:
        barrier.wait(timeout=60)      # two tasks meet here, so they run in two different workers
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_each_local_worker_gets_its_own_gpu(monkeypatch):
    import multiprocessing

    from autograder.grading import GradeOptions
    from autograder.grading.executors import executor as _executor

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(2)
        with _executor(GradeOptions(jobs=2)) as pool:
            seen = set(pool.map(_visible_gpu, [barrier, barrier]))
    assert seen == {"5", "7"}
    with _executor(GradeOptions(jobs=2, device="cpu")) as pool:
        assert set(pool.map(_visible_gpu, [None, None])) == {"5,7"}, "--device cpu leaves the GPUs alone"
