"""The same grading command on Dask distributed: a real LocalCluster of separate worker processes,
and the Slurm job that dask-jobqueue would submit."""

import csv

import pytest


@pytest.mark.slow
def test_grading_on_a_dask_local_cluster_matches_local_workers(tmp_path, stereo):
    pytest.importorskip("distributed")
    from autograder.classroom import blank_submission, mistake_submission, mistakes, reference_submission
    from autograder.cli import main
    from autograder.notebooks import write_notebook

    subs = tmp_path / "subs"
    write_notebook(reference_submission(stereo), subs / "ref" / "stereo.ipynb")
    write_notebook(blank_submission(stereo), subs / "blank" / "stereo.ipynb")
    m = next(m for m in mistakes(stereo) if m.name == "p1_p2_swapped")
    write_notebook(mistake_submission(stereo, m), subs / "swap" / "stereo.ipynb")
    (subs / "broken").mkdir()
    (subs / "broken" / "stereo.ipynb").write_text("{")
    scores = {}
    for how, extra in (("dask", ["--scheduler", "local"]), ("pool", [])):
        out = tmp_path / how
        assert main(["grade", "01_stereo", str(subs), "--out", str(out), "--jobs", "2", "--no-progress",
                     *extra]) == 0
        scores[how] = {r["student"]: (r["status"], r["score"], r["q4"]) for r in csv.DictReader(open(out / "grades.csv"))}
    assert scores["dask"] == scores["pool"]
    assert scores["dask"]["ref"] == ("graded", "100", "22") and scores["dask"]["broken"][0] == "malformed"
    assert float(scores["dask"]["swap"][2]) < 22


def test_slurm_jobs_ask_for_what_the_grader_needs():
    pytest.importorskip("dask_jobqueue")
    from autograder.grade import GradeOptions, slurm_cluster

    cluster = slurm_cluster(GradeOptions(scheduler="slurm", device="cuda",
                                         slurm={"queue": "gpu", "account": "cs123", "memory": "16GB"}))
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p gpu" in script and "#SBATCH -A cs123" in script
    assert "--gres=gpu:1" in script and "#SBATCH --cpus-per-task=1" in script
    assert "#SBATCH -J elv-grade" in script


def _visible_gpu(_):
    import os
    import time

    time.sleep(0.3)                   # keep both workers busy, so each answers once
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_each_local_worker_gets_its_own_gpu(monkeypatch):
    from autograder.grade import GradeOptions, _executor

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    with _executor(GradeOptions(jobs=2)) as pool:
        seen = set(pool.map(_visible_gpu, range(4)))
    assert seen == {"5", "7"}
    with _executor(GradeOptions(jobs=2, device="cpu")) as pool:
        assert set(pool.map(_visible_gpu, range(2))) == {"5,7"}, "--device cpu leaves the GPUs alone"
