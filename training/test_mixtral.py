"""The fast training model computes the Mixtral forward and its gradients exactly as the plain one.

Run: cd training && /usr/bin/python3 -m unittest -v test_mixtral

`plain_forward` is the model code the trainer used before it was made faster (attention with
repeat_interleave and a masked_fill mask, the sparse MoE as a loop over experts with index_add),
reading the same parameters. training/mixtral.py must give the same logits, router logits, loss and
gradient of every parameter, in float64 (to rounding) and in float32 (to 1e-5 relative), and the same
logits as the independent reference tests/reference/mixtral_reference.py.
"""
import math
import os
import sys
import unittest

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
import train  # noqa: E402
from mixtral import Mixtral, load_balancing_loss, rotate_half  # noqa: E402
from mixtral_reference import forward as reference_forward  # noqa: E402

SMALL = dict(train.CONFIG, vocab_size=97, hidden_size=32, intermediate_size=24, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_local_experts=4,
             num_experts_per_tok=2, sliding_window=5)


def plain_forward(model, ids):
    """The previous training/mixtral.py forward, on model's parameters."""
    c = model.c
    B, T = ids.shape
    H, Hkv, Dh, E, K = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["num_local_experts"], c["num_experts_per_tok"]
    freqs = torch.outer(torch.arange(T, dtype=model.inv_freq.dtype), model.inv_freq)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    mask = (j <= i) & (i - j < c["sliding_window"])
    x = model.model.embed_tokens(ids)
    routers = []
    for layer in model.model.layers:
        a = layer.self_attn
        h = layer.input_layernorm(x)
        q = F.linear(h, a.q_proj.weight).view(B, T, H, Dh).transpose(1, 2)
        k = F.linear(h, a.k_proj.weight).view(B, T, Hkv, Dh).transpose(1, 2)
        v = F.linear(h, a.v_proj.weight).view(B, T, Hkv, Dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(Dh)).masked_fill(~mask, float("-inf")).softmax(-1)
        x = x + F.linear((att @ v).transpose(1, 2).reshape(B, T, H * Dh), a.o_proj.weight)
        moe = layer.block_sparse_moe
        h = layer.post_attention_layernorm(x).reshape(-1, x.shape[-1])
        logits = F.linear(h, moe.gate.weight)
        w, idx = logits.float().softmax(-1).topk(K, dim=-1)
        w = (w / w.sum(-1, keepdim=True)).to(h.dtype)
        out = torch.zeros_like(h)
        for e in range(E):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel():
                ex = moe.experts[e]
                y = F.linear(F.silu(F.linear(h[tok], ex.w1.weight)) * F.linear(h[tok], ex.w3.weight), ex.w2.weight)
                out.index_add_(0, tok, y * w[tok, slot, None])
        x = x + out.view(B, T, -1)
        routers.append(logits)
    return model.lm_head(model.model.norm(x)), routers


def loss_of(logits, routers, ids, c):
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    return ce + c["router_aux_loss_coef"] * load_balancing_loss(routers, c["num_local_experts"], c["num_experts_per_tok"])


def grads(model, fwd, ids):
    model.zero_grad(set_to_none=True)
    logits, routers = fwd(model, ids[:, :-1])
    loss = loss_of(logits, routers, ids, model.c)
    loss.backward()
    return logits.detach(), [r.detach() for r in routers], loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


