"""An independent float64 reference of the Hugging Face MoE families, in plain PyTorch.

Families (config `model_type`): mixtral, olmoe, qwen2_moe, qwen3_moe, granitemoe. Written from the
transformers modeling and configuration files (versions and the exact differences: docs/families.md),
not from the TypeScript engine, so that the two check each other. One forward pass in model order; a
family is a small named set of differences (`Spec`), read from config.json with transformers' defaults.

Legend: T tokens, D hidden, H query heads, Hkv key/value heads, Dh head_dim, E experts, K experts per
token, F expert width, V vocab, L layers.

Interventions are applied the way the engine's plain-data interventions promise (docs/families.md,
"Interventions"): ablate (router logits of the listed experts set to -inf before the softmax), router
bias (added to the router logits before the softmax), zero a head (before o_proj), force (the listed
experts instead of the router's top-k, weighted the way the family weights its top-k unless weights are
given).
"""
import math
from dataclasses import dataclass

import torch

FAMILIES = ("mixtral", "olmoe", "qwen2_moe", "qwen3_moe", "granitemoe")


# ---------------------------------------------------------------------------------------------------
# The family as data: normalised hyper-parameters and the named differences
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    family: str
    D: int
    V: int
    L: int
    H: int
    Hkv: int
    Dh: int
    E: int
    K: int
    F: int                      # routed expert width
    F_dense: int | None         # width of a dense MLP layer (qwen families), else None
    F_shared: int | None        # width of the shared expert (qwen2_moe), else None
    eps: float
    theta: float
    window: int | None          # sliding window (mixtral only), None: full causal
    renormalise: bool           # top-k weights divided by their sum
    qk_norm: str | None         # None | "whole" (olmoe: over the whole projection) | "head" (qwen3_moe: per head)
    qkv_bias: bool              # bias on q_proj, k_proj, v_proj
    o_bias: bool                # bias on o_proj
    clip_qkv: float | None      # olmoe: clamp q, k, v to [-c, c] after the norms
    sparse: tuple               # per layer: True for a MoE layer, False for a dense MLP layer
    embedding_multiplier: float
    attention_scale: float      # multiplies q.k (1/sqrt(Dh), or granite's attention_multiplier)
    residual_multiplier: float
    logits_scaling: float       # logits are divided by it
    tie: bool                   # lm_head is embed_tokens


def _get(cfg, key, default):
    v = cfg.get(key)
    return default if v is None else v


def _unsupported(cond, what):
    if cond:
        raise ValueError(f"config.json: {what} is not supported by this reference")


