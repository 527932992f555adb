"""A minimal safetensors writer and reader (the format is small; no package needed)."""
import json
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
