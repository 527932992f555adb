"""Build the golden fixtures: small random Mixtral checkpoints in Hugging Face layout, and the
outputs of the independent reference (mixtral_reference.py) on them.

Regenerate (Debian's python3-torch):  /usr/bin/python3 tests/reference/make_fixtures.py
(or `npm run fixtures`). Output: tests/fixtures/golden/<case>/{config.json, *.safetensors, expected.json}.
Deterministic: fixed seeds, so a regeneration with the same torch gives the same files. A seed whose
routing or greedy tokens have near-ties is skipped for the next (seed + 100).
Format and fields: tests/fixtures/golden/README.md.
"""
import json
import os
import random
import shutil
import torch

from mixtral_reference import forward
from safetensors_io import write, stored, tensor_bytes

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")

CASES = [
    # name, config overrides, dtype, prompt length, sharded
    ("f32-gqa2-e4-k2-window", dict(num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2, sliding_window=4), "F32", 12, False),
    ("f32-mha-e8-k1", dict(num_attention_heads=4, num_key_value_heads=4, num_local_experts=8, num_experts_per_tok=1), "F32", 10, False),
    ("f32-gqa4-e6-k3-headdim", dict(num_attention_heads=8, num_key_value_heads=2, num_local_experts=6, num_experts_per_tok=3, head_dim=12, rope_theta=10000.0), "F32", 9, False),
    ("f16-gqa2-e8-k2", dict(num_attention_heads=4, num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2), "F16", 10, False),
    ("bf16-gqa2-e8-k2-window", dict(num_attention_heads=4, num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2, sliding_window=5), "BF16", 11, False),
    ("f32-sharded", dict(num_attention_heads=4, num_key_value_heads=1, num_local_experts=4, num_experts_per_tok=2, num_hidden_layers=3), "F32", 8, True),
]

INTERVENTION_CASES = ("f32-gqa2-e4-k2-window", "f32-mha-e8-k1", "bf16-gqa2-e8-k2-window")

BASE = dict(model_type="mixtral", architectures=["MixtralForCausalLM"], vocab_size=96, hidden_size=32,
            intermediate_size=48, num_hidden_layers=2, rms_norm_eps=1e-5, rope_theta=1e6, sliding_window=None,
            max_position_embeddings=128, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
            router_aux_loss_coef=0.02)