def spec(cfg):
    """Normalised hyper-parameters of a config.json (a dict), with each family's transformers defaults."""
    fam = cfg.get("model_type")
    if fam not in FAMILIES:
        raise ValueError(f"config.json: model_type {fam!r} is not one of {FAMILIES}")
    _unsupported(_get(cfg, "hidden_act", "silu") != "silu", f"hidden_act {cfg.get('hidden_act')!r}")
    _unsupported(cfg.get("rope_scaling") is not None, "rope_scaling")
    _unsupported(bool(cfg.get("use_sliding_window")), "use_sliding_window: true (transformers versions disagree on which layers slide)")
    D, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    H = cfg["num_attention_heads"]
    Hkv = _get(cfg, "num_key_value_heads", H)
    # head_dim: mixtral and qwen3_moe read config.head_dim; the other three compute hidden_size / heads.
    if fam in ("mixtral", "qwen3_moe"):
        Dh = _get(cfg, "head_dim", D // H)
    else:
        Dh = D // H
        _unsupported(cfg.get("head_dim") not in (None, Dh), f"{fam} with head_dim != hidden_size / num_attention_heads")
    common = dict(family=fam, D=D, V=cfg["vocab_size"], L=L, H=H, Hkv=Hkv, Dh=Dh, window=None,
                  F_dense=None, F_shared=None, qk_norm=None, qkv_bias=False, o_bias=False, clip_qkv=None,
                  sparse=(True,) * L, embedding_multiplier=1.0, attention_scale=1 / math.sqrt(Dh),
                  residual_multiplier=1.0, logits_scaling=1.0)
    if fam == "mixtral":
        return Spec(**{**common, "window": cfg.get("sliding_window")}, E=cfg["num_local_experts"],
                    K=_get(cfg, "num_experts_per_tok", 2), F=cfg["intermediate_size"],
                    eps=_get(cfg, "rms_norm_eps", 1e-5), theta=_get(cfg, "rope_theta", 1e6), renormalise=True,
                    tie=_get(cfg, "tie_word_embeddings", False))
    if fam == "olmoe":
        bias = _get(cfg, "attention_bias", False)
        return Spec(**{**common, "qk_norm": "whole", "qkv_bias": bias, "o_bias": bias, "clip_qkv": cfg.get("clip_qkv")},
                    E=_get(cfg, "num_experts", 64), K=_get(cfg, "num_experts_per_tok", 8),
                    F=_get(cfg, "intermediate_size", 2048), eps=_get(cfg, "rms_norm_eps", 1e-5),
                    theta=_get(cfg, "rope_theta", 10000.0), renormalise=_get(cfg, "norm_topk_prob", False),
                    tie=_get(cfg, "tie_word_embeddings", False))
    if fam in ("qwen2_moe", "qwen3_moe"):
        E = _get(cfg, "num_experts", 60 if fam == "qwen2_moe" else 128)
        step = _get(cfg, "decoder_sparse_step", 1)
        dense_only = set(_get(cfg, "mlp_only_layers", []))
        sparse = tuple((l not in dense_only) and E > 0 and (l + 1) % step == 0 for l in range(L))
        if fam == "qwen2_moe":
            extra = dict(qkv_bias=_get(cfg, "qkv_bias", True), o_bias=False,
                         F_shared=_get(cfg, "shared_expert_intermediate_size", 5632))
            defaults = dict(K=4, F=1408, Fd=5632, theta=1e6)
        else:
            bias = _get(cfg, "attention_bias", False)
            extra = dict(qk_norm="head", qkv_bias=bias, o_bias=bias)
            defaults = dict(K=8, F=768, Fd=6144, theta=10000.0)
        return Spec(**{**common, **extra, "sparse": sparse, "F_dense": _get(cfg, "intermediate_size", defaults["Fd"])},
                    E=E, K=_get(cfg, "num_experts_per_tok", defaults["K"]),
                    F=_get(cfg, "moe_intermediate_size", defaults["F"]), eps=_get(cfg, "rms_norm_eps", 1e-6),
                    theta=_get(cfg, "rope_theta", defaults["theta"]), renormalise=_get(cfg, "norm_topk_prob", False),
                    tie=_get(cfg, "tie_word_embeddings", False))
    # granitemoe
    bias = _get(cfg, "attention_bias", False)
    return Spec(**{**common, "qkv_bias": bias, "o_bias": bias,
                   "embedding_multiplier": _get(cfg, "embedding_multiplier", 1.0),
                   "attention_scale": _get(cfg, "attention_multiplier", 1.0),
                   "residual_multiplier": _get(cfg, "residual_multiplier", 1.0),
                   "logits_scaling": _get(cfg, "logits_scaling", 1.0)},
                E=_get(cfg, "num_local_experts", 8), K=_get(cfg, "num_experts_per_tok", 2),
                F=_get(cfg, "intermediate_size", 11008), eps=_get(cfg, "rms_norm_eps", 1e-6),
                theta=_get(cfg, "rope_theta", 10000.0), renormalise=True,
                tie=_get(cfg, "tie_word_embeddings", False))


# ---------------------------------------------------------------------------------------------------
# Hub tensor names per family: one table, used to read weights and to write fixtures
# ---------------------------------------------------------------------------------------------------

def tensor_shapes(s):
    """{hub tensor name: shape} of a checkpoint of this spec, exactly as published checkpoints name them."""
    D, V, H, Hkv, Dh, E, F = s.D, s.V, s.H, s.Hkv, s.Dh, s.E, s.F
    out = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,)}
    if not s.tie:
        out["lm_head.weight"] = (V, D)
    for l in range(s.L):
        p = f"model.layers.{l}."
        out[p + "input_layernorm.weight"] = (D,)
        out[p + "post_attention_layernorm.weight"] = (D,)
        a = p + "self_attn."
        out[a + "q_proj.weight"] = (H * Dh, D)
        out[a + "k_proj.weight"] = (Hkv * Dh, D)
        out[a + "v_proj.weight"] = (Hkv * Dh, D)
        out[a + "o_proj.weight"] = (D, H * Dh)
        if s.qkv_bias:
            out[a + "q_proj.bias"] = (H * Dh,)
            out[a + "k_proj.bias"] = (Hkv * Dh,)
            out[a + "v_proj.bias"] = (Hkv * Dh,)
        if s.o_bias:
            out[a + "o_proj.bias"] = (D,)
        if s.qk_norm == "whole":
            out[a + "q_norm.weight"] = (H * Dh,)
            out[a + "k_norm.weight"] = (Hkv * Dh,)
        elif s.qk_norm == "head":
            out[a + "q_norm.weight"] = (Dh,)
            out[a + "k_norm.weight"] = (Dh,)
        if not s.sparse[l]:
            for n, shape in (("gate_proj", (s.F_dense, D)), ("up_proj", (s.F_dense, D)), ("down_proj", (D, s.F_dense))):
                out[p + f"mlp.{n}.weight"] = shape
            continue
        if s.family == "mixtral":
            out[p + "block_sparse_moe.gate.weight"] = (E, D)
            for e in range(E):
                q = p + f"block_sparse_moe.experts.{e}."
                out[q + "w1.weight"] = (F, D)
                out[q + "w3.weight"] = (F, D)
                out[q + "w2.weight"] = (D, F)
        elif s.family == "granitemoe":
            out[p + "block_sparse_moe.router.layer.weight"] = (E, D)
            out[p + "block_sparse_moe.input_linear.weight"] = (E, 2 * F, D)   # [gate; up] along dim 1
            out[p + "block_sparse_moe.output_linear.weight"] = (E, D, F)
        else:
            out[p + "mlp.gate.weight"] = (E, D)
            for e in range(E):
                q = p + f"mlp.experts.{e}."
                out[q + "gate_proj.weight"] = (F, D)
                out[q + "up_proj.weight"] = (F, D)
                out[q + "down_proj.weight"] = (D, F)
            if s.F_shared is not None:
                for n, shape in (("gate_proj", (s.F_shared, D)), ("up_proj", (s.F_shared, D)), ("down_proj", (D, s.F_shared))):
                    out[p + f"mlp.shared_expert.{n}.weight"] = shape
                out[p + "mlp.shared_expert_gate.weight"] = (1, D)
    return out


