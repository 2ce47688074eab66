"""The one format of what a graded kernel records and the grader reads back: plain data, never an
instruction. This module runs on both sides of the trust boundary (the kernel writes, the grader reads)
and imports nothing else from ``autograder``.

The format is JSON for structure and one ``.npz`` for arrays, never pickle. A value is a number, a
string, None, a list, a tuple, a dict with string keys, a NumPy array, a torch tensor, a SciPy sparse
matrix (kept as CSR: its three arrays and its shape) or one of the few elvkit dataclasses in
:data:`DATACLASSES`; anything else is recorded by its type name only.
:func:`decode` rebuilds exactly that closed set and nothing else (a record cannot name a module to
import or a function to call), and :func:`parse_record` bounds its size *after* decompression.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["encode", "decode", "write_record", "read_record", "parse_record", "cell_key", "Other", "RecordError",
           "HIDDEN_DIR_VARIABLE", "DATACLASSES", "tensor_storage", "RecordTooLarge", "MAX_RECORD_BYTES", "MAX_JSON_BYTES"]

HIDDEN_DIR_VARIABLE = "ELVKIT_HIDDEN_DIR"
#: the most array data one record may hold once decompressed (a student's function could return anything)
MAX_RECORD_BYTES = 256 * 2**20
#: the largest JSON part of a record, and the deepest nesting of values in it
MAX_JSON_BYTES = 16 * 2**20
MAX_DEPTH = 24
MAX_ARRAYS = 4096


def _calibration():
    from elvkit.geometry import StereoCalibration

    return StereoCalibration


#: the only structured types a record may hold: name -> (the class, as the grader imports it; field -> types)
DATACLASSES = {
    "StereoCalibration": (_calibration, {"focal": (int, float), "cx": (int, float), "cy": (int, float),
                                         "baseline": (int, float), "doffs": (int, float), "units": (str,)}),
}


class RecordError(ValueError):
    """A record that is not what the kernel writes: damaged, forged, or too large."""


class RecordTooLarge(RecordError):
    """A record whose arrays hold more than the bytes the reader allows."""


@dataclasses.dataclass(frozen=True)
class Other:
    """A returned value that is not plain data; only its type is known to the grader."""

    type_name: str


def _torch():
    import sys

    return sys.modules.get("torch")     # only when the notebook has imported torch itself


def _is_tensor(x) -> bool:
    torch = _torch()
    return torch is not None and torch.is_tensor(x)


def _is_sparse(x) -> bool:
    import sys

    sparse = sys.modules.get("scipy.sparse")     # only when the notebook has imported SciPy's sparse matrices
    return sparse is not None and sparse.issparse(x)


def tensor_storage(dtype) -> str | None:
    """How a tensor of the torch ``dtype`` is kept in a record: the name of the NumPy dtype its values are stored
    as, or None for a dtype the record keeps by its name only (quantised, bit-packed and sub-byte dtypes).

    The one rule both sides use: :func:`encode` stores a tensor as this dtype and names its own; :func:`decode`
    accepts exactly the dtype names this rule stores, so the recorder never writes what the grader refuses.
    Floating dtypes NumPy lacks (bfloat16, float8) are stored as float32, complex32 as complex64: exact widenings.
    """
    torch = _torch()
    if torch is None or not isinstance(dtype, torch.dtype):
        return None
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex128" if dtype == torch.complex128 else "complex64"
    if dtype.is_floating_point:
        if dtype in (torch.float16, torch.float32, torch.float64):
            return str(dtype).replace("torch.", "")
        return "float32" if dtype.itemsize <= 2 else None
    name = str(dtype).replace("torch.", "")
    if name in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        return name
    return None


# ----------------------------------------------------------------------------------------------
# encoding (the kernel) and decoding (the grader)

def encode(value, arrays: dict):
    """``value`` as JSON-ready data; arrays go into ``arrays`` (name -> ndarray)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return {"$number": repr(float(value)), "type": "float"}     # np.float64 is a float; its repr is not
        return {"$number": float(value) if isinstance(value, float) else int(value), "type": type(value).__name__}
    if isinstance(value, np.generic):
        return encode(np.asarray(value), arrays)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {"$other": f"numpy array of dtype {value.dtype}"}
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, order="C")
        return {"$array": key}
    if _is_tensor(value):
        torch = _torch()
        t = value.detach()
        storage = tensor_storage(t.dtype)
        if storage is None or t.layout != torch.strided:
            return {"$other": f"tensor of dtype {t.dtype} and layout {t.layout}"}
        stored = getattr(torch, storage)
        key = f"a{len(arrays)}"
        arrays[key] = np.array(t.cpu().to(stored).numpy(), order="C")
        return {"$tensor": key, "dtype": str(t.dtype).replace("torch.", ""), "device": str(value.device)}
    if _is_sparse(value):
        try:
            csr = value.tocsr()
        except Exception:  # a sparse type that cannot be converted (a student's subclass): its type only
            return {"$other": type(value).__name__}
        if csr.dtype.kind not in "biuf" or len(csr.shape) != 2:
            return {"$other": f"sparse matrix of dtype {csr.dtype}"}
        keys = []
        for part in (csr.data, csr.indices, csr.indptr):
            keys.append(f"a{len(arrays)}")
            arrays[keys[-1]] = np.array(part, order="C")
        return {"$sparse": keys, "shape": [int(n) for n in csr.shape], "format": type(value).__name__[:40]}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"$list": [encode(v, arrays) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: encode(v, arrays) for k, v in value.items()}}
    name = type(value).__name__
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and name in DATACLASSES \
            and type(value) is DATACLASSES[name][0]():
        return {"$dataclass": name, "fields": {f.name: encode(getattr(value, f.name), arrays)
                                               for f in dataclasses.fields(value)}}
    return {"$other": name}


