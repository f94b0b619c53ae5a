"""Read and write phased-dmd's files with numpy only (no PyTorch, no safetensors package).

    meta, tensors = read_safetensors("student.safetensors")    # checkpoints and exports
    meta, tensors = read_tfjs("site/student")                   # a tfjs export directory
    write_safetensors("teacher.safetensors", tensors, {"note": "from PyTorch"})

Tensors are float32 numpy arrays keyed by name. In a phased-dmd file every __metadata__
value except `format`, `format_version` and `sha256` is JSON text; read_* decodes them.
"""
import json
import os
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
_RAW = ("format", "format_version", "sha256")


def _decode_meta(metadata):
    return {k: (v if k in _RAW else json.loads(v)) for k, v in metadata.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    meta = _decode_meta(header.pop("__metadata__", {}))
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        if e["dtype"] == "BF16":
            raw = np.frombuffer(body[begin:end], dtype="<u2").astype(np.uint32) << 16
            tensors[name] = raw.view(np.float32).reshape(e["shape"])
        else:
            dtype = np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<")
            tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).astype(np.float32).reshape(e["shape"])
    return meta, tensors


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> array (written as little-endian float32, in the dict's order)."""
    header = {"__metadata__": {k: str(v) for k, v in (metadata or {}).items()}}
    blobs, offset = [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_tfjs(directory):
    with open(os.path.join(directory, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    tensors = {}
    for group in model["weightsManifest"]:
        body = b"".join(open(os.path.join(directory, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"], dtype=np.int64))
            tensors[w["name"]] = np.frombuffer(body, dtype="<f4", count=count, offset=offset).reshape(w["shape"])
            offset += 4 * count
    return model["userDefinedMetadata"]["phasedDmd"], tensors
