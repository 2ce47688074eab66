"""Tamper watch inside a graded kernel: notices when the checking machinery is changed. Flags only.

Installed before the notebook's first cell (the grader starts the kernel with ``exec_lines``).
Before and after every cell it compares the objects tests rely on -- NumPy's and torch's
comparisons, every function of ``elvkit.testing``, the recorder, the traceback display -- with
what they were when the kernel started: the object itself **and** its code, defaults and
module-level names, so a helper changed in place (``assert_close.__code__ = ...``) is noticed
as well as one replaced. It also notices test helpers the notebook imported being rebound.

Each cell it sees leaves a heartbeat in ``$ELVKIT_HIDDEN_DIR/guard.jsonl``, findings go to the
same log, and the grader reads the log after every cell (:class:`autograder.integrity.judge.CellWatch`): a
log that shrinks or changes, or a cell without a heartbeat (the guard's callbacks removed), is a
finding too. Findings only ever add a flag for a person: no point depends on this guard, since
every test is judged again in the grader's process (:mod:`autograder.integrity.judge`).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

__all__ = ["install", "WATCHED", "WATCHED_MODULES", "WATCHED_NAMES"]

#: module -> functions whose replacement would let a wrong answer pass a test
WATCHED = {
    "numpy": ("allclose", "array_equal", "isclose", "all", "any", "asarray", "testing"),
    "numpy.testing": ("assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal",
                      "assert_array_almost_equal", "assert_array_less"),
    "torch": ("allclose", "equal", "isclose", "is_tensor"),
    "torch.testing": ("assert_close",),
    "autograder.hidden": ("check",),
    "builtins": ("isinstance", "len", "abs", "all", "any", "float", "print", "AssertionError", "__import__",
                 "bool", "getattr"),
}
#: modules all of whose names are watched (helpers that the test helpers call included)
WATCHED_MODULES = ("elvkit.testing", "elvkit.device", "autograder.hidden", "autograder.kernel_side.capture",
                   "autograder.kernel_side.records", "autograder.kernel_side.guard")
#: names that the notebook's locked cells bind and that test cells call
WATCHED_NAMES = ("assert_close", "assert_shape", "assert_true", "check", "np", "torch", "elvkit")
_SHELL = ("showtraceback", "_showtraceback", "showsyntaxerror", "CustomTB")


def _fingerprint(obj):
    """What must stay the same about a watched object: itself; for a function its code and defaults; for a
    class the functions it holds."""
    code = getattr(obj, "__code__", None)
    members = ()
    if isinstance(obj, type):
        members = tuple((k, id(v), id(getattr(v, "__code__", None))) for k, v in sorted(vars(obj).items())
                        if callable(v) or isinstance(v, (staticmethod, classmethod, property)))
    return (id(obj), id(code), getattr(code, "co_code", None), repr(getattr(obj, "__defaults__", None))[:200],
            repr(getattr(obj, "__kwdefaults__", None))[:200], members)


def _beat(source: str) -> str:
    import hashlib

    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


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
            mod = sys.modules.get(module)
            if mod is None:
                continue
            for name in names:
                key = f"{module}.{name}"
                if key not in self.seen:
                    self.seen[key] = (mod, name, _fingerprint(getattr(mod, name, None)))
        for module in WATCHED_MODULES:
            mod = sys.modules.get(module)
            if mod is None:
                continue
            for name, value in list(vars(mod).items()):
                key = f"{module}.{name}"
                if key not in self.seen and callable(value):
                    self.seen[key] = (mod, name, _fingerprint(value))
        for name in _SHELL:
            self.seen.setdefault(f"shell.{name}", (None, name, _fingerprint(self.shell.__dict__.get(name))))

    def _write(self, entry: dict) -> None:
        if self.log:
            try:
                with open(self.log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")
            except OSError:
                pass

    def _report(self, what: str) -> None:
        if what not in self.reported:
            self.reported.add(what)
            self._write({"finding": what})

    def check(self, *_args) -> None:
        for key, (mod, name, print_) in list(self.seen.items()):
            now = self.shell.__dict__.get(name) if mod is None else getattr(mod, name, None)
            if _fingerprint(now) != print_:
                self._report(f"changed {key}")
        user = self.shell.user_ns
        for name in WATCHED_NAMES:
            if name in user:
                first = self.names.setdefault(name, user[name])
                if user[name] is not first:
                    self._report(f"rebound `{name}`")
        self._snapshot()        # modules imported since the last cell are watched from now on

    def before(self, info=None) -> None:
        self._write({"beat": _beat(getattr(info, "raw_cell", "") or "")})
        self.check()


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
    shell.events.register("pre_run_cell", guard.before)
    shell.events.register("post_execute", guard.check)