def decode(data, arrays: dict, *, device=None, _depth: int = 0):
    """The inverse of :func:`encode`, for the closed set of value types only.

    Tensors are rebuilt on ``device`` when they were on an accelerator (the kernel passes
    ``elvkit.device()``), on the CPU otherwise. Anything that is not one of the recorded value
    types raises :class:`RecordError`; nothing named by the record is imported or called.
    """
    if _depth > MAX_DEPTH:
        raise RecordError(f"values nested deeper than {MAX_DEPTH} levels")
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, (int, float)):           # plain JSON numbers (older records, dict keys' values)
        return data
    if not isinstance(data, dict) or len(data) > 3:
        raise RecordError(f"an unsupported entry of type {type(data).__name__}")
    nested = _depth + 1
    if "$number" in data:
        v = data["$number"]
        if isinstance(v, str) and v in ("inf", "-inf", "nan"):
            return float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RecordError("a number entry that is not a number")
        return v
    if "$array" in data:
        return np.array(_array(arrays, data["$array"]))
    if "$tensor" in data:
        import torch

        name = data.get("dtype")
        want = getattr(torch, name, None) if isinstance(name, str) and name.isidentifier() else None
        storage = tensor_storage(want)
        if storage is None:
            raise RecordError(f"a tensor entry with a dtype the recorder never writes ({str(name)[:40]!r})")
        stored = _array(arrays, data["$tensor"])
        if stored.dtype != np.dtype(storage):
            raise RecordError(f"a {name} tensor stored as {stored.dtype}, where the recorder stores {storage}")
        t = torch.from_numpy(np.array(stored)).to(want)
        where = data.get("device", "cpu")
        if device is not None and isinstance(where, str) and where != "cpu":
            t = t.to(device)
        return t
    if "$sparse" in data:
        return _sparse(data, arrays)
    if "$tuple" in data:
        return tuple(decode(v, arrays, device=device, _depth=nested) for v in _items(data["$tuple"]))
    if "$list" in data:
        return [decode(v, arrays, device=device, _depth=nested) for v in _items(data["$list"])]
    if "$dict" in data:
        entries = data["$dict"]
        if not isinstance(entries, dict):
            raise RecordError("a dict entry that is not a mapping")
        return {str(k): decode(v, arrays, device=device, _depth=nested) for k, v in entries.items()}
    if "$dataclass" in data:
        return _dataclass(data, arrays, device, nested)
    if "$other" in data:
        return Other(str(data["$other"])[:200])
    raise RecordError(f"an unknown record entry {sorted(map(str, data))[:3]}")


def _items(value) -> list:
    if not isinstance(value, list):
        raise RecordError("a sequence entry that is not a list")
    return value


def _array(arrays: dict, key) -> np.ndarray:
    if not isinstance(key, str) or key not in arrays:
        raise RecordError(f"a reference to an array that the record does not hold ({str(key)[:40]!r})")
    return arrays[key]


def _sparse(data: dict, arrays: dict):
    """A SciPy CSR matrix rebuilt from its three arrays, each checked (lengths, ranges, order) before SciPy sees
    them: a forged record cannot make it read outside an array or allocate more than its arrays hold."""
    import scipy.sparse as sp

    keys, shape = data["$sparse"], data.get("shape")
    if not (isinstance(keys, list) and len(keys) == 3 and isinstance(shape, list) and len(shape) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**31 for n in shape)):
        raise RecordError("a sparse matrix entry without its three arrays and a shape of two sizes")
    values, indices, indptr = (_array(arrays, k) for k in keys)
    if values.dtype.kind not in "biuf" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise RecordError("a sparse matrix whose arrays have the wrong dtypes")
    n, m = shape
    if not (values.ndim == indices.ndim == indptr.ndim == 1 and len(indptr) == n + 1 and len(values) == len(indices)):
        raise RecordError("a sparse matrix whose arrays do not fit its shape")
    indptr = indptr.astype(np.int64)
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise RecordError("a sparse matrix whose row pointers are not increasing from 0 to its number of entries")
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= m):
        raise RecordError("a sparse matrix with a column index outside its shape")
    kind = sp.csr_array if str(data.get("format", "")).endswith("_array") else sp.csr_matrix
    return kind((values, indices.astype(np.int64), indptr), shape=(n, m))


