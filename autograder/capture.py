"""Hidden checks, the kernel's half: call the student's function on the grader's inputs and record what
it returns. Nothing here decides a score.

When a notebook is graded, the grader writes each checked function's inputs to
``$ELVKIT_HIDDEN_DIR/in/<name>.json`` (+ ``.npz``) before the notebook runs.
The hidden test cell calls :func:`check`, which runs the student's function on
every input and writes what came back to ``$ELVKIT_HIDDEN_DIR/out/<name>.json``
(+ ``.npz``). The grader, in its own process, reads those arrays (never with
pickle), computes the reference on the same inputs and compares
(:func:`autograder.hidden.judge`): whatever the student's code does to numpy,
torch or this module inside the kernel, it cannot change the comparison.

The format is plain data: JSON for structure, one ``.npz`` for arrays. Values
are numbers, strings, None, lists, tuples, dicts with string keys, NumPy arrays,
torch tensors and elvkit dataclasses (``StereoCalibration``); anything else a
student's function returns is recorded by its type name only.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["check", "encode", "decode", "write_record", "read_record", "call_cases", "HIDDEN_DIR_VARIABLE"]

HIDDEN_DIR_VARIABLE = "ELVKIT_HIDDEN_DIR"
#: largest record the grader reads back (a student's function could return anything)
MAX_RECORD_BYTES = 256 * 1024 * 1024
_MAX_ERROR = 400


def _is_tensor(x) -> bool:
    torch = _torch()
    return torch is not None and torch.is_tensor(x)


def _torch():
    import sys

    return sys.modules.get("torch")     # only when the notebook has imported torch itself


def encode(value, arrays: dict):
    """``value`` as JSON-ready data; arrays go into ``arrays`` (name -> ndarray)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"$number": float(value) if isinstance(value, float) else int(value),
                "type": type(value).__name__}
    if isinstance(value, np.generic):
        return encode(np.asarray(value), arrays)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {"$other": f"numpy array of dtype {value.dtype}"}
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, order="C")
        return {"$array": key, "dtype": str(value.dtype)}
    if _is_tensor(value):
        t = value.detach()
        dtype = str(t.dtype).replace("torch.", "")
        if t.dtype.is_complex or t.dtype.is_floating_point and t.element_size() < 4:
            t = t.to(_torch().complex128 if t.dtype.is_complex else _torch().float32)
        key = f"a{len(arrays)}"
        arrays[key] = np.array(t.cpu().numpy(), order="C")
        return {"$tensor": key, "dtype": dtype, "device": str(value.device)}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"$list": [encode(v, arrays) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: encode(v, arrays) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type) \
            and type(value).__module__.split(".")[0] == "elvkit":
        fields = {f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
        return {"$dataclass": f"{type(value).__module__}:{type(value).__qualname__}", "fields": fields}
    return {"$other": type(value).__name__}


def decode(data, arrays, *, device=None):
    """The inverse of :func:`encode`. Tensors are rebuilt on ``device`` when they were on an accelerator
    (the kernel passes ``elvkit.device()``), on the CPU otherwise; unknown types stay descriptions."""
    if not isinstance(data, dict):
        return data
    if "$number" in data:
        return data["$number"]
    if "$array" in data:
        return np.array(arrays[data["$array"]])
    if "$tensor" in data:
        import torch

        t = torch.from_numpy(np.array(arrays[data["$tensor"]]))
        want = getattr(torch, data.get("dtype", ""), None)
        if isinstance(want, torch.dtype) and t.dtype != want:
            t = t.to(want)
        if device is not None and data.get("device", "cpu") != "cpu":
            t = t.to(device)
        return t
    if "$tuple" in data:
        return tuple(decode(v, arrays, device=device) for v in data["$tuple"])
    if "$list" in data:
        return [decode(v, arrays, device=device) for v in data["$list"]]
    if "$dict" in data:
        return {k: decode(v, arrays, device=device) for k, v in data["$dict"].items()}
    if "$dataclass" in data:
        module, _, name = data["$dataclass"].partition(":")
        if module.split(".")[0] != "elvkit":
            raise ValueError(f"refusing to rebuild {data['$dataclass']}: only elvkit's dataclasses are inputs")
        cls = getattr(importlib.import_module(module), name)
        return cls(**{k: decode(v, arrays, device=device) for k, v in data["fields"].items()})
    if "$other" in data:
        return Other(data["$other"])
    raise ValueError(f"unknown record entry {sorted(data)}")


@dataclasses.dataclass(frozen=True)
class Other:
    """A returned value that is not plain data; only its type is known to the grader."""

    type_name: str


def write_record(path: Path, payload: dict, arrays: dict) -> None:
    """``path``.json with the structure and ``path``.npz with the arrays."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".npz"), "wb") as fh:
        np.savez(fh, **arrays)
    path.with_suffix(".json").write_text(json.dumps(payload), encoding="utf-8")


def read_record(path: Path) -> tuple[dict, dict]:
    """Read a record written by :func:`write_record` without unpickling anything; sizes are checked."""
    path = Path(path)
    js, npz = path.with_suffix(".json"), path.with_suffix(".npz")
    for f in (js, npz):
        if f.stat().st_size > MAX_RECORD_BYTES:
            raise ValueError(f"{f.name} is {f.stat().st_size / 2**20:.0f} MB (at most "
                             f"{MAX_RECORD_BYTES / 2**20:.0f} MB are read)")
    payload = json.loads(js.read_text(encoding="utf-8"))
    data = npz.read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return payload, arrays


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def call_cases(fn, cases: list, arrays_in: dict, arrays_out: dict, *, device=None) -> list:
    """Run ``fn`` on each encoded case; one entry per case: what it returned, or how it failed."""
    entries = []
    for case in cases:
        args = decode({"$list": case["args"]}, arrays_in, device=device)
        kwargs = decode({"$dict": case["kwargs"]}, arrays_in, device=device)
        try:
            value = fn(*args, **kwargs)
        except NotImplementedError:
            entries.append({"error": "NotImplementedError", "message": ""})
            continue
        except Exception as exc:  # the student's code crashed on this input: recorded, judged by the grader
            entries.append({"error": type(exc).__name__, "message": _short(exc)})
            continue
        try:
            entries.append({"returned": encode(value, arrays_out)})
        except Exception as exc:  # a value that cannot even be described
            entries.append({"returned": {"$other": f"{type(value).__name__} ({type(exc).__name__})"}})
    return entries


def _device():
    try:
        from elvkit import device
        return device()
    except Exception:
        return None


def check(assignment_id: str, name: str, student_fn) -> None:
    """Record what ``student_fn`` returns on the grader's hidden inputs for ``name``.

    Under the grader (``ELVKIT_HIDDEN_DIR`` set) this only records; the grader decides. Run by hand
    in the course repository (an instructor running the solution notebook), it compares with the
    reference at once and raises :class:`autograder.hidden.HiddenTestFailure` on a difference.
    """
    folder = os.environ.get(HIDDEN_DIR_VARIABLE)
    if not folder:
        try:
            from .hidden import self_check
        except ImportError:
            raise RuntimeError("hidden tests run only when the notebook is graded") from None
        self_check(assignment_id, name, student_fn)
        return
    folder = Path(folder)
    source = folder / "in" / f"{name}.json"
    if not source.is_file():
        raise RuntimeError(f"no hidden inputs for `{name}`: this cell runs only under the grader")
    if not callable(student_fn):
        write_record(folder / "out" / name, {"not_callable": type(student_fn).__name__}, {})
        print(f"`{name}` is not a function; the grader will report it.")
        return
    payload, arrays_in = read_record(folder / "in" / name)
    arrays_out: dict = {}
    entries = call_cases(student_fn, payload["cases"], arrays_in, arrays_out, device=_device())
    write_record(folder / "out" / name, {"assignment": assignment_id, "name": name, "cases": entries}, arrays_out)
    print(f"`{name}`: {len(entries)} hidden case(s) recorded; the grader compares them with the reference.")

