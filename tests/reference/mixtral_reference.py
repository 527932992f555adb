"""An independent reference of Hugging Face MixtralForCausalLM's forward, in plain PyTorch, float64.

Written from the HF semantics, not from the TypeScript engine, so that the two check each other.
Interventions (expert ablation, router bias, zeroing a head) are applied the way the engine's
plain-data interventions promise.
"""
import math
import torch


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(x, theta):
    """x: (T, heads, Dh), positions 0..T-1, rotate-half convention."""
    T, _, Dh = x.shape
    inv_freq = 1.0 / (theta ** (torch.arange(0, Dh, 2, dtype=torch.float64) / Dh))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    return x * cos + rotate_half(x) * sin


def forward(cfg, W, ids, ablate=None, router_bias=None, zero_head=None):
    """Returns logits (T, V) and per-layer records. ablate / router_bias / zero_head: {layer: value}."""
    ablate, router_bias, zero_head = ablate or {}, router_bias or {}, zero_head or {}
    D, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    Dh = cfg.get("head_dim") or D // H
    E, K = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    eps, theta, window = cfg["rms_norm_eps"], cfg["rope_theta"], cfg.get("sliding_window")
    T = len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    visible = (j <= i) if window is None else ((j <= i) & (i - j < window))
    layers = []
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        rec = {}
        # attention
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, H, Dh)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, Hkv, Dh)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, Hkv, Dh)
        q, k = rope(q, theta), rope(k, theta)
        k = k.repeat_interleave(H // Hkv, dim=1)  # query head h uses kv head h // (H / Hkv)
        v = v.repeat_interleave(H // Hkv, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(Dh)
        scores = scores.masked_fill(~visible[None], float("-inf"))
        pattern = torch.softmax(scores, dim=-1)
        rec["attn_pattern"] = pattern
        z = torch.einsum("hts,shd->thd", pattern, v)
        if l in zero_head:
            z[:, zero_head[l], :] = 0
        x = x + z.reshape(T, H * Dh) @ W[p + "self_attn.o_proj.weight"].T
        # sparse MoE
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        router_logits = h @ W[p + "block_sparse_moe.gate.weight"].T
        if l in router_bias:
            router_logits = router_logits + torch.tensor(router_bias[l], dtype=torch.float64)
        rec["router_logits"] = router_logits
        masked = router_logits.clone()
        if l in ablate:
            masked[:, ablate[l]] = float("-inf")
        probs = torch.softmax(masked, dim=-1)
        top_w, top_i = torch.topk(probs, K, dim=-1)
        top_w = top_w / top_w.sum(-1, keepdim=True)
        rec["experts"], rec["expert_weights"] = top_i, top_w
        sorted_p = torch.sort(probs, dim=-1, descending=True).values
        rec["topk_margin"] = (sorted_p[:, K - 1] - sorted_p[:, K]) if K < E else torch.ones(T)
        out = torch.zeros_like(x)
        for t in range(T):
            for kk in range(K):
                e = int(top_i[t, kk])
                ep = p + f"block_sparse_moe.experts.{e}."
                a = torch.nn.functional.silu(h[t] @ W[ep + "w1.weight"].T) * (h[t] @ W[ep + "w3.weight"].T)
                out[t] += top_w[t, kk] * (a @ W[ep + "w2.weight"].T)
        x = x + out
        rec["resid_post"] = x.clone()
        layers.append(rec)
    x = rms_norm(x, W["model.norm.weight"], eps)
    logits = x @ W["lm_head.weight"].T
    return logits, layers
