"""How routing is learnt: the held-out sets' top-k routing and loss at each milestone checkpoint of the run.

Run: /usr/bin/python3 training/routing_history.py            (after or during train.py; adds the milestones not yet recorded)
     /usr/bin/python3 training/routing_history.py --previous models/mixscope-tiny/model.safetensors
                                                              (held-out losses of a shipped model, for comparison)

Reads training/work/run/milestones/step-NNNNNN.pt (1, 2, 5, 10, 25, 50 and 100% of the run) and writes
training/data/routing-history/ (committed; the weights are not):
    step-NNNNNN.bin   uint8, shape (domains, layers, TOKENS, K): for the first TOKENS tokens of each
                      held-out set, each layer's top-K experts, first choice first
    index.json        domains (in the order of the .bin files), layers, K, experts, TOKENS, the token ids,
                      and per checkpoint: step, percent of the run, tokens trained, file, held-out loss
                      per domain (nats/token over the whole held-out set, as training/evaluate.py computes it)
With --previous: training/data/routing-history/previous-model.json, the same losses for that model.

Every checkpoint is evaluated with its weights rounded to F16, as the shipped model is, so the last
one routes exactly as models/mixscope-tiny does. Tokens are read in windows of WINDOW, each after <s>,
as evaluate.py reads them. From these files a notebook computes the OLMoE paper's router saturation
(per layer, the share of the final checkpoint's top-k choices already made at checkpoint t, and
first-choice agreement) and each expert's share of each domain over training.
"""
import argparse
import glob
import json
import os

import numpy as np
import sentencepiece as spm
import torch

import fastenv
from mixtral import Mixtral
from train import RUN, MODEL_DIR, HERE

OUT = os.path.join(HERE, "data", "routing-history")
TOKENS = 1024  # per domain: 6 domains x 6 layers x 1024 x 2 bytes = 72 KiB per checkpoint
WINDOW = 256


def heldout_ids(sp):
    base = os.path.join(HERE, "data", "heldout")
    return {f[:-4]: sp.encode(open(os.path.join(base, f), encoding="utf-8").read()) for f in sorted(os.listdir(base))}


def f16_model(cfg, state):
    model = Mixtral(cfg)
    model.load_state_dict(state)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model.eval()


@torch.no_grad()
def heldout_loss(model, ids, batch=16):
    """Mean cross-entropy over the whole text: windows of WINDOW predictions, <s> first (as evaluate.py),
    the full windows `batch` at a time."""
    windows = [[1] + ids[s:s + WINDOW] for s in range(0, len(ids) - 1, WINDOW)]
    total, n = 0.0, 0
    full = [w for w in windows if len(w) == WINDOW + 1]
    groups = [full[i:i + batch] for i in range(0, len(full), batch)] + [[w] for w in windows if len(w) != WINDOW + 1]
    for g in groups:
        x = torch.tensor(g)
        logits, _ = model(x[:, :-1])
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
        n += x[:, 1:].numel()
    return total / n


@torch.no_grad()
def topk_routing(model, ids, K):
    """(layers, len(ids), K) expert ids for ids read in windows of WINDOW after <s> (whose routing is dropped)."""
    per_layer = None
    for s in range(0, len(ids), WINDOW):
        _, router = model(torch.tensor([[1] + ids[s:s + WINDOW]]))
        top = [r.softmax(-1).topk(K, -1).indices[1:] for r in router]  # (window, K) per layer
        per_layer = top if per_layer is None else [torch.cat([a, b]) for a, b in zip(per_layer, top)]
    return torch.stack(per_layer).numpy().astype(np.uint8)


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file of F16/F32 tensors."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F16": np.float16, "F32": np.float32}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dtypes[t["dtype"]]).astype(np.float32).reshape(t["shape"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=RUN)
    ap.add_argument("--previous", help="a shipped model.safetensors: write its held-out losses to previous-model.json")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    fastenv.reexec()
    torch.set_num_threads(args.threads)
    os.makedirs(OUT, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    held = heldout_ids(sp)
    domains = sorted(held)

    if args.previous:
        cfg = json.load(open(os.path.join(os.path.dirname(args.previous), "config.json")))
        model = f16_model(cfg, read_safetensors(args.previous))
        res = {"model": os.path.relpath(args.previous, os.path.join(HERE, "..")),
               "heldout_loss": {d: round(heldout_loss(model, held[d]), 4) for d in domains}}
        with open(os.path.join(OUT, "previous-model.json"), "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(json.dumps(res))
        return

    index_path = os.path.join(OUT, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else None
    for path in sorted(glob.glob(os.path.join(args.run, "milestones", "step-*.pt"))):
        ck = torch.load(path)
        cfg, s, step = ck["config"], ck["schedule"], ck["step"]
        K, L = cfg["num_experts_per_tok"], cfg["num_hidden_layers"]
        if index is None:
            index = {"how": "training/routing_history.py", "domains": domains, "layers": L, "k": K,
                     "experts": cfg["num_local_experts"], "tokens_per_domain": TOKENS, "window": WINDOW,
                     "layout": "uint8 (domains, layers, tokens_per_domain, k), first choice first",
                     "token_ids": {d: held[d][:TOKENS] for d in domains},
                     "run": {k: s[k] for k in ("steps", "batch", "context", "lr", "warmup", "min_lr_ratio", "mix")},
                     "checkpoints": []}
        name = f"step-{step:06d}.bin"
        if any(c["file"] == name for c in index["checkpoints"]):
            continue
        model = f16_model(cfg, ck["model"])
        routing = np.stack([topk_routing(model, held[d][:TOKENS], K) for d in domains])  # (domains, L, TOKENS, K)
        routing.tofile(os.path.join(OUT, name))
        rec = {"step": step, "percent": round(100 * step / s["steps"], 2), "tokens_trained": step * s["batch"] * s["context"],
               "file": name, "heldout_loss": {d: round(heldout_loss(model, held[d]), 4) for d in domains}}
        index["checkpoints"] = sorted(index["checkpoints"] + [rec], key=lambda c: c["step"])
        with open(index_path, "w") as f:
            json.dump(index, f, separators=(",", ":"))
            f.write("\n")
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
