"""Executing one notebook: a fresh kernel (in the sandbox, under resource limits), a time limit per
cell and a watchdog for the whole notebook, and the kernel's replies handed to a
:class:`~autograder.integrity.judge.CellWatch` cell by cell."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from ..course.notebooks import error_output
from .types import STATUS_GRADED, STATUS_INFRA, STATUS_KERNEL_DIED, STATUS_TIMEOUT, GradeOptions

__all__ = ["execute", "mark_not_run", "kernel_path", "KERNEL_START"]


#: seconds to wait for a cell's last outputs once the kernel has replied (nbclient's default is 4)
IOPUB_WAIT = 60


def mark_not_run(nb, reason: str) -> None:
    """Give every code cell that did not run an error output that says why (in place)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            cell.outputs = [error_output("NotRun", reason)]


def _kill_kernel(executor) -> bool:
    """Kill the executor's kernel and everything it started; False when there was no kernel to kill."""
    km = getattr(executor, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    if pid is None:
        return False
    try:
        group = os.getpgid(pid)
        if group != os.getpgrp():        # jupyter_client starts kernels in their own session
            os.killpg(group, signal.SIGKILL)   # the kernel and whatever it started
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _started(nb) -> bool:
    """Whether any cell of ``nb`` ran."""
    return any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def _connection_folder() -> Path:
    """A short private folder for the kernel's connection file and Unix sockets (paths must stay < 108 bytes)."""
    import tempfile

    base = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="elv-", dir=base))


def execute(nb, workdir: Path, cell_timeout: int, notebook_timeout: int, retries: int, sandboxed: bool = False,
            watch=None) -> tuple[str, str]:
    """Run the notebook ``nb`` in place in a fresh kernel whose folder is ``workdir``; returns ``(status,
    message)``: graded, timeout (``notebook_timeout`` seconds in all), kernel-died, or infrastructure-error
    when no kernel could be started in ``retries + 1`` attempts. A cell over ``cell_timeout`` seconds is
    interrupted and the notebook goes on. Never raises for what the student's code does.

    ``watch`` (a :class:`autograder.integrity.judge.CellWatch`) sees every code cell before and after it runs: the
    kernel's own execution reply (``ok`` or ``error``, which a student who hides tracebacks cannot turn
    into a pass), and the records each graded cell leaves. In the sandbox the kernel is reached over
    Unix sockets in a private connection folder (no TCP); so it is when the kernel runs as another account
    (``sandboxed`` true for both).
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import DeadKernelError
    from traitlets.config import Config

    from ..isolation.limits import group_name, release_group

    last_error = ""
    for attempt in range(retries + 1):
        connection = _connection_folder()
        config = Config()
        config.KernelManager.connection_file = str(connection / "kernel.json")
        if sandboxed:
            config.KernelManager.transport = "ipc"
        hooks = {} if watch is None else {"on_cell_execute": watch.before}
        # "immediate": the kernel is killed once the last cell has replied (everything a cell records is written
        # before its reply); a graceful shutdown waited about 1 s more per notebook for the kernel to exit itself
        # after a cell's reply, nbclient waits for its last outputs; nbgrader makes a wait past 4 s an error that stops
        # the notebook, which a loaded machine (or a cell that left many processes behind) reaches for cells that
        # did nothing wrong. The wait is long here and its end only a warning: the reply already decided the cell.
        executor = _Watched(timeout=cell_timeout, kernel_name="python3", startup_timeout=60,
                            iopub_timeout=IOPUB_WAIT, raise_on_iopub_timeout=False,
                            interrupt_on_timeout=True, shutdown_kernel="immediate", config=config, **hooks,
                           extra_arguments=["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR",
                                            f"--IPKernelApp.exec_lines={KERNEL_START}"])
        executor.watch = watch
        executor.log.setLevel(logging.ERROR)
        fired = threading.Event()
        done = threading.Event()

        def watchdog():
            if not done.wait(notebook_timeout):
                fired.set()
                _kill_kernel(executor)

        guard = threading.Thread(target=watchdog, daemon=True)
        guard.start()
        try:
            executor.preprocess(nb, {"metadata": {"path": str(workdir)}})
            return STATUS_GRADED, ""
        except DeadKernelError:
            if fired.is_set():
                return STATUS_TIMEOUT, f"the notebook ran longer than {notebook_timeout} s and was stopped"
            if not _started(nb):
                last_error = "the kernel died while starting"
                continue
            return STATUS_KERNEL_DIED, "the kernel died (a crash, os._exit, or too much memory)"
        except NoSuchKernel as exc:
            return STATUS_INFRA, f"no python3 kernel: {exc}"
        except Exception as exc:  # kernel start failures and the like: retry
            if fired.is_set():
                return STATUS_TIMEOUT, f"the notebook ran longer than {notebook_timeout} s and was stopped"
            if _started(nb):
                return STATUS_KERNEL_DIED, f"execution stopped: {type(exc).__name__}: {exc}"
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5 * (attempt + 1))
        finally:
            done.set()
            release_group(group_name(str(connection / "kernel.json")))
            shutil.rmtree(connection, ignore_errors=True)
    return STATUS_INFRA, f"the kernel could not be started ({retries + 1} attempts): {last_error}"


@functools.lru_cache(maxsize=None)
def _watched_class():
    from nbgrader.preprocessors import Execute

    class Watched(Execute):
        """nbgrader's executor, which also hands each finished cell to a :class:`CellWatch` (nbgrader defines
        ``on_cell_executed`` as a method, so the hook cannot be passed as an option)."""

        watch = None

        def on_cell_executed(self, **kwargs):
            super().on_cell_executed(**kwargs)
            if self.watch is not None:
                self.watch.after(**kwargs)

    return Watched


def _Watched(**kwargs):
    """nbgrader's executor with the :class:`CellWatch` hooks (made once per process)."""
    return _watched_class()(**kwargs)


#: what every graded kernel runs before the notebook: the recorder of test-cell calls, then the guard
KERNEL_START = ("__import__('autograder.kernel_side.capture').kernel_side.capture.install(); "
                "__import__('autograder.kernel_side.guard').kernel_side.guard.install()")

def kernel_path(folder: Path, options: GradeOptions | None = None, sandboxed: bool = False,
                user: str | None = None) -> str:
    """A Jupyter data folder whose ``python3`` kernel is this interpreter, first on JUPYTER_PATH.

    The notebooks must run with the Python that has elvkit and the grader installed, whatever
    kernels the machine or the user have registered under the same name. The kernel starts under
    the resource limits of ``options`` (see :mod:`autograder.isolation.limits`), in the sandbox when
    ``sandboxed`` (see :mod:`autograder.isolation.sandbox`), as the account ``user`` when given.
    """
    from ..isolation.limits import wrap

    options = options or GradeOptions()
    argv = wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                memory_mb=options.memory_mb, file_mb=options.file_mb,
                cpu_seconds=options.cpu_seconds, processes=options.processes, sandbox=sandboxed,
                user=user)
    spec = folder / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    kernel = {"argv": argv, "display_name": "Python 3 (elv grader)", "language": "python"}
    if sandboxed:       # a signal would reach bubblewrap, not the kernel: interrupt over the control channel
        kernel["interrupt_mode"] = "message"
    spec.write_text(json.dumps(kernel))
    rest = os.environ.get("JUPYTER_PATH", "")
    return str(folder.resolve()) + (os.pathsep + rest if rest else "")

