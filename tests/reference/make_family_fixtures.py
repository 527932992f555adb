"""Build the golden fixtures of the MoE families beside Mixtral: small random checkpoints with the exact
Hub tensor names and config fields of OLMoE, Qwen2-MoE (Qwen1.5-MoE), Qwen3-MoE and Granite-MoE, and the
outputs of the independent reference (moe_reference.py) on them.

Regenerate (Debian's python3-torch):  /usr/bin/python3 tests/reference/make_family_fixtures.py
Output: tests/fixtures/golden/<model_type>/<case>/{config.json, *.safetensors, expected.json}.
Deterministic: fixed seeds, so a regeneration with the same torch gives the same files. A seed whose
routing or greedy tokens have near-ties is skipped for the next (seed + 100).
Format and fields: tests/fixtures/golden/README.md. Semantics: docs/families.md.
"""
import json
import os
import random
import shutil
import sys

import torch

from moe_reference import forward, param_counts, spec, tensor_shapes
from safetensors_io import stored, tensor_bytes, write

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}

# The key sets of the published config.json files (models/configs/), with small values. bos 1 and eos 2
# in every case so that prompts read the same in all fixtures.
BASE = {
    "olmoe": dict(architectures=["OlmoeForCausalLM"], attention_bias=False, attention_dropout=0.0, bos_token_id=1,
                  clip_qkv=None, eos_token_id=2, hidden_act="silu", hidden_size=32, initializer_range=0.02,
                  intermediate_size=16, max_position_embeddings=128, model_type="olmoe", norm_topk_prob=False,
                  num_attention_heads=4, num_experts=8, num_experts_per_tok=2, num_hidden_layers=2,
                  num_key_value_heads=4, output_router_logits=False, pad_token_id=1, rms_norm_eps=1e-05,
                  rope_scaling=None, rope_theta=10000.0, router_aux_loss_coef=0.01, tie_word_embeddings=False,
                  use_cache=True, vocab_size=96),
    "qwen2_moe": dict(architectures=["Qwen2MoeForCausalLM"], attention_dropout=0.0, bos_token_id=1, eos_token_id=2,
                      hidden_act="silu", hidden_size=32, initializer_range=0.02, intermediate_size=48,
                      max_position_embeddings=128, max_window_layers=2, model_type="qwen2_moe",
                      num_attention_heads=4, num_hidden_layers=2, num_key_value_heads=4, rms_norm_eps=1e-06,
                      rope_theta=1000000.0, sliding_window=128, tie_word_embeddings=False, use_cache=True,
                      use_sliding_window=False, vocab_size=96, decoder_sparse_step=1, moe_intermediate_size=12,
                      shared_expert_intermediate_size=24, num_experts_per_tok=2, num_experts=8,
                      norm_topk_prob=False, output_router_logits=False, router_aux_loss_coef=0.001),
    "qwen3_moe": dict(architectures=["Qwen3MoeForCausalLM"], attention_bias=False, attention_dropout=0.0,
                      bos_token_id=1, decoder_sparse_step=1, eos_token_id=2, head_dim=8, hidden_act="silu",
                      hidden_size=32, initializer_range=0.02, intermediate_size=48, max_position_embeddings=128,
                      max_window_layers=2, mlp_only_layers=[], model_type="qwen3_moe", moe_intermediate_size=12,
                      norm_topk_prob=True, num_attention_heads=4, num_experts=8, num_experts_per_tok=2,
                      num_hidden_layers=2, num_key_value_heads=2, output_router_logits=False, rms_norm_eps=1e-06,
                      rope_scaling=None, rope_theta=1000000.0, router_aux_loss_coef=0.001, sliding_window=None,
                      tie_word_embeddings=False, use_cache=True, use_sliding_window=False, vocab_size=96),
    "granitemoe": dict(architectures=["GraniteMoeForCausalLM"], attention_bias=False, attention_dropout=0.0,
                       attention_multiplier=0.25, bos_token_id=1, embedding_multiplier=12.0, eos_token_id=2,
                       hidden_act="silu", hidden_size=32, initializer_range=0.02, intermediate_size=16,
                       logits_scaling=6.0, max_position_embeddings=128, model_type="granitemoe",
                       num_attention_heads=4, num_experts_per_tok=2, num_hidden_layers=2, num_key_value_heads=4,
                       num_local_experts=8, output_router_logits=False, pad_token_id=0, residual_multiplier=0.22,
                       rms_norm_eps=1e-06, rope_scaling=None, rope_theta=10000.0, router_aux_loss_coef=0.001,
                       tie_word_embeddings=True, use_cache=True, vocab_size=96),
}

