"""Resource limits for a student's kernel: ``python -m autograder.limits [limits] -- COMMAND ...``.

Sets POSIX resource limits on this process and then replaces it with ``COMMAND``
(the kernel), which inherits them, as does everything the kernel starts:

* ``--memory-mb``: the kernel's data segment (``RLIMIT_DATA``: heap and private
  writable mappings, what an oversized array allocates). A student's 30 GB
  allocation fails with ``MemoryError`` in their cell instead of exhausting the
  machine. The virtual address space is not limited, so CUDA's large
  reservations still work on a GPU.
* ``--cpu-seconds``: CPU time (``RLIMIT_CPU``); the kernel is killed beyond it.
* ``--file-mb``: the largest file the kernel may write (``RLIMIT_FSIZE``).
* ``--processes``: processes of the user (``RLIMIT_NPROC``); the kernel cannot
  fork without bound. Not enforced for root, which ignores this limit.

The environment is scrubbed before the kernel starts: only the variables a
notebook needs (locale, paths, thread counts, the visible GPUs, ``ELVKIT_*``,
Jupyter's own) pass; tokens, passwords and whatever else the TA's shell holds do
not reach the student's code.

The wall-clock limits per cell and per notebook are the grader's (nbclient's
timeout and a watchdog).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

__all__ = ["apply_limits", "scrubbed_environment", "wrap"]

#: variables a kernel keeps; everything else is dropped
KEEP = {"PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "PYTHONHASHSEED",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER", "MPLBACKEND", "NBGRADER_EXECUTION", "VIRTUAL_ENV", "LD_LIBRARY_PATH"}
KEEP_PREFIXES = ("ELVKIT_", "JPY_", "JUPYTER_", "IPYKERNEL_", "NVIDIA_")


def scrubbed_environment(env: dict) -> dict:
    """The part of ``env`` a student's kernel may see."""
    return {k: v for k, v in env.items() if k in KEEP or k.startswith(KEEP_PREFIXES)}


def apply_limits(*, memory_mb: int | None = None, cpu_seconds: int | None = None, file_mb: int | None = None,
                 processes: int | None = None) -> None:
    """Lower this process's limits (never raise them above the current hard limits)."""
    def lower(which, value):
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))

    if memory_mb:
        lower(resource.RLIMIT_DATA, int(memory_mb) * 1024 * 1024)
    if cpu_seconds:
        lower(resource.RLIMIT_CPU, int(cpu_seconds))
    if file_mb:
        lower(resource.RLIMIT_FSIZE, int(file_mb) * 1024 * 1024)
    if processes:
        lower(resource.RLIMIT_NPROC, int(processes))


def wrap(argv: list, *, memory_mb=None, cpu_seconds=None, file_mb=None, processes=None) -> list:
    """``argv`` run under the limits (for a kernelspec's argv)."""
    pre = [sys.executable, "-m", "autograder.limits"]
    for flag, value in (("--memory-mb", memory_mb), ("--cpu-seconds", cpu_seconds), ("--file-mb", file_mb),
                        ("--processes", processes)):
        if value:
            pre += [flag, str(int(value))]
    return pre + ["--"] + list(argv)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.limits", description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int)
    parser.add_argument("--cpu-seconds", type=int)
    parser.add_argument("--file-mb", type=int)
    parser.add_argument("--processes", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run under the limits")
    apply_limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds, file_mb=args.file_mb,
                 processes=args.processes)
    os.execvpe(command[0], command, scrubbed_environment(dict(os.environ)))


if __name__ == "__main__":
    main()
