"""The Mixtral model in plain PyTorch, with Hugging Face MixtralForCausalLM's semantics and
parameter names, so that its state_dict *is* an HF checkpoint. Used to train the default model.

Written for speed on a few CPU cores without changing the maths (training/test_mixtral.py holds
it to a plain per-expert loop and to tests/reference/mixtral_reference.py):
- attention runs one matmul for q, k and v, rotates q and k together, and lets the query heads
  that share a key/value head share one batched matmul (no repeat_interleave); the causal
  sliding-window mask is an additive bias fused into that matmul with the 1/sqrt(Dh) scale;
- the sparse MoE sorts the (token, slot) pairs by expert once, so every expert runs its w1|w3
  and w2 matmuls on one contiguous slice, and one index_add puts the weighted outputs back.

Letters: B batch, T positions, D hidden, F expert width, E experts, K experts per token,
H query heads, Hkv key/value heads, R = H / Hkv query heads per key/value head, Dh head width,
N = B * T tokens.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.H, self.Hkv, self.Dh = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        D = c["hidden_size"]
        self.q_proj = nn.Linear(D, self.H * self.Dh, bias=False)
        self.k_proj = nn.Linear(D, self.Hkv * self.Dh, bias=False)
        self.v_proj = nn.Linear(D, self.Hkv * self.Dh, bias=False)
        self.o_proj = nn.Linear(self.H * self.Dh, D, bias=False)

    def forward(self, x, cos, sin, bias):
        """x (B, T, D); cos, sin (T, 1, Dh); bias (R*T, T): 0 where visible, -inf elsewhere."""
        B, T, _ = x.shape
        H, Hkv, Dh = self.H, self.Hkv, self.Dh
        R = H // Hkv
        w = torch.cat((self.q_proj.weight, self.k_proj.weight, self.v_proj.weight))
        qkv = F.linear(x, w)                                                    # (B, T, (H + 2 Hkv) Dh)
        qk = qkv[..., :(H + Hkv) * Dh].view(B, T, H + Hkv, Dh)
        qk = qk * cos + rotate_half(qk) * sin                                   # RoPE on q and k at once
        # query head h uses key/value head h // R: group the R query heads of each kv head as rows
        q = qk[:, :, :H].reshape(B, T, Hkv, R, Dh).permute(0, 2, 3, 1, 4).reshape(B * Hkv, R * T, Dh)
        k = qk[:, :, H:].permute(0, 2, 3, 1).reshape(B * Hkv, Dh, T)
        v = qkv[..., (H + Hkv) * Dh:].view(B, T, Hkv, Dh).transpose(1, 2).reshape(B * Hkv, T, Dh)
        att = torch.baddbmm(bias, q, k, alpha=1 / math.sqrt(Dh)).softmax(-1)   # (B Hkv, R T, T)
        z = torch.bmm(att, v).view(B, Hkv, R, T, Dh).permute(0, 3, 1, 2, 4).reshape(B, T, H * Dh)
        return self.o_proj(z)


class Expert(nn.Module):
    def __init__(self, D, Fw):
        super().__init__()
        self.w1 = nn.Linear(D, Fw, bias=False)
        self.w2 = nn.Linear(Fw, D, bias=False)
        self.w3 = nn.Linear(D, Fw, bias=False)

    def forward(self, x):
        g, u = F.linear(x, torch.cat((self.w1.weight, self.w3.weight))).chunk(2, -1)  # (n, F) each
        return self.w2(F.silu(g) * u)


class SparseMoe(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.E, self.K = c["num_local_experts"], c["num_experts_per_tok"]
        self.gate = nn.Linear(c["hidden_size"], self.E, bias=False)
        self.experts = nn.ModuleList([Expert(c["hidden_size"], c["intermediate_size"]) for _ in range(self.E)])

    def forward(self, x):
        B, T, D = x.shape
        h = x.reshape(-1, D)                                  # (N, D)
        logits = self.gate(h)                                 # (N, E)
        probs = logits.float().softmax(-1)
        w, idx = probs.topk(self.K, dim=-1)                   # (N, K)
        w = (w / w.sum(-1, keepdim=True)).to(h.dtype)
        slot = idx.reshape(-1).argsort(stable=True)           # (N K) slots, grouped by expert
        tok = torch.div(slot, self.K, rounding_mode="floor")  # the token of each slot
        counts = torch.bincount(idx.reshape(-1), minlength=self.E).tolist()
        hs = h.index_select(0, tok).split(counts)             # per expert, its tokens, contiguous
        y = torch.cat([self.experts[e](hs[e]) for e in range(self.E) if counts[e]])  # (N K, D)
        y = y * w.reshape(-1).index_select(0, slot)[:, None]
        out = torch.zeros_like(h).index_add_(0, tok, y)
        return out.view(B, T, D), logits


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.block_sparse_moe = SparseMoe(c)

    def forward(self, x, cos, sin, bias):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, bias)
        m, router_logits = self.block_sparse_moe(self.post_attention_layernorm(x))
        return x + m, router_logits


class Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Mixtral(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Body(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        Dh = c["head_dim"]
        self.register_buffer("inv_freq", 1.0 / (c["rope_theta"] ** (torch.arange(0, Dh, 2).float() / Dh)), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids):
        """ids (B, T) -> logits (B, T, V) and each layer's router logits (N, E)."""
        B, T = ids.shape
        pos = torch.arange(T, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]     # (T, 1, Dh)
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        visible = j <= i
        if self.c.get("sliding_window"):
            visible = visible & (i - j < self.c["sliding_window"])
        R = self.c["num_attention_heads"] // self.c["num_key_value_heads"]
        bias = torch.zeros(T, T).masked_fill(~visible, float("-inf")).repeat(R, 1)  # (R T, T)
        x = self.model.embed_tokens(ids)
        router = []
        for layer in self.model.layers:
            x, r = layer(x, cos, sin, bias)
            router.append(r)
        return self.lm_head(self.model.norm(x)), router


def load_balancing_loss(router_logits, E, K):
    """HF load_balancing_loss_func, E * sum_e (share of top-k slots routed to e) * (mean prob of e),
    applied to each layer and averaged. HF concatenates all layers first, which only balances the
    pool: in a first run here each layer then used 2 to 4 experts while the pooled loss read
    "balanced". Per layer, every layer's router is held to balance."""
    return sum(_balance(r, E, K) for r in router_logits) / len(router_logits)


def _balance(logits, E, K):
    probs = logits.float().softmax(-1)
    _, sel = probs.topk(K, -1)
    mask = F.one_hot(sel, E).float()            # (tokens, K, E)
    tokens_per_expert = mask.mean(0)              # (K, E)
    prob_per_expert = probs.mean(0)               # (E)
    return E * (tokens_per_expert * prob_per_expert[None]).sum()


def count_params(c):
    D, V, Fw, L = c["hidden_size"], c["vocab_size"], c["intermediate_size"], c["num_hidden_layers"]
    Dh, H, Hkv, E, K = c["head_dim"], c["num_attention_heads"], c["num_key_value_heads"], c["num_local_experts"], c["num_experts_per_tok"]
    attn = D * H * Dh * 2 + D * Hkv * Dh * 2
    shared = attn + E * D + 2 * D
    total = 2 * V * D + D + L * (shared + E * 3 * D * Fw)
    active = 2 * V * D + D + L * (shared + K * 3 * D * Fw)
    return total, active