def router_weight(s, W, l):
    p = f"model.layers.{l}."
    return W[{"mixtral": p + "block_sparse_moe.gate.weight",
              "granitemoe": p + "block_sparse_moe.router.layer.weight"}.get(s.family, p + "mlp.gate.weight")]


def expert_weights(s, W, l, e):
    """(gate (F, D), up (F, D), down (D, F)) of expert e in layer l: act(x gate^T) * (x up^T) down^T."""
    p = f"model.layers.{l}."
    if s.family == "mixtral":
        q = p + f"block_sparse_moe.experts.{e}."
        return W[q + "w1.weight"], W[q + "w3.weight"], W[q + "w2.weight"]
    if s.family == "granitemoe":
        fused = W[p + "block_sparse_moe.input_linear.weight"][e]     # (2F, D): first F rows gate, last F up
        return fused[:s.F], fused[s.F:], W[p + "block_sparse_moe.output_linear.weight"][e]
    q = p + f"mlp.experts.{e}."
    return W[q + "gate_proj.weight"], W[q + "up_proj.weight"], W[q + "down_proj.weight"]


# ---------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------

def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(x, theta):
    """x: (T, heads, Dh), positions 0..T-1, rotate-half convention (pairs i, i + Dh/2)."""
    T, _, Dh = x.shape
    inv_freq = 1.0 / (theta ** (torch.arange(0, Dh, 2, dtype=torch.float64) / Dh))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos()[:, None, :] + rotate_half(x) * emb.sin()[:, None, :]


