"""Local web servers that `elv` starts for people (formgrader for TAs, Voilà for lectures) and keeps in the
foreground: however the command is stopped -- Ctrl-C, a `kill`, the terminal closing -- the server stops with
it, instead of living on, orphaned, with its port taken."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["run_until_stopped"]


def run_until_stopped(command, **popen) -> int:
    """Run the server ``command`` (``subprocess.Popen``'s keyword arguments in ``popen``) until it exits or this
    process is stopped; returns its exit status, or 0 when it was stopped from here."""
    server = subprocess.Popen(command, **popen)

    def stop(*_):
        raise KeyboardInterrupt

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, stop) for s in wanted}
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
