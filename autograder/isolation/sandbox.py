"""The sandbox a student's kernel runs in: bubblewrap's mount, network, PID and user namespaces.

``bwrap`` (Debian/Ubuntu: ``apt-get install bubblewrap``) starts the kernel in a
new root file system that holds only:

* the operating system's programs and libraries (``/usr`` and its links), read-only;
* the Python installation the grader runs (its prefixes and the ``elvkit`` and
  ``autograder`` packages), read-only. The course's ``solutions/`` tree -- every
  assignment's reference, hidden-test spec and mistakes -- is not there at all: it
  is never bound, and should a bound folder contain it (a Python environment
  inside the course repository), an empty folder covers it;
* the submission's own working folder (its notebook, the release files, the
  hidden inputs) and the kernel's connection folder, writable, and a private
  ``/tmp``;
* a private ``/proc``, a minimal ``/dev`` (plus the NVIDIA devices when there are
  any) and ``/sys`` read-only.

Nothing else of the machine exists in there: not the gradebook, not the other
submissions, not the TA's home. The kernel has its own network namespace (no
interface but its own loopback: nothing outside is reachable, not even the
machine's 127.0.0.1), its own PID namespace (everything it starts dies with it)
and runs as ``nobody`` without capabilities. It talks to the grader over Unix
sockets in its connection folder (Jupyter's ``ipc`` transport), not TCP.

When bubblewrap is missing or user namespaces are off, :func:`probe` says why;
the grader then runs kernels with the resource limits only and the report says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["readable_secrets", "probe", "bwrap_command", "secret_folders"]
_ETC = ("passwd", "group", "nsswitch.conf", "localtime", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
        "alternatives", "fonts", "mime.types")
_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
NOBODY = 65534


@functools.lru_cache(maxsize=None)
def probe() -> tuple[bool, str]:
    """Whether kernels can be sandboxed here: (True, bwrap's version) or (False, the reason)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        run = subprocess.run([exe, "--unshare-all", "--unshare-user", "--die-with-parent",
                              *_system_binds(), "--proc", "/proc", "--dev", "/dev", "true"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bubblewrap could not run: {exc}"
    if run.returncode != 0:
        return False, f"bubblewrap cannot create namespaces here: {run.stderr.strip()[:300]}"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    return True, version or "bubblewrap"


def _system_binds() -> list:
    """bwrap arguments that bind the operating system's programs and libraries read-only."""
    args = []
    for name in _SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _python_roots() -> list[Path]:
    """What the kernel's Python needs: its prefixes and the packages on its path, not the course's sources."""
    roots = {Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
    roots |= {Path(p) for p in {sys.prefix, sys.base_prefix}}
    for package in ("elvkit", "autograder"):
        folder = _package_dir(package)
        if not any(folder.is_relative_to(r) for r in roots):
            roots.add(folder)        # an editable install: only the package, not the repository around it
    exe = Path(sys.executable)
    roots.add(exe.resolve().parent.parent)
    return sorted(roots, key=lambda p: (len(p.parts), str(p)))


def _package_dir(name: str) -> Path:
    """Where a package lives, found without importing it (the launcher must start fast)."""
    import importlib.util

    return Path(importlib.util.find_spec(name).origin).resolve().parent


def secret_folders() -> list[Path]:
    """What a kernel must never read: the course's ``solutions/`` tree (``ELVKIT_COURSE_ROOT`` or the
    checkout the toolkit lives in)."""
    env = os.environ.get("ELVKIT_COURSE_ROOT")
    course = Path(env).resolve() if env else _package_dir("autograder").parent
    return [course / "solutions"]


_PROBE = """
import os, sys
found = []
for top in sys.argv[1:]:
    try:
        os.listdir(top)
    except OSError:
        continue
    found.append(top)
    for folder, dirs, files in os.walk(top):
        for name in files:
            try:
                with open(os.path.join(folder, name), "rb"):
                    found.append(os.path.join(folder, name))
            except OSError:
                pass
print("\\n".join(found))
"""


def readable_secrets(user: str, folders: list) -> list[str]:
    """What the account ``user`` can list or read of ``folders`` (the ones that exist), tried as that account in
    a child process (file modes, ACLs and all); [] when nothing. The caller must be root.

    Raises
    ------
    RuntimeError
        When ``user`` does not exist, or cannot run this Python (its kernels could not start either).
    """
    import pwd
    import sys

    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise RuntimeError(f"--kernel-user {user}: no such account on this machine (create one without a login, "
                           f"e.g. useradd --system --no-create-home {user})") from None
    paths = [str(Path(f).resolve()) for f in folders if Path(f).exists()]
    try:
        run = subprocess.run([sys.executable, "-I", "-c", _PROBE, *paths], user=account.pw_uid,
                             group=account.pw_gid, extra_groups=[], capture_output=True, text=True, timeout=120,
                             cwd="/")
    except OSError as exc:
        raise RuntimeError(f"--kernel-user {user} cannot run this Python ({sys.executable}: {exc.strerror}), so "
                           "its kernels could not start: install the toolkit in a Python environment that account "
                           "can read (Gradescope's setup.sh does).") from None
    except subprocess.SubprocessError as exc:
        raise RuntimeError(f"--kernel-user {user}: could not run a process as that account ({exc})") from None
    if run.returncode != 0:
        raise RuntimeError(f"--kernel-user {user} cannot run this Python ({sys.executable}): "
                           f"{(run.stderr.strip().splitlines() or ['no message'])[-1][:200]}; its kernels could "
                           "not start. Make the Python environment readable to it.")
    return [line for line in run.stdout.splitlines() if line.strip()]


def bwrap_command(workdir: Path, connection_dir: Path, *, environment: dict) -> list:
    """The ``bwrap`` arguments (up to and including ``--``) that run a command in the sandbox: ``workdir`` and
    ``connection_dir`` writable, ``environment`` the command's whole environment."""
    workdir, connection_dir = Path(workdir).resolve(), Path(connection_dir).resolve()
    # the private /tmp first: what is bound later (a virtual environment, the submission's folder) may live in /tmp
    args = ["bwrap", "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
            "--die-with-parent", "--hostname", "elv-sandbox", "--tmpfs", "/tmp", *_system_binds()]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    roots = _python_roots()
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    for secret in secret_folders():
        if secret.is_dir() and any(secret.resolve().is_relative_to(r) for r in roots):
            args += ["--tmpfs", str(secret.resolve()), "--remount-ro", str(secret.resolve())]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--ro-bind-try", "/sys", "/sys"]
    for dev in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind", str(dev), str(dev)]
    args += ["--bind", str(workdir), str(workdir), "--bind", str(connection_dir), str(connection_dir),
             "--remount-ro", "/", "--chdir", str(workdir), "--clearenv"]
    env = dict(environment)
    env["JPY_PARENT_PID"] = "1"        # its parent is the sandbox's init: ipykernel then neither polls nor prints
    env.update(HOME=str(workdir), TMPDIR="/tmp")
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args + ["--"]
