"""Figures for the model card and the release targets of issue 14, from files only:
training/data/routing-history/ (index.json, step-NNNNNN.bin, previous-model.json) and
training/work/eval.json (evaluate.py).

Router saturation and first-choice agreement are the OLMoE paper's (arXiv:2409.02060, eq. 5): at
checkpoint t, the mean over held-out tokens of |E_i(t) ∩ E_i(T)| / k, E_i the token's top-k
experts, T the last checkpoint in index.json; k = 2 (the model's top-k) and k = 1 (first choice).
engine/analysis/routing-history.ts computes the same for the notebook.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HISTORY = os.path.join(HERE, "data", "routing-history")

# The targets of issue 14.
LOSS_DOMAINS = ("english", "german", "python", "c")
LOSS_DROP = 0.5          # nats/token below the previous model, at least
SHARE_RANGE = (0.03, 0.35)  # first-choice share of every expert in every layer


def load_history(directory=HISTORY):
    """(index, {step: uint8 array (domains, layers, tokens, k)}), checked against index.json."""
    index = json.load(open(os.path.join(directory, "index.json")))
    shape = (len(index["domains"]), index["layers"], index["tokens_per_domain"], index["k"])
    routing = {}
    for c in index["checkpoints"]:
        path = os.path.join(directory, c["file"])
        a = np.fromfile(path, dtype=np.uint8)
        if a.size != np.prod(shape):
            raise ValueError(f"{path}: {a.size} bytes, expected {np.prod(shape)} = domains x layers x tokens x k {shape}")
        if a.max(initial=0) >= index["experts"]:
            raise ValueError(f"{path}: expert id {a.max()} is outside 0..{index['experts'] - 1}")
        routing[c["step"]] = a.reshape(shape)
    return index, routing


def saturation(at, final, k):
    """Per layer: mean over domains and tokens of |top-k(at) ∩ top-k(final)| / k (OLMoE eq. 5)."""
    a, f = at[..., :k], final[..., :k]
    common = (a[..., :, None] == f[..., None, :]).any(-1).sum(-1)  # (domains, layers, tokens)
    return common.mean(axis=(0, 2)) / k


def saturation_table(index, routing):
    """[{step, percent, tokens_trained, topk: [per layer], first: [per layer]}] against the last checkpoint."""
    steps = sorted(routing)
    final = routing[steps[-1]]
    by_step = {c["step"]: c for c in index["checkpoints"]}
    return [{"step": s, "percent": by_step[s]["percent"], "tokens_trained": by_step[s]["tokens_trained"],
             "topk": saturation(routing[s], final, index["k"]).tolist(), "first": saturation(routing[s], final, 1).tolist()}
            for s in steps]


def loss_comparison(previous, new):
    """[{domain, previous, new, drop}] for every domain of both, drop = previous - new (nats/token)."""
    return [{"domain": d, "previous": previous[d], "new": new[d], "drop": previous[d] - new[d]}
            for d in sorted(set(previous) & set(new))]


def share_ranges(first_share):
    """Per layer (min, max) of the experts' first-choice shares."""
    return [(min(row), max(row)) for row in first_share]


def targets(ev, previous):
    """The issue's measurable targets as [(name, passed, detail)], from eval.json and previous-model.json."""
    new = {d: v["loss"] for d, v in ev["domains"].items()}
    cmp = {r["domain"]: r for r in loss_comparison(previous["heldout_loss"], new)}
    out = []
    for d in LOSS_DOMAINS:
        if d not in cmp:
            out.append((f"held-out loss {d}", False, "no loss for this domain in eval.json or previous-model.json"))
            continue
        r = cmp[d]
        out.append((f"held-out loss {d} >= {LOSS_DROP} nats/token lower", r["drop"] >= LOSS_DROP,
                    f"{r['previous']:.3f} -> {r['new']:.3f} ({-r['drop']:+.3f})"))
    lo, hi = SHARE_RANGE
    for l, (mn, mx) in enumerate(share_ranges(ev["pooled"]["first_share"])):
        out.append((f"layer {l} first-choice share per expert in {lo:.0%}..{hi:.0%}", lo <= mn and mx <= hi,
                    f"{100 * mn:.1f}% .. {100 * mx:.1f}%"))
    return out
