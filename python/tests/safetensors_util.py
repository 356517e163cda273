"""A minimal safetensors reader for tests (F32 only, stdlib)."""

import array
import json
import struct


def read_f32(path):
    """Return {name: (shape, array('f'))} for the F32 tensors of a file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        a = array.array("f")
        a.frombytes(data[start:end])
        out[name] = (info["shape"], a)
    return out
