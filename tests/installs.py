"""The two fresh installations the suite makes, started in the background as soon as the tests are collected
(see ``conftest.pytest_collection_finish``), so that they overlap the graded batches instead of adding to the
suite's time; a test that needs one waits for it (:func:`student_tree`, :func:`gradescope_root`).

* the student distribution: ``elv publish`` into a temporary folder, then the student README's first command
  in a fresh virtual environment (pip, with the test environment's constraints: PyTorch stays the CPU build);
* the Gradescope package of ``01_stereo``, unpacked into a stand-in for ``/autograder`` and set up by its own
  ``setup.sh`` as Gradescope runs it (root, a container's PATH, the system Python).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

_JOBS: dict = {}
_FOLDERS: list = []


def container_python() -> str | None:
    """A system Python >= 3.11 with venv, outside any user's home (what Gradescope's image has), or None."""
    for candidate in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11", "/usr/bin/python3"):
        if Path(candidate).is_file() and subprocess.run(
                [candidate, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"],
                capture_output=True).returncode == 0:
            return candidate
    return None


def gradescope_possible() -> bool:
    """Whether this machine can run the package's setup.sh as Gradescope does (root, useradd, a system Python)."""
    return os.geteuid() == 0 and shutil.which("useradd") is not None and container_python() is not None


def _nice() -> None:
    """Run an installation at a lower priority: the graded batches it overlaps keep the CPU they need."""
    os.nice(10)


def _folder(prefix: str, public: bool = False) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if public:              # the kernels' account must reach the virtual environment inside
        path.chmod(0o755)
    _FOLDERS.append(path)
    return path


def _student() -> tuple:
    from autograder.course import root
    from autograder.course.publish import publish

    base = _folder("elv-student-")
    tree, home = base / "course", base / "home"
    publish(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "JUPYTER", "ELVKIT"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"), MPLBACKEND="agg")
    subprocess.run([sys.executable, "-m", "venv", str(tree / ".venv")], check=True, env=env, cwd=tree)
    bin_ = tree / ".venv" / "bin"
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"
    # the README's first command: pip install -e '.[student]'
    done = subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-compile", "-c", str(root() / "constraints.txt"), "-e", ".[student]"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=1200, preexec_fn=_nice)
    if done.returncode != 0:
        raise RuntimeError(f"pip install -e '.[student]' failed:\n{done.stderr[-3000:]}")
    return tree, bin_, env


def _gradescope() -> tuple:
    from autograder.cli import main

    root = _folder("elv-autograder-", public=True)
    if main(["gradescope", "01_stereo", "--out", str(root / "autograder.zip")]) != 0:
        raise RuntimeError("elv gradescope failed")
    with zipfile.ZipFile(root / "autograder.zip") as zf:
        zf.extractall(root)
    # a container's PATH (the system Python first); this machine's own package configuration (PIP_*) kept
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("HOME", "LANG")}
    env.update(PATH=f"{Path(container_python()).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               AUTOGRADER_ROOT=str(root), ELV_SKIP_APT="1",
               TORCH_INDEX_URL="",          # this machine's package index serves the CPU build of the pinned torch
               ELV_SANDBOX="user")          # as in Gradescope's containers, where bubblewrap cannot run
    # its own working folder: these run on a thread while tests chdir into folders that may not outlive them
    setup = subprocess.run(["bash", str(root / "setup.sh")], env=dict(env, PIP_NO_COMPILE="1"), cwd=root,
                           capture_output=True, text=True, timeout=1200, preexec_fn=_nice)
    if setup.returncode != 0:
        raise RuntimeError(f"setup.sh failed:\n{setup.stderr[-3000:]}")
    return root, env


_MAKERS = {"student": _student, "gradescope": _gradescope}


def start(name: str) -> None:
    """Start the installation ``name`` ("student" or "gradescope") on a thread of its own (once)."""
    if name in _JOBS:
        return
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = _MAKERS[name]()
        except BaseException as exc:        # handed to the test that waits for it
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"install-{name}", daemon=True)
    thread.start()
    _JOBS[name] = (thread, outcome)


def _wait(name: str):
    start(name)
    thread, outcome = _JOBS[name]
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def student_tree() -> tuple:
    """The published tree, the bin folder of its fresh virtual environment, and the environment to run it in."""
    return _wait("student")


def gradescope_root() -> tuple:
    """The stand-in for ``/autograder`` after ``setup.sh``, and the environment run_autograder runs in."""
    return _wait("gradescope")


def cleanup() -> None:
    """Remove the installations' folders (at the end of the session)."""
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)
