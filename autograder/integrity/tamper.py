"""Tampering found in a submission's source, before any of it runs (the grader's process reads it).

A student's cells may compute anything; they may not change how they are
checked. :func:`scan` reports, per cell, code that

* imports the grader (``autograder``, ``nbgrader``) or reaches for it through
  ``sys.modules``;
* replaces a comparison or test helper: assigning to (or ``setattr``/``delattr``
  on) ``numpy.testing.*``, ``np.allclose``, ``torch.allclose``,
  ``elvkit.testing.*``, ``builtins``, ``sys.excepthook``, IPython's traceback
  display (``showtraceback``, ``set_custom_exc``) and the like;
* rebinds a name the test cells call (``assert_close = ...``, ``check = ...``);
* changes a function in place (assigning its ``__code__``, ``__globals__`` or defaults);
* reaches objects behind the code's back: ``sys.modules``, ``gc``, ``ctypes``, stack frames,
  IPython's event callbacks, attributes or modules named by strings built at run time;
* names the grader's folder or files (``ELVKIT_HIDDEN_DIR``, ``.elv``, ``guard.jsonl``);
* defines an ``__eq__`` that answers True whatever it is compared with.

Ordinary code that merely uses these (``np.allclose(a, b)``,
``torch.backends.cudnn.benchmark = True``) is not reported. Findings only flag a
submission for a person: every score is decided by the grader (:mod:`autograder.integrity.judge`).
"""

from __future__ import annotations

import ast

__all__ = ["scan", "PROTECTED_ATTRIBUTES", "PROTECTED_NAMES"]

#: attributes that, replaced on any module or object, would change what a test concludes
PROTECTED_ATTRIBUTES = {
    "assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal", "assert_array_almost_equal",
    "assert_array_less", "assert_close", "assert_shape", "assert_true", "allclose", "array_equal", "isclose",
    "equal", "testing", "check", "record_check", "call_cases", "write_record", "excepthook", "showtraceback", "_showtraceback",
    "showsyntaxerror", "CustomTB", "_render_traceback_", "is_tensor", "tolerance", "_close",
}
#: modules whose attributes a student's cell never needs to assign
PROTECTED_MODULES = {"builtins", "autograder", "nbgrader", "elvkit", "sys", "IPython", "ipykernel", "traceback"}
#: names bound by the notebook's locked cells that test cells call
PROTECTED_NAMES = {"assert_close", "assert_shape", "assert_true", "check", "np", "torch", "elvkit", "metrics"}
_GRADER = {"autograder", "nbgrader"}
_DYNAMIC_SETTERS = {"setattr", "delattr"}
#: attributes that change a function or an object in place when assigned
_IN_PLACE = {"__code__", "__globals__", "__defaults__", "__kwdefaults__", "__dict__", "__class__", "__closure__"}
#: modules and calls that reach objects behind the code's back
_BACKDOORS = {"sys.modules": "`sys.modules`", "gc": "the garbage collector (`gc`)", "ctypes": "`ctypes`",
              "sys._getframe": "stack frames", "inspect.currentframe": "stack frames",
              "inspect.stack": "stack frames", "sys.settrace": "`sys.settrace`", "sys.setprofile": "`sys.setprofile`",
              "threading.settrace": "`threading.settrace`"}