def _dataclass(data: dict, arrays: dict, device, depth: int):
    """One of :data:`DATACLASSES`, built by the grader from validated fields."""
    name = data["$dataclass"]
    if not isinstance(name, str) or name not in DATACLASSES:
        raise RecordError(f"a structured value of a type the grader does not rebuild ({str(name)[:60]!r})")
    make, types = DATACLASSES[name]
    fields = data.get("fields")
    if not isinstance(fields, dict) or not set(fields) <= set(types):
        raise RecordError(f"a {name} with fields other than {', '.join(types)}")
    values = {}
    for key, raw in fields.items():
        value = decode(raw, arrays, device=device, _depth=depth)
        if isinstance(value, bool) or not isinstance(value, types[key]):
            raise RecordError(f"{name}.{key} must be {' or '.join(t.__name__ for t in types[key])}")
        values[key] = value
    try:
        return make()(**values)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"an invalid {name}: {exc}") from None


# ----------------------------------------------------------------------------------------------
# files

def write_record(path: Path, payload: dict, arrays: dict) -> None:
    """``path``.json with the structure and ``path``.npz with the arrays."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".npz"), "wb") as fh:
        np.savez(fh, **arrays)
    path.with_suffix(".json").write_text(json.dumps(payload), encoding="utf-8")


def read_record(path: Path, *, max_bytes: int = MAX_RECORD_BYTES) -> tuple[dict, dict]:
    """Read a record written by :func:`write_record`; see :func:`parse_record`."""
    path = Path(path)
    js, npz = path.with_suffix(".json"), path.with_suffix(".npz")
    for f in (js, npz):
        limit = MAX_JSON_BYTES if f is js else max_bytes
        if f.stat().st_size > limit:
            raise RecordError(f"{f.name} is {f.stat().st_size / 2**20:.0f} MB (at most {limit / 2**20:.0f} MB "
                              "are read)")
    return parse_record(js.read_bytes(), npz.read_bytes(), max_bytes=max_bytes)


def parse_record(json_bytes: bytes, npz_bytes: bytes, *, max_bytes: int = MAX_RECORD_BYTES) -> tuple[dict, dict]:
    """A record's structure and arrays from its two files' bytes, without unpickling anything.

    Every array's size is checked from its header before it is decompressed, and decompression
    stops at the size the header declares: a small compressed file cannot expand beyond
    ``max_bytes`` in this process.

    Raises
    ------
    RecordError
        For anything that is not a record as the kernel writes it (with the reason).
    """
    if len(json_bytes) > MAX_JSON_BYTES:
        raise RecordError(f"the structure is {len(json_bytes) / 2**20:.0f} MB (at most "
                          f"{MAX_JSON_BYTES / 2**20:.0f} MB)")
    try:
        payload = json.loads(json_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecordError(f"the structure is not JSON ({type(exc).__name__})") from None
    return payload, _read_npz(npz_bytes, max_bytes)


def _read_npz(data: bytes, budget: int) -> dict:
    from numpy.lib import format as npformat

    if len(data) > budget:
        raise RecordTooLarge(f"the arrays' file is {len(data) / 2**20:.0f} MB (at most {budget / 2**20:.0f} MB)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RecordError("the arrays' file is not an .npz archive") from None
    arrays, left = {}, budget
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ARRAYS:
            raise RecordError(f"the arrays' file holds {len(members)} arrays (at most {MAX_ARRAYS})")
        for info in members:
            if not info.filename.endswith(".npy"):
                raise RecordError(f"the arrays' file holds {info.filename[:60]!r}, which is not an array")
            try:
                with archive.open(info) as fh:
                    version = npformat.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = npformat.read_array_header_1_0(fh, max_header_size=10_000)
                    elif version == (2, 0):
                        shape, fortran, dtype = npformat.read_array_header_2_0(fh, max_header_size=10_000)
                    else:
                        raise RecordError("an array with an unknown header version")
                    if dtype.hasobject or dtype.kind not in "biufc":
                        raise RecordError("an array of Python objects (a pickle), which the grader never reads")
                    if any(not isinstance(n, int) or n < 0 for n in shape):
                        raise RecordError("an array with an invalid shape")
                    nbytes = math.prod(shape) * dtype.itemsize
                    if nbytes > left:
                        raise RecordTooLarge(f"the arrays hold more than {budget / 2**20:.0f} MB once decompressed")
                    left -= nbytes
                    raw = fh.read(nbytes)
                    if len(raw) != nbytes or fh.read(1):
                        raise RecordError(f"array {info.filename[:60]!r} does not hold what its header says")
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                if isinstance(exc, RecordError):
                    raise
                raise RecordError(f"array {info.filename[:60]!r} is damaged ({type(exc).__name__})") from None
            array = np.frombuffer(raw, dtype=dtype)
            array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
            arrays[info.filename[:-4]] = np.array(array)
    return arrays


def cell_key(source: str) -> str:
    """How the kernel recognises a test cell: the digest of its source (test cells are restored from the
    release before the notebook runs, so their source is known to the grader)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()

