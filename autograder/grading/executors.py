"""Where notebooks run: local worker processes, or a Dask cluster (local, an address, or Slurm), all
used through the same ``concurrent.futures`` interface."""

from __future__ import annotations

import concurrent.futures as cf
import concurrent.futures.process
import contextlib
import multiprocessing
import os
import subprocess

from .types import STATUS_INFRA, GradeOptions
from .worker import work, worker_init

__all__ = ["executor", "slurm_cluster", "gpu_ids", "Workers", "BROKEN", "run_jobs", "SCHEDULER_TIMEOUT"]

#: seconds to wait for a Dask scheduler to answer
SCHEDULER_TIMEOUT = 10


def gpu_ids() -> list:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


class Workers:
    """An executor that can be replaced: a local process pool is broken for good once one of its workers dies
    (killed, or out of memory), so the grading loop asks for a fresh one (:meth:`replace`) and runs again what
    the dead pool held."""

    def __init__(self, make):
        self._make = make
        self.pool = make()

    def submit(self, fn, *args, **kwargs) -> cf.Future:
        """``fn(*args, **kwargs)`` on a worker."""
        return self.pool.submit(fn, *args, **kwargs)

    def map(self, fn, *iterables, **kwargs):
        """``fn`` over ``iterables`` on the workers (the executor's own ``map``)."""
        return self.pool.map(fn, *iterables, **kwargs)

    def replace(self) -> None:
        """A fresh pool in place of this one (whose workers are left to exit)."""
        old, self.pool = self.pool, self._make()
        old.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers once the submitted work is done (``wait``)."""
        self.pool.shutdown(wait=wait)


#: what a future of a local pool raises when a worker of the pool died
BROKEN = (cf.process.BrokenProcessPool,)


@contextlib.contextmanager
def executor(options: GradeOptions):
    """Where notebooks run: local worker processes, or a Dask cluster (local, an address, or Slurm).

    Every kind is used through the same ``concurrent.futures`` interface (a :class:`Workers`), so the grading
    loop, the single gradebook writer and the journal do not change.
    """
    if not options.scheduler:
        ctx = multiprocessing.get_context("spawn")
        gpus = None
        ids = gpu_ids() if options.device != "cpu" else []
        if len(ids) > 1:
            gpus = ctx.Queue()
            for i in range(options.jobs):
                gpus.put(ids[i % len(ids)])
        workers = Workers(lambda: cf.ProcessPoolExecutor(max_workers=options.jobs, mp_context=ctx,
                                                         initializer=worker_init, initargs=(gpus,)))
        try:
            yield workers
        finally:
            workers.shutdown()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--scheduler needs Dask distributed: pip install -e '.[cluster]'") from None
    cluster = None
    if options.scheduler == "local":
        cluster = LocalCluster(n_workers=options.jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster
    elif options.scheduler == "slurm":
        cluster = slurm_cluster(options)
        cluster.scale(jobs=options.jobs)
        address = cluster
    else:
        address = options.scheduler
    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RuntimeError(f"--scheduler {options.scheduler}: no Dask scheduler answered within "
                           f"{SCHEDULER_TIMEOUT} s ({cause[:200]}). Start one (`dask scheduler`) and check the "
                           "address, or grade on this machine with --scheduler local or without --scheduler; "
                           "nothing was written.") from None
    try:
        yield Workers(lambda: client.get_executor(pure=False))    # Dask reschedules the work of a dead worker itself
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def slurm_cluster(options: GradeOptions):
    """A dask-jobqueue SLURMCluster: one single-core worker per Slurm job; ``options.slurm`` overrides.

    Raises
    ------
    ImportError
        When dask-jobqueue is not installed (with the command that installs it).
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise ImportError("--scheduler slurm needs dask-jobqueue: pip install -e '.[cluster]'") from None
    settings = {"cores": 1, "processes": 1, "memory": "8GB", "walltime": "02:00:00",
                "job_name": "elv-grade", **options.slurm}
    if options.device == "cuda":
        settings.setdefault("job_extra_directives", ["--gres=gpu:1"])
    return SLURMCluster(**settings)


def run_jobs(pool: Workers, jobs: list, batch, writer, window: int) -> list:
    """Run ``jobs`` (job, result, original name) on the workers, at most ``window`` at a time, and hand each
    outcome to ``batch.collect`` (a failure to ``batch.zero``); returns the writer's futures.

    A worker that dies (killed, out of memory) breaks a local pool, and every job it held fails with it. Those
    jobs are run again, each alone on a fresh pool: one that kills its worker a second time, alone, is the
    cause, and only its row says so (an infrastructure error, flagged); every other student is graded as if
    nothing happened. Then the rest of the batch goes on, on a fresh pool.
    """
    waiting = list(reversed(jobs))
    running, written, suspects = {}, [], []

    def fail(item, exc):
        batch.zero(item[1], STATUS_INFRA, f"grader error: {type(exc).__name__}: {exc}")

    while waiting or running:
        while waiting and len(running) < window and not suspects:
            item = waiting.pop()
            running[pool.submit(work, item[0])] = item
        done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
        for future in done:
            item = running.pop(future)
            try:
                outcome = future.result()
            except BROKEN:
                suspects.append(item)
                continue
            except Exception as exc:  # noqa: BLE001 - the worker itself failed: the grader's problem
                fail(item, exc)
                continue
            written.append(batch.collect(item[1], item[2], outcome, writer))
        if suspects and not running:
            pool.replace()
            for item in suspects:                       # each alone: a second death is its own
                try:
                    outcome = pool.submit(work, item[0]).result()
                except BROKEN:
                    pool.replace()
                    item[1].flags.append("the grader's worker process died while grading this notebook (for review)")
                    batch.zero(item[1], STATUS_INFRA, "the grader's worker process died twice while grading this "
                                                      "notebook, the second time alone (killed, or out of "
                                                      "memory): grade it again, or look at it")
                    continue
                except Exception as exc:  # noqa: BLE001
                    fail(item, exc)
                    continue
                written.append(batch.collect(item[1], item[2], outcome, writer))
            suspects = []
    return written
