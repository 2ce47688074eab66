"""Resource limits for a student's kernel: ``python -m autograder.isolation.limits [limits] -- COMMAND ...``.

Sets POSIX resource limits on this process and then replaces it with ``COMMAND``
(the kernel), which inherits them, as does everything the kernel starts:

* ``--memory-mb``: the kernel's data segment (``RLIMIT_DATA``: heap and private
  writable mappings, what an oversized array allocates). A student's 30 GB
  allocation fails with ``MemoryError`` in their cell instead of exhausting the
  machine. The virtual address space is not limited, so CUDA's large
  reservations still work on a GPU.
* ``--cpu-seconds``: CPU time (``RLIMIT_CPU``); the kernel is killed beyond it.
* ``--file-mb``: the largest file the kernel may write (``RLIMIT_FSIZE``).
* ``--processes``: processes and threads of the kernel and everything it starts:
  a ``pids`` control group of its own when the grader may create one (root, or
  a delegated cgroup), else ``RLIMIT_NPROC`` set to that many more tasks than
  the user runs at the kernel's start (root ignores it). A fork flood fails
  with ``BlockingIOError`` in its cell.
* ``--sandbox``: run the kernel inside bubblewrap (:mod:`autograder.isolation.sandbox`):
  only its own folder is writable, the grader's files and the network are out
  of reach.
* ``--user NAME``: where bubblewrap cannot run (a container such as Gradescope's),
  the launcher, started as root, hands the kernel's folder and connection file to
  the unprivileged account ``NAME`` and becomes it before the kernel starts; the
  grader first checks that ``NAME`` cannot read its secret files
  (:func:`autograder.isolation.sandbox.readable_secrets`).

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
import time
from pathlib import Path

__all__ = ["apply_limits", "scrubbed_environment", "wrap", "release_group", "PIDS_ROOTS"]

#: where a pids control group may be made (cgroup v1's pids hierarchy, then cgroup v2)
PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))

#: variables a kernel keeps; everything else is dropped
KEEP = {"PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM", "PYTHONHASHSEED",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER", "NBGRADER_EXECUTION", "VIRTUAL_ENV", "LD_LIBRARY_PATH"}
KEEP_PREFIXES = ("ELVKIT_", "JPY_", "JUPYTER_", "IPYKERNEL_", "NVIDIA_")


#: the kernels draw into the notebook, as in Jupyter, whatever the grader's shell chose: a server's MPLBACKEND=Agg
#: (or the grader's own, set for its replays) would leave every figure out of the feedback pages
KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"


def scrubbed_environment(env: dict) -> dict:
    """The part of ``env`` a student's kernel may see, with matplotlib's inline backend."""
    kept = {k: v for k, v in env.items() if k in KEEP or k.startswith(KEEP_PREFIXES)}
    kept["MPLBACKEND"] = KERNEL_MPLBACKEND
    return kept


def apply_limits(*, memory_mb: int | None = None, cpu_seconds: int | None = None, file_mb: int | None = None,
                 processes: int | None = None, group: str | None = None) -> None:
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
        if not _join_pids_group(int(processes), group):
            # RLIMIT_NPROC counts every task of the user, the TA's own and the other kernels' included:
            # allow this kernel ``processes`` more than the user runs now
            lower(resource.RLIMIT_NPROC, _user_tasks() + int(processes))


def _user_tasks() -> int:
    """Processes and threads that this process's real user runs now (from /proc; 0 where there is none)."""
    uid, total = str(os.getuid()), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def _join_pids_group(limit: int, name: str | None) -> bool:
    """Move this process into a new pids control group limited to ``limit`` tasks; False where none can be made."""
    if not name:
        return False
    for root in PIDS_ROOTS:
        if not (root / "cgroup.procs").is_file() or not os.access(root, os.W_OK):
            continue
        control = root / "cgroup.subtree_control"
        if root.name != "pids" and not (control.is_file() and "pids" in control.read_text().split()):
            continue
        group = root / name
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(limit))
            (group / "cgroup.procs").write_text(str(os.getpid()))
            return True
        except OSError:
            try:
                group.rmdir()
            except OSError:
                pass
    return False


def release_group(name: str, attempts: int = 20) -> None:
    """Remove the kernel's pids group once its processes are gone (the grader calls this after a notebook)."""
    for root in PIDS_ROOTS:
        group = root / name
        if not group.is_dir():
            continue
        for _ in range(attempts):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


def group_name(connection_file: str) -> str:
    """The pids group of the kernel using ``connection_file`` (its folder is unique to one kernel)."""
    return "elv-" + Path(connection_file).resolve().parent.name


def wrap(argv: list, *, memory_mb=None, cpu_seconds=None, file_mb=None, processes=None, sandbox=False,
         user: str | None = None) -> list:
    """``argv`` run under the limits (for a kernelspec's argv), as ``user`` when given."""
    pre = [sys.executable, "-m", "autograder.isolation.limits"]
    for flag, value in (("--memory-mb", memory_mb), ("--cpu-seconds", cpu_seconds), ("--file-mb", file_mb),
                        ("--processes", processes)):
        if value:
            pre += [flag, str(int(value))]
    if sandbox:
        pre.append("--sandbox")
    if user:
        pre += ["--user", user]
    return pre + ["--"] + list(argv)


def _become(name: str, connection: str | None, env: dict) -> None:
    """Hand the kernel's folder (the working directory) and its connection file to the account ``name``, then
    become it for good (groups, group, user); the parent-death signal, which a change of user clears, is set
    again."""
    import pwd

    account = pwd.getpwnam(name)
    if account.pw_uid == 0:
        raise SystemExit(f"--user {name}: the kernel's account must not be root")
    owned = [Path.cwd()]
    if connection is not None:
        owned.append(Path(connection).resolve().parent)
    for top in owned:
        for folder, dirs, files in os.walk(top):
            for entry in [folder] + [os.path.join(folder, f) for f in dirs + files]:
                os.lchown(entry, account.pw_uid, account.pw_gid)
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    env.update(HOME=str(Path.cwd()), USER=name, LOGNAME=name)
    _die_with_parent()


def _die_with_parent() -> None:
    """Die with the grader's worker that launched this kernel, also when it died while this launcher started.

    The kernel's sandbox dies with its parent (``--die-with-parent``), but only from the moment it is running:
    a worker killed in between would leave it orphaned. The parent-death signal is set here, before anything
    else, and survives the ``exec`` of the kernel; if the parent is already gone (this process was adopted),
    the launcher stops at once.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    parent = os.environ.get("JPY_PARENT_PID", "")    # jupyter_client: the process that launched the kernel
    if parent.isdigit() and os.getppid() != int(parent):
        os._exit(1)


def main(argv=None) -> None:
    """The kernel launcher: apply the limits, scrub the environment, then replace this process by the command
    (in the sandbox with ``--sandbox``). Exits with a usage error when no command is given."""
    _die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m autograder.isolation.limits", description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int)
    parser.add_argument("--cpu-seconds", type=int)
    parser.add_argument("--file-mb", type=int)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run under the limits")
    connection = command[command.index("-f") + 1] if "-f" in command[:-1] else None
    apply_limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds, file_mb=args.file_mb,
                 processes=args.processes, group=group_name(connection) if connection else None)
    env = scrubbed_environment(dict(os.environ))
    if args.user:
        _become(args.user, connection, env)
    if args.sandbox:
        from .sandbox import bwrap_command

        if connection is None:
            parser.error("--sandbox needs the kernel's connection file (-f FILE) in the command")
        command = bwrap_command(Path.cwd(), Path(connection).resolve().parent, environment=env) + command
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
