"""A minimal safetensors writer and reader (the format is small; no package needed)."""
import json
import os
import struct
import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def to_bytes(t, dtype):
    t = t.to(DTYPES[dtype]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def tensor_bytes(t, dtype):
    return t.numel() * torch.finfo(DTYPES[dtype]).bits // 8


def write(path, tensors, dtype, order=None, metadata=None):
    """tensors: {name: float tensor}; order: names in the order their bytes are written."""
    names = order or list(tensors)
    header, blobs, offset = {}, [], 0
    for n in names:
        b = to_bytes(tensors[n], dtype)
        header[n] = {"dtype": dtype, "shape": list(tensors[n].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return 8 + len(h) + offset


def stored(t, dtype):
    """The values a reader sees after storing t as dtype, as float64."""
    return t.to(DTYPES[dtype]).to(torch.float64)


def read(path):
    """{name: float64 tensor} of a safetensors file (F32, F16 or BF16), and its {name: dtype}."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out, dtypes = {}, {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        buf = bytearray(data[b:e])
        if h["dtype"] == "BF16":
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16) if buf else torch.zeros(0, dtype=torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=DTYPES[h["dtype"]]) if buf else torch.zeros(0, dtype=DTYPES[h["dtype"]])
        out[name] = t.to(torch.float64).reshape(h["shape"])
        dtypes[name] = h["dtype"]
    return out, dtypes


def read_dir(d):
    """All tensors of a checkpoint folder: model.safetensors, or the shards named in model.safetensors.index.json."""
    index = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    W, dtypes = {}, {}
    for f in files:
        w, dt = read(os.path.join(d, f))
        W.update(w)
        dtypes.update(dt)
    return W, dtypes
