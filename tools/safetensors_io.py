"""A small safetensors writer and reader for the case generators (no dependency on the
safetensors package; needs only torch). Shared by tools/gen_attention_cases.py and
tools/gen_network_cases.py.

Format (spec section 1): 8 bytes little-endian header length N, N bytes of UTF-8 JSON header
(padded with spaces to a multiple of 8 here), then the raw little-endian data.

dtypes: F32, F16, BF16, I64, I32, BOOL, U8. The reader goes through numpy (bit-exact, and fast
enough for the 300 MB shapes dataset); the writer's F32/I64/I32/BOOL/U8 bytes are unchanged
from the first version (the case generators are byte-reproducible).
"""

import json
import struct

import numpy as np
import torch

DTYPES = {  # torch dtype -> (safetensors name, element size)
    torch.float32: ("F32", 4),
    torch.float16: ("F16", 2),
    torch.bfloat16: ("BF16", 2),
    torch.int64: ("I64", 8),
    torch.int32: ("I32", 4),
    torch.bool: ("BOOL", 1),
    torch.uint8: ("U8", 1),
}
FROM_NAME = {name: dt for dt, (name, _) in DTYPES.items()}
FROM_NAME_INV = {dt: name for dt, (name, _) in DTYPES.items()}
_INT_FMT = {torch.int64: "q", torch.int32: "i"}
_NP_FMT = {torch.float32: "<f4", torch.float16: "<f2", torch.bfloat16: "<i2",
           torch.int64: "<i8", torch.int32: "<i4", torch.bool: "u1", torch.uint8: "u1"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.float32:
        vals = t.reshape(-1).tolist()
        return struct.pack("<%df" % len(vals), *vals)
    if t.dtype in _INT_FMT:
        vals = t.reshape(-1).tolist()
        return struct.pack("<%d%s" % (len(vals), _INT_FMT[t.dtype]), *vals)
    if t.dtype in (torch.bool, torch.uint8):
        return t.to(torch.uint8).numpy().tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its 16 bits as an int16
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    raise TypeError("unsupported dtype %s" % t.dtype)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, tensor). Wider dtypes first so every tensor is aligned."""
    names = [n for n, _ in tensors]
    assert len(set(names)) == len(names), "duplicate tensor name"
    order = sorted(tensors, key=lambda nt: -DTYPES[nt[1].dtype][1])  # stable sort
    header = {}
    blobs = []
    offset = 0
    for name, t in order:
        dname, size = DTYPES[t.dtype]
        data = tensor_bytes(t)
        assert len(data) == t.numel() * size
        assert offset % size == 0
        header[name] = {"dtype": dname, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        header["__metadata__"] = metadata
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * ((-len(hdr)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns ({name: tensor}, metadata). Strict: checks every offset and size."""
    with open(path, "rb") as f:
        raw = f.read()
    assert len(raw) >= 8
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw) and n % 8 == 0
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", None)
    out = {}
    spans = []
    for name, info in header.items():
        dt = FROM_NAME[info["dtype"]]
        shape = info["shape"]
        b, e = info["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        assert 0 <= b <= e <= len(data) and e - b == count * DTYPES[dt][1], name
        spans.append((b, e))
        a = np.frombuffer(data, dtype=_NP_FMT[dt], count=count, offset=b)
        if dt == torch.bfloat16:
            t = torch.from_numpy(a.astype(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")))  # a native copy
            if dt == torch.bool:
                assert bool((t <= 1).all()), "BOOL tensor %s holds a value > 1" % name
                t = t.to(torch.bool)
        out[name] = t.reshape(shape)
    spans.sort()
    for (b0, e0), (b1, e1) in zip(spans, spans[1:]):
        assert e0 <= b1, "overlapping tensors in %s" % path
    assert (spans[-1][1] if spans else 0) == len(data), "trailing bytes in %s" % path
    return out, metadata


def same(a, b):
    """Exact equality (bitwise for floats, NaN-free here)."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def shape_str(t):
    return "[" + ",".join(str(x) for x in t.shape) + "]"


def write_case_files(directory, files, max_bytes):
    """Writes [(file name, [(tensor name, tensor)], metadata or None)] into `directory`, reads
    each back and checks it holds exactly what was written, and that it stays small."""
    import os
    for fname, ts, md in files:
        path = os.path.join(directory, fname)
        write_safetensors(path, ts, md)
        back, back_md = read_safetensors(path)
        assert sorted(back) == sorted(n for n, _ in ts), path
        for n, t in ts:
            assert same(back[n], t), (path, n)
        assert back_md == md, path
        assert os.path.getsize(path) <= max_bytes, (path, os.path.getsize(path))
