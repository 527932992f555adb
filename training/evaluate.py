"""Evaluate the exported default model for its model card.

Run: /usr/bin/python3 training/evaluate.py   (after export.py)
Writes training/work/eval.json and models/mixscope-tiny/training-curve.svg:
held-out loss and perplexity per domain against a unigram baseline, expert utilisation per layer
and domain (first and second choice), sample generations at temperature 0 and 0.8.
"""
import json
import math
import os

import numpy as np
import sentencepiece as spm
import torch

import fastenv
from run_log import read_log
from export import load_f16_model, greedy, PROMPTS, MODEL_DIR, HERE

CONTEXT = 256


@torch.no_grad()
def heldout_stats(model, ids, E):
    """Loss over the whole held-out text in windows of CONTEXT, and routing counts per layer."""
    total, n = 0.0, 0
    L = len(model.model.layers)
    first = np.zeros((L, E), dtype=np.int64)
    second = np.zeros((L, E), dtype=np.int64)
    for s in range(0, len(ids) - 1, CONTEXT):
        x = torch.tensor([[1] + ids[s:s + CONTEXT]])
        logits, router = model(x[:, :-1])
        total += torch.nn.functional.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        n += x.shape[1] - 1
        for l, r in enumerate(router):
            top = r.softmax(-1).topk(2, -1).indices
            first[l] += np.bincount(top[:, 0].numpy(), minlength=E)
            second[l] += np.bincount(top[:, 1].numpy(), minlength=E)
    return total / n, first, second, n


@torch.no_grad()
def sample(model, ids, n, temperature, seed):
    g = torch.Generator().manual_seed(seed)
    ids = list(ids)
    for _ in range(n):
        logits, _ = model(torch.tensor([ids]))
        p = (logits[0, -1] / temperature).softmax(-1)
        ids.append(int(torch.multinomial(p, 1, generator=g)))
    return ids


def svg_curve(log, path):
    pts = [(r["step"], r["loss"]) for r in log]
    held = [(r["step"], sum(r["heldout"].values()) / len(r["heldout"])) for r in log if "heldout" in r]
    W, H, m = 640, 320, 48
    xmax = max(p[0] for p in pts)
    ymin, ymax = 0, math.ceil(max(p[1] for p in pts))
    X = lambda s: m + (W - 2 * m) * s / xmax
    Y = lambda v: H - m - (H - 2 * m) * (v - ymin) / (ymax - ymin)
    line = lambda ps: " ".join(f"{X(s):.1f},{Y(v):.1f}" for s, v in ps)
    ticks = "".join(f'<line x1="{m}" x2="{W - m}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#ddd"/><text x="{m - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v}</text>' for v in range(ymin, ymax + 1))
    xt = "".join(f'<text x="{X(s):.1f}" y="{H - m + 16}" text-anchor="middle">{s}</text>' for s in range(0, xmax + 1, max(1, xmax // 5)))
    svg = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>{ticks}{xt}
<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="{line(pts)}"/>
<polyline fill="none" stroke="#D55E00" stroke-width="2" points="{line(held)}"/>
<text x="{W / 2}" y="{H - 8}" text-anchor="middle">training step</text>
<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" text-anchor="middle">cross-entropy (nats/token)</text>
<text x="{W - m}" y="{m - 20}" text-anchor="end" fill="#0072B2">training batch loss</text>
<text x="{W - m}" y="{m - 6}" text-anchor="end" fill="#D55E00">held-out loss (mean over domains)</text>
</svg>'''
    with open(path, "w") as f:
        f.write(svg)


def main():
    fastenv.reexec()
    torch.set_num_threads(2)
    model, ck = load_f16_model()
    cfg = ck["config"]
    E, V = cfg["num_local_experts"], cfg["vocab_size"]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    domains = sorted(f[:-4] for f in os.listdir(os.path.join(HERE, "data", "heldout")))
    result = {"step": ck["step"], "train_seconds": ck["elapsed"], "train_cpu_seconds": ck.get("cpu"),
              "schedule": ck.get("schedule"), "domains": {}, "pooled": {}}
    L = cfg["num_hidden_layers"]
    pooled_first = np.zeros((L, E), dtype=np.int64)
    for d in domains:
        with open(os.path.join(HERE, "data", "heldout", f"{d}.txt"), encoding="utf-8") as f:
            ids = sp.encode(f.read())
        loss, first, second, n = heldout_stats(model, ids, E)
        train = np.fromfile(os.path.join(HERE, "work", "tokens", f"{d}.bin"), dtype=np.uint16).astype(np.int64)
        counts = np.bincount(train, minlength=V) + 1  # add-one smoothing
        logp = np.log(counts / counts.sum())
        unigram = float(-logp[np.array(ids)].mean())
        pooled_first += first
        result["domains"][d] = {
            "tokens": n, "loss": loss, "perplexity": math.exp(loss), "unigram_loss": unigram, "unigram_perplexity": math.exp(unigram),
            "first_share": (first / first.sum(1, keepdims=True)).round(4).tolist(),
            "second_share": (second / second.sum(1, keepdims=True)).round(4).tolist(),
        }
        print(d, round(loss, 3), round(unigram, 3), flush=True)
    result["pooled"]["first_share"] = (pooled_first / pooled_first.sum(1, keepdims=True)).round(4).tolist()
    samples = {}
    for d, prompt in PROMPTS.items():
        ids = [1] + sp.encode(prompt)
        samples[d] = {"prompt": prompt,
                      "t0": sp.decode(greedy(model, ids, 48)[len(ids):]),
                      "t08": sp.decode(sample(model, ids, 48, 0.8, seed=42)[len(ids):])}
    result["samples"] = samples
    log, _ = read_log(os.path.join(HERE, "work", "run", "log.jsonl"))  # one record per step, resumed steps once
    result["log_tail"] = log[-1]
    svg_curve(log, os.path.join(MODEL_DIR, "training-curve.svg"))
    with open(os.path.join(HERE, "work", "eval.json"), "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