def swiglu(x, gate, up, down):
    return (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T


def linear(x, W, name, bias):
    y = x @ W[name + ".weight"].T
    return y + W[name + ".bias"] if bias else y


# ---------------------------------------------------------------------------------------------------
# The forward pass
# ---------------------------------------------------------------------------------------------------

def attention(s, W, l, h, zero_heads, rec):
    """Causal grouped-query attention of layer l on h (T, D); returns the o_proj output (T, D)."""
    T = h.shape[0]
    a = f"model.layers.{l}.self_attn."
    q = linear(h, W, a + "q_proj", s.qkv_bias)                        # (T, H*Dh)
    k = linear(h, W, a + "k_proj", s.qkv_bias)                        # (T, Hkv*Dh)
    v = linear(h, W, a + "v_proj", s.qkv_bias)
    if s.qk_norm == "whole":                                          # olmoe: over the whole projection
        q = rms_norm(q, W[a + "q_norm.weight"], s.eps)
        k = rms_norm(k, W[a + "k_norm.weight"], s.eps)
    if s.clip_qkv is not None:                                        # olmoe, after the norms
        q, k, v = (t.clamp(-s.clip_qkv, s.clip_qkv) for t in (q, k, v))
    q, k, v = q.view(T, s.H, s.Dh), k.view(T, s.Hkv, s.Dh), v.view(T, s.Hkv, s.Dh)
    if s.qk_norm == "head":                                           # qwen3_moe: per head, over Dh
        q = rms_norm(q, W[a + "q_norm.weight"], s.eps)
        k = rms_norm(k, W[a + "k_norm.weight"], s.eps)
    if s.qk_norm is not None:
        rec["q_normed"], rec["k_normed"] = q.clone(), k.clone()
    q, k = rope(q, s.theta), rope(k, s.theta)
    k = k.repeat_interleave(s.H // s.Hkv, dim=1)                      # query head h uses kv head h // (H/Hkv)
    v = v.repeat_interleave(s.H // s.Hkv, dim=1)
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    visible = (j <= i) if s.window is None else ((j <= i) & (i - j < s.window))
    scores = torch.einsum("thd,shd->hts", q, k) * s.attention_scale
    pattern = torch.softmax(scores.masked_fill(~visible[None], float("-inf")), dim=-1)   # (H, T, T)
    rec["attn_pattern"] = pattern
    z = torch.einsum("hts,shd->thd", pattern, v)                      # (T, H, Dh)
    for hd in zero_heads:
        z[:, hd, :] = 0
    return linear(z.reshape(T, s.H * s.Dh), W, a + "o_proj", s.o_bias)


def route(s, logits, ablated):
    """probs (T, E) over all experts, and the top-k (indices best first, weights applied) per family."""
    masked = logits.clone()
    masked[:, list(ablated)] = float("-inf")
    probs = torch.softmax(masked, dim=-1)
    if s.family == "granitemoe":
        # granite: top-k of the logits, then a softmax over those k logits only
        top_logits, top_i = torch.topk(masked, s.K, dim=-1)
        return probs, top_i, torch.softmax(top_logits, dim=-1)
    top_w, top_i = torch.topk(probs, s.K, dim=-1)
    if s.renormalise:
        top_w = top_w / top_w.sum(-1, keepdim=True)
    return probs, top_i, top_w


def moe(s, W, l, h, iv, rec):
    """Sparse MoE block of layer l on h (T, D): router, top-k experts, shared expert; returns (T, D)."""
    T = h.shape[0]
    logits = h @ router_weight(s, W, l).T                              # (T, E)
    if l in iv.get("router_bias", {}):
        logits = logits + torch.tensor(iv["router_bias"][l], dtype=torch.float64)
    probs, top_i, top_w = route(s, logits, iv.get("ablate", {}).get(l, ()))
    force = iv.get("force", {}).get(l)
    if force is not None:
        for t in range(T):
            if force.get("positions") is None or t in force["positions"]:
                chosen = torch.tensor(force["experts"])
                w = torch.tensor(force["weights"], dtype=torch.float64) if force.get("weights") is not None else probs[t, chosen]
                if force.get("weights") is None and s.renormalise:
                    w = w / w.sum()
                top_i[t], top_w[t] = chosen, w
    # near-tie measures: K-th minus (K+1)-th router probability, and the same gap in logits (ablated: -inf)
    sorted_p = torch.sort(probs, dim=-1, descending=True).values
    sorted_l = torch.sort(torch.log(probs), dim=-1, descending=True).values
    ones = torch.ones(T, dtype=torch.float64)
    rec.update(router_logits=logits, router_probs=probs, experts=top_i, expert_weights=top_w,
               topk_margin=(sorted_p[:, s.K - 1] - sorted_p[:, s.K]) if s.K < s.E else ones,
               topk_logit_margin=(sorted_l[:, s.K - 1] - sorted_l[:, s.K]) if s.K < s.E else ones * math.inf)
    out = torch.zeros_like(h)
    expert_out = torch.zeros(T, s.K, s.D, dtype=torch.float64)
    for t in range(T):
        for kk in range(s.K):
            expert_out[t, kk] = swiglu(h[t], *expert_weights(s, W, l, int(top_i[t, kk])))
            out[t] += top_w[t, kk] * expert_out[t, kk]
    rec["expert_out"] = expert_out
    if s.F_shared is not None:                                         # qwen2_moe: gated shared expert
        p = f"model.layers.{l}.mlp."
        shared = swiglu(h, W[p + "shared_expert.gate_proj.weight"], W[p + "shared_expert.up_proj.weight"],
                        W[p + "shared_expert.down_proj.weight"])
        gate = torch.sigmoid(h @ W[p + "shared_expert_gate.weight"].T)[:, 0]     # (T,)
        rec["shared_out"], rec["shared_gate"] = shared, gate
        out = out + gate[:, None] * shared
    return out


def dense_mlp(W, l, h):
    p = f"model.layers.{l}.mlp."
    return swiglu(h, W[p + "gate_proj.weight"], W[p + "up_proj.weight"], W[p + "down_proj.weight"])


def forward(cfg, W, ids, ablate=None, router_bias=None, zero_head=None, force=None):
    """Logits (T, V) and per-layer records for a full forward over ids at positions 0..T-1.

    W: {hub tensor name: float64 tensor}. Interventions, each {layer: value}: ablate [experts],
    router_bias [E floats], zero_head head index or list, force {experts, weights?, positions?}.
    Records (dicts, one per layer) hold what the hooks carry; MoE fields only in sparse layers.
    """
    s = spec(cfg)
    iv = {"ablate": ablate or {}, "router_bias": router_bias or {}, "force": force or {}}
    zero_head = zero_head or {}
    x = W["model.embed_tokens.weight"][torch.tensor(ids)] * s.embedding_multiplier     # (T, D)
    embed = x.clone()
    layers = []
    for l in range(s.L):
        p = f"model.layers.{l}."
        rec = {"sparse": s.sparse[l]}
        zh = zero_head.get(l, [])
        zh = [zh] if isinstance(zh, int) else zh
        # attention: x = x + m * o_proj(attention(rmsnorm(x)))
        attn_out = s.residual_multiplier * attention(s, W, l, rms_norm(x, W[p + "input_layernorm.weight"], s.eps), zh, rec)
        rec["attn_out"] = attn_out
        x = x + attn_out
        # MoE (or dense MLP): x = x + m * mlp(rmsnorm(x))
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], s.eps)
        mlp_out = s.residual_multiplier * (moe(s, W, l, h, iv, rec) if s.sparse[l] else dense_mlp(W, l, h))
        rec["mlp_out"] = mlp_out
        x = x + mlp_out
        rec["resid_post"] = x.clone()
        layers.append(rec)
    lm_head = W["model.embed_tokens.weight"] if s.tie else W["lm_head.weight"]
    logits = (rms_norm(x, W["model.norm.weight"], s.eps) @ lm_head.T) / s.logits_scaling
    if layers:
        layers[0]["embed"] = embed
    return logits, layers


# ---------------------------------------------------------------------------------------------------
# Parameter counts (docs/families.md, "Counting parameters")
# ---------------------------------------------------------------------------------------------------

def param_counts(cfg):
    """(total, active per token) parameter counts of a config, from the tensor table.

    Active: everything a token touches: embeddings (the one row is counted as the whole matrix, as
    model cards do), attention, norms, biases, dense MLP layers, the shared expert and its gate, the
    router, and K of the E routed experts. lm_head counts once when tied.
    """
    s = spec(cfg)
    total = routed = 0
    for name, shape in tensor_shapes(s).items():
        n = math.prod(shape)
        total += n
        if ".experts." in name or name.endswith(("input_linear.weight", "output_linear.weight")):
            routed += n
    return total, total - routed + routed // s.E * s.K