# name, family, config overrides, dtype, prompt length, options
CASES = [
    ("f32-mha-e8-k2", "olmoe", dict(), "F32", 10, dict(interventions=True)),
    ("bf16-gqa2-e16-k8-clip", "olmoe", dict(num_key_value_heads=2, num_experts=16, num_experts_per_tok=8,
                                            intermediate_size=8, clip_qkv=2.0), "BF16", 9, dict(greedy=8)),
    ("f16-mha-e64-k8", "olmoe", dict(num_experts=64, num_experts_per_tok=8, intermediate_size=4), "F16", 8, dict(greedy=8)),
    ("f32-gqa2-e7-k2-shared-renorm", "qwen2_moe", dict(num_key_value_heads=2, num_experts=7, norm_topk_prob=True),
     "F32", 11, dict(interventions=True, force_weights=[0.7, 0.3])),
    ("bf16-mha-e5-k2-sparse-step2", "qwen2_moe", dict(num_hidden_layers=3, num_experts=5, decoder_sparse_step=2),
     "BF16", 10, dict(interventions=True)),
    ("f16-mha-e16-k4-mlp-only", "qwen2_moe", dict(num_experts=16, num_experts_per_tok=4, mlp_only_layers=[0],
                                                   moe_intermediate_size=6), "F16", 9, dict(greedy=8)),
    ("f32-gqa2-e16-k8-headdim16", "qwen3_moe", dict(head_dim=16, num_experts=16, num_experts_per_tok=8,
                                                    moe_intermediate_size=8), "F32", 10, dict(interventions=True, greedy=8)),
    ("f32-gqa4-e7-k3-norenorm", "qwen3_moe", dict(num_key_value_heads=1, num_experts=7, num_experts_per_tok=3,
                                                  norm_topk_prob=False), "F32", 9, dict()),
    ("bf16-gqa2-e128-k8-mlp-only-sharded", "qwen3_moe", dict(num_hidden_layers=3, mlp_only_layers=[1], num_experts=128,
                                                             num_experts_per_tok=8, moe_intermediate_size=4),
     "BF16", 8, dict(sharded=True, greedy=8)),
    ("f32-mha-e8-k2-tied", "granitemoe", dict(), "F32", 10, dict(interventions=True, force_weights=[0.7, 0.3])),
    ("bf16-gqa2-e7-k3-untied", "granitemoe", dict(num_key_value_heads=2, num_local_experts=7, num_experts_per_tok=3,
                                                  tie_word_embeddings=False, embedding_multiplier=4.0,
                                                  attention_multiplier=0.5, residual_multiplier=0.5,
                                                  logits_scaling=2.0), "BF16", 9, dict()),
    ("f16-gqa2-e32-k8-tied", "granitemoe", dict(num_key_value_heads=2, num_local_experts=32, num_experts_per_tok=8,
                                                intermediate_size=4), "F16", 8, dict(greedy=8)),
]

# With 16 to 128 experts the K-th and (K+1)-th probabilities are small, so the near-tie test is on the
# router logits (log-probabilities differ from them by a constant per token): the K-th minus the
# (K+1)-th must be at least 1e-3 in every forward recorded here. A float32 engine's router logits are off
# by about 1e-6.
MIN_TOPK_LOGIT_MARGIN = 1e-3
MIN_GREEDY_GAP = 1e-3    # greedy: top-1 minus top-2 logit at every step


