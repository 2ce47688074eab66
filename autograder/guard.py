"""Tamper watch inside a graded kernel: notices when the checking machinery is replaced.

Installed before the notebook's first cell (the grader starts the kernel with
``exec_lines``). Before every cell it compares the functions that tests rely on
(NumPy's and torch's comparisons, ``elvkit.testing``, the hidden-test recorder,
the traceback display) with what they were when the kernel started, and notices
the test helpers a notebook imported (``assert_close``...) being rebound. What
it finds goes to ``$ELVKIT_HIDDEN_DIR/guard.jsonl``; the grader reads it after
the run.

This is one of three layers and the weakest: code in the same process can
defeat it. The grader also reads the notebook's source for tampering before it
runs (:mod:`autograder.tamper`), judges test cells by the kernel's execution
replies rather than by what the cell printed, and decides hidden tests in its
own process (:mod:`autograder.hidden`). Findings only ever add a flag.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

__all__ = ["install", "WATCHED", "WATCHED_NAMES"]

#: module -> functions whose replacement would let a wrong answer pass a test
WATCHED = {
    "numpy": ("allclose", "array_equal", "isclose", "all", "any", "asarray", "testing"),
    "numpy.testing": ("assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal",
                      "assert_array_almost_equal", "assert_array_less"),
    "torch": ("allclose", "equal", "isclose", "is_tensor"),
    "torch.testing": ("assert_close",),
    "elvkit.testing": ("assert_close", "assert_shape", "assert_true", "tolerance", "_close"),
    "autograder.capture": ("check", "call_cases", "encode", "write_record"),
    "autograder.hidden": ("check",),
    "builtins": ("isinstance", "len", "abs", "all", "any", "float", "print", "AssertionError", "__import__"),
}
#: names that the notebook's locked cells bind and that test cells call
WATCHED_NAMES = ("assert_close", "assert_shape", "assert_true", "check", "np", "torch", "elvkit")
_SHELL = ("showtraceback", "_showtraceback", "showsyntaxerror", "CustomTB")


def _lookup(module: str, name: str):
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


class _Guard:
    def __init__(self, shell, log: str | None):
        self.shell = shell
        self.log = log
        self.seen: dict = {}
        self.names: dict = {}
        self.reported: set = set()
        self._snapshot()

    def _snapshot(self) -> None:
        for module, names in WATCHED.items():
            for name in names:
                key = f"{module}.{name}"
                if key not in self.seen and module in sys.modules:
                    self.seen[key] = _lookup(module, name)
        for name in _SHELL:
            self.seen.setdefault(f"shell.{name}", self.shell.__dict__.get(name))

    def _report(self, what: str) -> None:
        if what in self.reported:
            return
        self.reported.add(what)
        if self.log:
            try:
                with open(self.log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"finding": what}) + "\n")
            except OSError:
                pass

    def check(self, *_args) -> None:
        for key, original in list(self.seen.items()):
            if key.startswith("shell."):
                now = self.shell.__dict__.get(key[len("shell."):])
            else:
                module, _, name = key.rpartition(".")
                now = _lookup(module, name)
            if now is not original:
                self._report(f"replaced {key}")
        user = self.shell.user_ns
        for name in WATCHED_NAMES:
            if name in user:
                first = self.names.setdefault(name, user[name])
                if user[name] is not first:
                    self._report(f"rebound `{name}`")
        self._snapshot()        # modules imported since the last cell are watched from now on


def install() -> None:
    """Watch this kernel (called once, before the notebook's first cell)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    for module in ("numpy", "numpy.testing", "elvkit.testing", "torch", "torch.testing"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    folder = os.environ.get("ELVKIT_HIDDEN_DIR")
    guard = _Guard(shell, os.path.join(folder, "guard.jsonl") if folder else None)
    shell.events.register("pre_run_cell", guard.check)
    shell.events.register("post_execute", guard.check)
