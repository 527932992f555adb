"""The Mixtral model in plain PyTorch, with Hugging Face MixtralForCausalLM's semantics and
parameter names, so that its state_dict *is* an HF checkpoint. Used to train the default model.
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

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.Dh).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.Hkv, self.Dh).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.Hkv, self.Dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.H // self.Hkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.Dh)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        z = (att @ v).transpose(1, 2).reshape(B, T, self.H * self.Dh)
        return self.o_proj(z)


class Expert(nn.Module):
    def __init__(self, D, Fw):
        super().__init__()
        self.w1 = nn.Linear(D, Fw, bias=False)
        self.w2 = nn.Linear(Fw, D, bias=False)
        self.w3 = nn.Linear(D, Fw, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class SparseMoe(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.E, self.K = c["num_local_experts"], c["num_experts_per_tok"]
        self.gate = nn.Linear(c["hidden_size"], self.E, bias=False)
        self.experts = nn.ModuleList([Expert(c["hidden_size"], c["intermediate_size"]) for _ in range(self.E)])

    def forward(self, x):
        B, T, D = x.shape
        h = x.reshape(-1, D)
        logits = self.gate(h)
        probs = logits.float().softmax(-1)
        w, idx = probs.topk(self.K, dim=-1)
        w = (w / w.sum(-1, keepdim=True)).to(h.dtype)
        out = torch.zeros_like(h)
        for e in range(self.E):
            tok, slot = (idx == e).nonzero(as_tuple=True)  # only the tokens routed to expert e
            if tok.numel() == 0:
                continue
            out.index_add_(0, tok, self.experts[e](h[tok]) * w[tok, slot, None])
        return out.view(B, T, D), logits


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.block_sparse_moe = SparseMoe(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
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
        B, T = ids.shape
        pos = torch.arange(T, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        mask = j <= i
        if self.c.get("sliding_window"):
            mask = mask & (i - j < self.c["sliding_window"])
        x = self.model.embed_tokens(ids)
        router = []
        for layer in self.model.layers:
            x, r = layer(x, cos, sin, mask)
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