def random_weights(s, g):
    """Random float32 weights for every Hub tensor of spec s, drawn in table order (deterministic)."""
    W = {}
    for name, shape in tensor_shapes(s).items():
        fan_in = shape[-1]
        if name == "model.embed_tokens.weight":
            W[name] = torch.randn(shape, generator=g)
        elif name.endswith("norm.weight"):
            W[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            W[name] = 0.3 * torch.randn(shape, generator=g)
        elif name.endswith(("mlp.gate.weight", "block_sparse_moe.gate.weight", "router.layer.weight")):
            W[name] = 3.0 * torch.randn(shape, generator=g) / fan_in ** 0.5          # varied routing
        elif name.endswith("shared_expert_gate.weight"):
            W[name] = 2.0 * torch.randn(shape, generator=g) / fan_in ** 0.5
        elif name.endswith(("q_proj.weight", "k_proj.weight")):
            W[name] = 1.5 * torch.randn(shape, generator=g) / fan_in ** 0.5
        else:
            W[name] = torch.randn(shape, generator=g) / fan_in ** 0.5
    return W


def rows(t, digits=9):
    return json.loads(json.dumps(t.tolist(), default=float), parse_float=lambda x: float(f"{float(x):.{digits}g}"))


def per_layer(layers, key, fn=rows):
    """A field of every layer's record, null where the layer has none (a dense layer's router)."""
    return [fn(r[key]) if key in r else None for r in layers]


def min_margin(layers):
    return min((float(r["topk_logit_margin"].min()) for r in layers if "topk_logit_margin" in r), default=float("inf"))


def greedy(cfg, W, prompt, n):
    """Greedy continuation by repeated full forwards; also the smallest top-1/top-2 logit gap and the
    smallest router top-k margin met on the way."""
    ids, gap, margin = list(prompt), float("inf"), float("inf")
    for _ in range(n):
        logits, layers = forward(cfg, W, ids)
        top2 = torch.topk(logits[-1], 2).values
        gap = min(gap, float(top2[0] - top2[1]))
        margin = min(margin, min_margin(layers))
        ids.append(int(torch.argmax(logits[-1])))
    return ids[len(prompt):], gap, margin


def interventions(cfg, W, ids, layers, opts):
    """One forward per intervention: ablate, router bias, zero a head, force (expected logits and choices)."""
    s = spec(cfg)
    sparse = [l for l in range(s.L) if s.sparse[l]]
    first, last = sparse[0], sparse[-1]
    top0 = int(layers[first]["experts"][0, 0])
    ab = [top0] + ([(top0 + 1) % s.E] if s.E - 2 >= s.K else [])
    bias = [0.0] * s.E
    bias[s.E - 1] = 2.5
    forced = [s.E - 1 - k for k in range(s.K)]
    force = {"experts": forced, "positions": [1, 3], "weights": opts.get("force_weights")}
    runs = [
        ({"kind": "ablate", "layer": first, "experts": ab}, dict(ablate={first: ab})),
        ({"kind": "router_bias", "layer": last, "bias": bias}, dict(router_bias={last: bias})),
        ({"kind": "zero_head", "layer": 0, "head": 1}, dict(zero_head={0: 1})),
        ({"kind": "force", "layer": last, **{k: v for k, v in force.items() if v is not None}}, dict(force={last: force})),
    ]
    out, margins = [], {}
    for desc, kwargs in runs:
        lg, lay = forward(cfg, W, ids, **kwargs)
        margins[desc["kind"]] = min_margin(lay)
        entry = {**desc, "logits": rows(lg)}
        if desc["kind"] in ("ablate", "force"):
            entry["experts_chosen"] = per_layer(lay, "experts", lambda t: t.tolist())
        out.append(entry)
    return out, margins


def compute(name, cfg, dtype, T, seed, opts):
    """Random weights, prompt and every expected output for one seed; also the near-tie margins."""
    s = spec(cfg)
    g = torch.Generator().manual_seed(seed)
    W32 = random_weights(s, g)
    W = {k: stored(v, dtype) for k, v in W32.items()}  # the reference sees exactly the stored values
    ids = [1] + [int(i) for i in torch.randint(3, s.V, (T - 1,), generator=g)]
    logits, layers = forward(cfg, W, ids)
    tokens, gap, g_margin = greedy(cfg, W, ids[:4], opts.get("greedy", 16))
    margins = {"forward": min_margin(layers), "greedy": g_margin}
    expected = {
        "family": s.family,
        "ids": ids,
        "moe_layers": list(s.sparse),
        "logits": rows(logits),
        "embed": rows(layers[0]["embed"]),
        "router_logits": per_layer(layers, "router_logits"),
        "router_probs": per_layer(layers, "router_probs"),
        "experts": per_layer(layers, "experts", lambda t: t.tolist()),
        "expert_weights": per_layer(layers, "expert_weights"),
        "topk_margin": per_layer(layers, "topk_margin"),
        "attn_pattern": per_layer(layers, "attn_pattern"),
        "mlp_out": per_layer(layers, "mlp_out"),
        "resid_post": per_layer(layers, "resid_post"),
    }
    if s.qk_norm is not None:
        expected["q_normed"] = per_layer(layers, "q_normed")
        expected["k_normed"] = per_layer(layers, "k_normed")
    if s.F_shared is not None:
        expected["shared_out"] = per_layer(layers, "shared_out")
        expected["shared_gate"] = per_layer(layers, "shared_gate")
    expected["greedy"] = {"prompt": ids[:4], "tokens": tokens}
    if opts.get("interventions"):
        expected["interventions"], iv_margins = interventions(cfg, W, ids, layers, opts)
        margins.update(iv_margins)
    check(cfg, W, ids, logits, layers)
    return W32, expected, margins, gap


def check(cfg, W, ids, logits, layers):
    """Sanity checks of the reference itself."""
    s = spec(cfg)
    assert set(W) == set(tensor_shapes(s)), "weights differ from the tensor table"
    T = len(ids)
    for l, r in enumerate(layers):
        p = r["attn_pattern"]
        for i in range(T):
            assert float(p[:, i, i + 1:].abs().sum()) == 0
        assert torch.allclose(p.sum(-1), torch.ones_like(p.sum(-1)))
        assert ("router_logits" in r) == s.sparse[l]
        if s.sparse[l]:
            w, probs, chosen = r["expert_weights"], r["router_probs"], r["experts"]
            if s.renormalise:
                assert torch.allclose(w.sum(-1), torch.ones(T, dtype=torch.float64))
            else:  # the weights applied are the softmax probabilities of the chosen experts
                assert torch.allclose(w, probs.gather(1, chosen))
            assert torch.equal(chosen, torch.topk(probs, s.K, dim=-1).indices)
    # every prefix's logits equal the first rows of the full forward (what incremental decoding with a KV
    # cache must reproduce)
    for t in range(1, T):
        short, _ = forward(cfg, W, ids[:t])
        assert torch.allclose(short, logits[:t], atol=1e-10)


def build(name, family, over, dtype, T, opts, seed):
    cfg = {**BASE[family], **over, "torch_dtype": TORCH_DTYPE[dtype]}
    cfg = dict(sorted(cfg.items()))
    # Re-draw (seed + 100, + 200, ...) until no router choice or greedy token is a near-tie, so that an
    # engine computing in float32 (or the GPU) cannot flip a choice by rounding.
    for attempt in range(50):
        s = seed + 100 * attempt
        W32, expected, margins, gap = compute(name, cfg, dtype, T, s, opts)
        if min(margins.values()) >= MIN_TOPK_LOGIT_MARGIN and gap >= MIN_GREEDY_GAP:
            break
    else:
        raise SystemExit(f"{family}/{name}: no seed without near-ties")

    d = os.path.join(OUT, family, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    order = list(W32)
    random.Random(s).shuffle(order)  # a loader must not assume any order
    if opts.get("sharded"):
        half = len(order) // 2
        shards = {"model-00001-of-00002.safetensors": order[:half], "model-00002-of-00002.safetensors": order[half:]}
        for fname, names in shards.items():
            write(os.path.join(d, fname), W32, dtype, order=names, metadata={"format": "pt"})
        total = sum(tensor_bytes(W32[n], dtype) for n in order)
        weight_map = {n: f for f, names in shards.items() for n in names}
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    else:
        write(os.path.join(d, "model.safetensors"), W32, dtype, order=order, metadata={"format": "pt"})
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    total, active = param_counts(cfg)
    print(f"{family}/{name}: seed={s} T={T} dtype={dtype} params {total} total / {active} active; "
          f"min top-k logit margin {min(margins.values()):.1e}, min greedy logit gap {gap:.1e}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    only = set(sys.argv[1:])
    for n, (name, family, over, dtype, T, opts) in enumerate(CASES):
        if not only or name in only or family in only:
            build(name, family, over, dtype, T, opts, seed=2000 + n)