class SameMaths(unittest.TestCase):
    def assertClose(self, a, b, tol, what):
        """max |a - b| within tol of the largest |b|: the scale of a tensor, not of its smallest entries."""
        err = ((a - b).abs().max() / b.abs().max()).item()
        self.assertLessEqual(err, tol, f"{what}: max |difference| / max |value| = {err:.2e}")

    def compare(self, cfg, dtype, B, T, tol, std):
        torch.manual_seed(7)
        model = Mixtral(cfg).to(dtype)
        with torch.no_grad():  # weights larger than the init's, so that routing and attention are far from uniform
            for p in model.parameters():
                p.normal_(0, std if p.dim() > 1 else 1.0)
        ids = torch.randint(0, cfg["vocab_size"], (B, T + 1))
        fast = grads(model, lambda m, x: m(x), ids)
        plain = grads(model, plain_forward, ids)
        self.assertClose(fast[0], plain[0], tol, "logits")
        for l, (a, b) in enumerate(zip(fast[1], plain[1])):
            self.assertClose(a, b, tol, f"router logits of layer {l}")
        self.assertAlmostEqual(fast[2], plain[2], delta=tol * abs(plain[2]))
        for n in plain[3]:
            self.assertClose(fast[3][n], plain[3][n], tol, f"gradient of {n}")

    def test_float64_small_model(self):
        self.compare(SMALL, torch.float64, B=3, T=11, tol=1e-12, std=0.3)

    def test_float32_default_architecture(self):
        self.compare(train.CONFIG, torch.float32, B=2, T=160, tol=2e-5, std=0.08)

    def test_independent_reference_logits(self):
        torch.manual_seed(3)
        model = Mixtral(SMALL).double()
        ids = torch.randint(0, SMALL["vocab_size"], (1, 13))
        W = {n: p.detach() for n, p in model.named_parameters()}
        ref, layers = reference_forward(SMALL, W, ids[0].tolist())
        with torch.no_grad():
            logits, routers = model(ids)
        # 1e-5, not rounding: the model's RoPE frequencies are a float32 buffer (as in HF), the reference's float64
        torch.testing.assert_close(logits[0], ref, rtol=1e-5, atol=1e-6)
        for r, rec in zip(routers, layers):
            torch.testing.assert_close(r, rec["router_logits"], rtol=1e-5, atol=1e-6)

    def test_an_expert_without_tokens(self):
        """Every token routed away from some experts: the forward skips them, their gradients are zero."""
        torch.manual_seed(5)
        model = Mixtral(SMALL).double()
        with torch.no_grad():
            for layer in model.model.layers:
                layer.block_sparse_moe.gate.weight[2:] = 0
                layer.block_sparse_moe.gate.weight[:2] = 0
                layer.block_sparse_moe.gate.weight[:2, 0] = 50  # experts 0 and 1 win for every token
        ids = torch.full((2, 9), 5)
        ids[:, 0] = 1
        fast = grads(model, lambda m, x: m(x), ids)
        plain = grads(model, plain_forward, ids)
        torch.testing.assert_close(fast[0], plain[0], rtol=1e-10, atol=1e-12)


class Schedule(unittest.TestCase):
    def test_warmup_then_cosine_to_the_floor(self):
        s = train.SCHEDULE
        self.assertAlmostEqual(train.lr_at(s["warmup"] - 1, s), s["lr"])
        self.assertLess(train.lr_at(0, s), s["lr"] / 100)
        self.assertAlmostEqual(train.lr_at(s["steps"], s), s["lr"] * s["min_lr_ratio"])
        lrs = [train.lr_at(k, s) for k in range(s["warmup"], s["steps"] + 1, 50)]
        self.assertTrue(all(a >= b for a, b in zip(lrs, lrs[1:])))

    def test_milestones(self):
        self.assertEqual(train.milestone_steps(train.SCHEDULE), [64, 128, 320, 640, 1600, 3200, 6400])

    def test_the_data_of_a_step_depends_only_on_the_step(self):
        s = dict(train.SCHEDULE, steps=50, batch=4, context=8)
        n_windows = {d: 7 + i for i, d in enumerate(sorted(s["mix"]))}
        dom, win = train.sequence_plan(s, n_windows)
        dom2, win2 = train.sequence_plan(s, n_windows)
        self.assertTrue((dom == dom2).all() and (win == win2).all())
        doms = sorted(s["mix"])
        for di, d in enumerate(doms):
            w = win[dom == di]
            first = w[:n_windows[d]]  # a whole epoch before any window repeats
            self.assertEqual(len(set(first.tolist())), len(first))
            self.assertTrue((w < n_windows[d]).all())
        share = {d: (dom == i).mean() for i, d in enumerate(doms)}
        for d in doms:
            self.assertAlmostEqual(share[d], s["mix"][d], delta=0.05)


if __name__ == "__main__":
    unittest.main()
