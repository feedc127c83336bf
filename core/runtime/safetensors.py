"""Reading .safetensors files with numpy alone: an 8-byte little-endian header length, a JSON header
(name -> dtype, shape, byte range; "__metadata__" -> strings), then the raw little-endian arrays."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..errors import GenAnimError

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "BOOL": "?"}


def read_safetensors(path: str | Path, what: str = "safetensors file") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(arrays, metadata) of a .safetensors file; GenAnimError naming the file if it is not `what`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GenAnimError(f"{path}: cannot read weights ({e.strerror or e})") from None
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])
        meta = header.pop("__metadata__", None) or {}
        base = 8 + size
        arrays = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            if not 0 <= begin <= end <= len(data) - base:
                raise ValueError(f"{name} lies outside the file")
            raw = np.frombuffer(data, np.uint8, end - begin, base + begin)
            if info["dtype"] == "BF16":  # the high half of a float32
                arr = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                arr = raw.view(DTYPES[info["dtype"]])
            arrays[name] = arr.reshape(info["shape"]).copy()  # aligned and writable
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise GenAnimError(f"{path}: not a {what} ({e})") from None
    return arrays, meta