def random_weights(cfg, g):
    D, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    Dh = cfg.get("head_dim") or D // H
    lin = lambda o, i, s=1.0: torch.randn(o, i, generator=g) * s / i ** 0.5
    norm = lambda n: 1 + 0.1 * torch.randn(n, generator=g)
    W = {"model.embed_tokens.weight": torch.randn(V, D, generator=g), "model.norm.weight": norm(D), "lm_head.weight": lin(V, D)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = norm(D)
        W[p + "post_attention_layernorm.weight"] = norm(D)
        W[p + "self_attn.q_proj.weight"] = lin(H * Dh, D, 1.5)
        W[p + "self_attn.k_proj.weight"] = lin(Hkv * Dh, D, 1.5)
        W[p + "self_attn.v_proj.weight"] = lin(Hkv * Dh, D)
        W[p + "self_attn.o_proj.weight"] = lin(D, H * Dh)
        W[p + "block_sparse_moe.gate.weight"] = lin(cfg["num_local_experts"], D, 3.0)  # varied routing
        for e in range(cfg["num_local_experts"]):
            ep = p + f"block_sparse_moe.experts.{e}."
            W[ep + "w1.weight"] = lin(F, D)
            W[ep + "w3.weight"] = lin(F, D)
            W[ep + "w2.weight"] = lin(D, F)
    return W


def rows(t, digits=9):
    return json.loads(json.dumps(t.tolist(), default=float), parse_float=lambda s: float(f"{float(s):.{digits}g}"))


MIN_TOPK_MARGIN = 1e-4   # router: K-th minus (K+1)-th probability, every forward recorded here
MIN_GREEDY_GAP = 1e-3    # greedy: top-1 minus top-2 logit at every step


def greedy(cfg, W, prompt, n):
    """Greedy continuation by repeated full forwards; also the smallest top-1/top-2 logit gap and
    the smallest router top-k margin met on the way."""
    ids, gap, margin = list(prompt), float("inf"), float("inf")
    for _ in range(n):
        logits, layers = forward(cfg, W, ids)
        top2 = torch.topk(logits[-1], 2).values
        gap = min(gap, float(top2[0] - top2[1]))
        margin = min(margin, min_margin(layers))
        ids.append(int(torch.argmax(logits[-1])))
    return ids[len(prompt):], gap, margin


def min_margin(layers):
    return min(float(r["topk_margin"].min()) for r in layers)


def compute(name, cfg, dtype, T, seed):
    """Random weights, prompt and every expected output for one seed; also the near-tie margins."""
    g = torch.Generator().manual_seed(seed)
    W32 = random_weights(cfg, g)
    W = {k: stored(v, dtype) for k, v in W32.items()}  # the reference sees exactly the stored values
    ids = [1] + [int(i) for i in torch.randint(3, cfg["vocab_size"], (T - 1,), generator=g)]
    logits, layers = forward(cfg, W, ids)
    L = cfg["num_hidden_layers"]
    tokens, gap, g_margin = greedy(cfg, W, ids[:4], 16)
    margins = {"forward": min_margin(layers), "greedy": g_margin}
    expected = {
        "ids": ids,
        "logits": rows(logits),
        "router_logits": [rows(r["router_logits"]) for r in layers],
        "experts": [r["experts"].tolist() for r in layers],
        "expert_weights": [rows(r["expert_weights"]) for r in layers],
        "attn_pattern": [rows(r["attn_pattern"]) for r in layers],
        "resid_post": [rows(r["resid_post"]) for r in layers],
        "topk_margin": [rows(r["topk_margin"]) for r in layers],
        "greedy": {"prompt": ids[:4], "tokens": tokens},
    }
    if name in INTERVENTION_CASES:
        E = cfg["num_local_experts"]
        first = int(layers[0]["experts"][0, 0])
        ab = [first] + ([(first + 1) % E] if E - 2 >= cfg["num_experts_per_tok"] else [])
        lg, lay = forward(cfg, W, ids, ablate={0: ab})
        bias = [0.0] * E
        bias[E - 1] = 2.5
        lb, lay_b = forward(cfg, W, ids, router_bias={L - 1: bias})
        lz, lay_z = forward(cfg, W, ids, zero_head={0: 1})
        margins.update(ablate=min_margin(lay), router_bias=min_margin(lay_b), zero_head=min_margin(lay_z))
        expected["interventions"] = [
            {"kind": "ablate", "layer": 0, "experts": ab, "logits": rows(lg), "experts_chosen": [r["experts"].tolist() for r in lay]},
            {"kind": "router_bias", "layer": L - 1, "bias": bias, "logits": rows(lb)},
            {"kind": "zero_head", "layer": 0, "head": 1, "logits": rows(lz)},
        ]
    check(cfg, W, ids, logits, layers)
    return W32, expected, margins, gap


def build(name, over, dtype, T, sharded, seed):
    cfg = {**BASE, **over}
    # Re-draw (seed + 100, + 200, ...) until no router choice or greedy token is a near-tie, so that
    # an engine computing in float32 (or the GPU) cannot flip a choice by rounding.
    for attempt in range(50):
        s = seed + 100 * attempt
        W32, expected, margins, gap = compute(name, cfg, dtype, T, s)
        if min(margins.values()) >= MIN_TOPK_MARGIN and gap >= MIN_GREEDY_GAP:
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")

    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    order = list(W32)
    random.Random(s).shuffle(order)  # a loader must not assume any order
    if sharded:
        half = len(order) // 2
        shards = {"model-00001-of-00002.safetensors": order[:half], "model-00002-of-00002.safetensors": order[half:]}
        for fname, names in shards.items():
            write(os.path.join(d, fname), W32, dtype, order=names, metadata={"format": "pt"})
        # HF's total_size: the bytes of all tensors (headers not counted)
        total = sum(tensor_bytes(W32[n], dtype) for n in order)
        weight_map = {n: f for f, names in shards.items() for n in names}
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    else:
        write(os.path.join(d, "model.safetensors"), W32, dtype, order=order, metadata={"format": "pt"})
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print(f"{name}: seed={s} T={T} dtype={dtype} min top-k margin {min(margins.values()):.1e}, "
          f"min greedy logit gap {gap:.1e}")


def check(cfg, W, ids, logits, layers):
    """Sanity checks of the reference itself."""
    w = cfg.get("sliding_window")
    for r in layers:
        p = r["attn_pattern"]
        T = p.shape[1]
        for i in range(T):
            for j in range(T):
                if j > i or (w is not None and i - j >= w):
                    assert p[:, i, j].abs().max() == 0
        assert torch.allclose(r["expert_weights"].sum(-1), torch.ones(T, dtype=torch.float64))
    # every prefix's logits equal the first rows of the full forward (causality: what an engine's
    # incremental decoding with a KV cache must reproduce)
    for t in range(1, len(ids)):
        short, _ = forward(cfg, W, ids[:t])
        assert torch.allclose(short, logits[:t], atol=1e-10)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for n, (name, over, dtype, T, sharded) in enumerate(CASES):
        build(name, over, dtype, T, sharded, seed=1000 + n)