#: strings that name the grader's folder or files
_GRADER_STRINGS = ("ELVKIT_HIDDEN_DIR", ".elv", "guard.jsonl", "cells.json")


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse handles every expression node
        return "?"


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: dict):
        self._imported: set = set()
        self.aliases = aliases          # local name -> module it stands for
        self.found: list[str] = []
        self.depth = 0                  # function nesting: rebinding a name inside a function is local

    def _module_of(self, node) -> str:
        root = _root_name(node)
        return self.aliases.get(root, root or "")

    def _target(self, target) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._target(t)
        elif isinstance(target, ast.Attribute):
            module = self._module_of(target.value).split(".")[0]
            if target.attr in _IN_PLACE:
                self.found.append(f"changes `{_dotted(target.value)}` in place (assigns `{target.attr}`)")
            elif target.attr in PROTECTED_ATTRIBUTES or module in PROTECTED_MODULES:
                self.found.append(f"replaces `{_dotted(target)}`")
        elif isinstance(target, ast.Subscript):
            if _dotted(target.value) in ("sys.modules", "__builtins__") or \
                    self._module_of(target.value) == "builtins":
                self.found.append(f"writes `{_dotted(target)}`")
        elif isinstance(target, ast.Name) and self.depth == 0 and target.id in PROTECTED_NAMES:
            self.found.append(f"rebinds `{target.id}`, which the test cells use")

    def visit_Assign(self, node):
        for t in node.targets:
            self._target(t)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for t in node.targets:
            self._target(t)
        self.generic_visit(node)

    def _imports(self, names, module: str | None = None):
        for alias in names:
            full = f"{module}.{alias.name}" if module else alias.name
            if full.split(".")[0] in ("gc", "ctypes"):
                self._imported.add(full.split(".")[0])
                self.found.append(f"imports `{full}`, which reaches objects behind the code's back")
            if full.split(".")[0] in _GRADER:
                self.found.append(f"imports the grader (`{full}`)")
            bound = alias.asname or (alias.name if module else alias.name.split(".")[0])
            if self.depth == 0 and bound in PROTECTED_NAMES and not full.startswith(("numpy", "torch", "elvkit")):
                self.found.append(f"rebinds `{bound}` by importing `{full}`")
            self.aliases[bound] = full if (module or alias.asname) else alias.name.split(".")[0]

    def visit_Import(self, node):
        self._imports(node.names)

    def visit_ImportFrom(self, node):
        self._imports(node.names, node.module or "")

    def visit_Attribute(self, node):
        full = self._full_name(node)
        if full in _BACKDOORS or full.split(".")[0] in ("gc", "ctypes") and full.split(".")[0] in self._imported:
            what = _BACKDOORS.get(full) or _BACKDOORS[full.split(".")[0]]
            self.found.append(f"reaches objects through {what}")
        elif node.attr == "callbacks" and _dotted(node.value).endswith("events"):
            self.found.append("touches IPython's event callbacks")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and any(s in node.value for s in _GRADER_STRINGS):
            self.found.append(f"names the grader's files ({node.value[:40]!r})")

    def _full_name(self, node) -> str:
        dotted = _dotted(node)
        root, _, rest = dotted.partition(".")
        module = self.aliases.get(root, root)
        return f"{module}.{rest}" if rest else module

    def visit_Call(self, node):
        func = _dotted(node.func)
        if func in _DYNAMIC_SETTERS and node.args:
            module = self._module_of(node.args[0]).split(".")[0]
            name = node.args[1] if len(node.args) > 1 else None
            attr = name.value if isinstance(name, ast.Constant) else None
            if module in PROTECTED_MODULES | {"numpy", "torch"} or attr in PROTECTED_ATTRIBUTES | _IN_PLACE:
                self.found.append(f"calls `{func}` on `{_dotted(node.args[0])}`")
            elif name is not None and not isinstance(name, ast.Constant):
                self.found.append(f"calls `{func}` with an attribute name built at run time")
        elif func in ("__import__", "importlib.import_module") and node.args and \
                not isinstance(node.args[0], ast.Constant):
            self.found.append(f"imports a module whose name is built at run time (`{func}`)")
        elif func in ("exec", "eval", "compile") and node.args and not isinstance(node.args[0], ast.Constant):
            self.found.append(f"runs code built at run time (`{func}`)")
        elif func.endswith("set_custom_exc") or func.endswith("events.unregister"):
            self.found.append(f"calls `{func}`")
        elif func in ("__import__", "importlib.import_module") and node.args and \
                isinstance(node.args[0], ast.Constant) and str(node.args[0].value).split(".")[0] in _GRADER:
            self.found.append(f"imports the grader (`{node.args[0].value}`)")
        self.generic_visit(node)

    def _function(self, node):
        if node.name == "__eq__" and _always_true(node):
            self.found.append("defines an `__eq__` that is True whatever it is compared with")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_ClassDef(self, node):
        self.depth += 1
        for item in node.body:      # `__eq__ = lambda self, other: True`
            if isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "__eq__" for t in item.targets) \
                    and isinstance(item.value, ast.Lambda) and _is_true(item.value.body):
                self.found.append("defines an `__eq__` that is True whatever it is compared with")
        self.generic_visit(node)
        self.depth -= 1


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _always_true(fn) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(n.value is not None and _is_true(n.value) for n in returns)


def scan(cells: list[tuple[str, str]]) -> list[str]:
    """Findings in ``cells`` (``(label, source)`` of each cell the student wrote), in order.

    Cells that do not parse are skipped (they fail when they run); IPython's ``%`` and ``!`` lines are
    ignored.
    """
    aliases: dict = {}
    findings = []
    for label, source in cells:
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        scanner = _Scanner(aliases)
        scanner.visit(tree)
        findings += [f"{label}: {what}" for what in dict.fromkeys(scanner.found)]
    return findings
