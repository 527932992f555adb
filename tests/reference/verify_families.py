"""Check the family golden fixtures (tests/fixtures/golden/<model_type>/<case>/) from the files on disk.

Two checks per case, both against expected.json:
  1. the PyTorch reference (moe_reference.py) re-run on the tensors read back from the safetensors files;
  2. a second, loop-style float64 forward in numpy only, written separately from moe_reference.py (its own
     reading of config.json, its own tensor-name table, its own routing), as verify_fixtures.py does for
     Mixtral.
Also: every tensor the family needs is present with its shape and nothing else; the safetensors layout
is sound; near-ties (router logit margins, greedy top-1/top-2 gaps) are reported. The Mixtral cases at
the top level are also run through moe_reference.py, which must reproduce them exactly.

Usage: /usr/bin/python3 tests/reference/verify_families.py [golden dir, default tests/fixtures/golden]
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import moe_reference  # noqa: E402
from safetensors_io import read_dir  # noqa: E402
from verify_fixtures import read_safetensors  # noqa: E402  (format invariants checked there)

FAMILY_DIRS = ("olmoe", "qwen2_moe", "qwen3_moe", "granitemoe")


# ---- numpy forward, loop style -----------------------------------------------------------------------

class Cfg:
    """config.json read with each family's transformers defaults (docs/families.md, tables)."""

    def __init__(self, c):
        t = c["model_type"]
        g = lambda k, d: d if c.get(k) is None else c[k]
        self.t, self.c = t, c
        self.D, self.V, self.L, self.H = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"], c["num_attention_heads"]
        self.Hkv = g("num_key_value_heads", self.H)
        self.Dh = g("head_dim", self.D // self.H) if t == "qwen3_moe" else self.D // self.H
        self.E = g("num_local_experts", 8) if t == "granitemoe" else g("num_experts", {"olmoe": 64, "qwen2_moe": 60, "qwen3_moe": 128}[t])
        self.K = g("num_experts_per_tok", {"olmoe": 8, "qwen2_moe": 4, "qwen3_moe": 8, "granitemoe": 2}[t])
        self.eps = g("rms_norm_eps", 1e-5 if t == "olmoe" else 1e-6)
        self.theta = g("rope_theta", 1e6 if t == "qwen2_moe" else 10000.0)
        self.renorm = True if t == "granitemoe" else g("norm_topk_prob", False)
        self.tie = g("tie_word_embeddings", False)
        self.qkv_bias = g("qkv_bias", True) if t == "qwen2_moe" else g("attention_bias", False)
        self.o_bias = False if t == "qwen2_moe" else g("attention_bias", False)
        self.clip = c.get("clip_qkv") if t == "olmoe" else None
        self.emb_mult = g("embedding_multiplier", 1.0) if t == "granitemoe" else 1.0
        self.res_mult = g("residual_multiplier", 1.0) if t == "granitemoe" else 1.0
        self.logit_div = g("logits_scaling", 1.0) if t == "granitemoe" else 1.0
        self.scale = g("attention_multiplier", 1.0) if t == "granitemoe" else 1 / math.sqrt(self.Dh)
        if t == "granitemoe" or t == "olmoe":
            self.F = g("intermediate_size", 11008 if t == "granitemoe" else 2048)
        else:
            self.F = g("moe_intermediate_size", 1408 if t == "qwen2_moe" else 768)
        self.Fd = g("intermediate_size", 5632 if t == "qwen2_moe" else 6144)
        self.Fs = g("shared_expert_intermediate_size", 5632) if t == "qwen2_moe" else None
        step, only = g("decoder_sparse_step", 1), g("mlp_only_layers", [])
        self.moe = [t in ("olmoe", "granitemoe") or (l not in only and (l + 1) % step == 0) for l in range(self.L)]


def expected_names(k):
    D, H, Hkv, Dh, E, F = k.D, k.H, k.Hkv, k.Dh, k.E, k.F
    n = {"model.embed_tokens.weight": (k.V, D), "model.norm.weight": (D,)}
    if not k.tie:
        n["lm_head.weight"] = (k.V, D)
    for l in range(k.L):
        p = f"model.layers.{l}."
        n[p + "input_layernorm.weight"] = n[p + "post_attention_layernorm.weight"] = (D,)
        for proj, rows in (("q", H * Dh), ("k", Hkv * Dh), ("v", Hkv * Dh)):
            n[p + f"self_attn.{proj}_proj.weight"] = (rows, D)
            if k.qkv_bias:
                n[p + f"self_attn.{proj}_proj.bias"] = (rows,)
        n[p + "self_attn.o_proj.weight"] = (D, H * Dh)
        if k.o_bias:
            n[p + "self_attn.o_proj.bias"] = (D,)
        if k.t == "olmoe":
            n[p + "self_attn.q_norm.weight"], n[p + "self_attn.k_norm.weight"] = (H * Dh,), (Hkv * Dh,)
        if k.t == "qwen3_moe":
            n[p + "self_attn.q_norm.weight"] = n[p + "self_attn.k_norm.weight"] = (Dh,)
        if not k.moe[l]:
            n[p + "mlp.gate_proj.weight"] = n[p + "mlp.up_proj.weight"] = (k.Fd, D)
            n[p + "mlp.down_proj.weight"] = (D, k.Fd)
        elif k.t == "granitemoe":
            n[p + "block_sparse_moe.router.layer.weight"] = (E, D)
            n[p + "block_sparse_moe.input_linear.weight"] = (E, 2 * F, D)
            n[p + "block_sparse_moe.output_linear.weight"] = (E, D, F)
        else:
            n[p + "mlp.gate.weight"] = (E, D)
            for e in range(E):
                n[p + f"mlp.experts.{e}.gate_proj.weight"] = n[p + f"mlp.experts.{e}.up_proj.weight"] = (F, D)
                n[p + f"mlp.experts.{e}.down_proj.weight"] = (D, F)
            if k.Fs:
                n[p + "mlp.shared_expert.gate_proj.weight"] = n[p + "mlp.shared_expert.up_proj.weight"] = (k.Fs, D)
                n[p + "mlp.shared_expert.down_proj.weight"] = (D, k.Fs)
                n[p + "mlp.shared_expert_gate.weight"] = (1, D)
    return n


def np_forward(k, W, ids, ablate=None, bias=None, zero=None, force=None):
    T, group = len(ids), k.H // k.Hkv
    silu = lambda a: a / (1 + np.exp(-a))

    def norm(v, w):
        return v / np.sqrt(np.mean(v * v) + k.eps) * w

    def rot(v, pos):  # v: (Dh,), pairs (i, i + Dh/2)
        half, out = k.Dh // 2, np.empty_like(v)
        for i in range(half):
            ang = pos * k.theta ** (-(2 * i) / k.Dh)
            c, s = math.cos(ang), math.sin(ang)
            out[i], out[i + half] = v[i] * c - v[i + half] * s, v[i + half] * c + v[i] * s
        return out

    def proj(p, name, hv, bias_on):
        y = W[p + name + ".weight"] @ hv
        return y + W[p + name + ".bias"] if bias_on else y

    def ffn(hv, g, u, d):
        return d @ (silu(g @ hv) * (u @ hv))

    x = np.array([W["model.embed_tokens.weight"][t] * k.emb_mult for t in ids])
    recs = []
    for l in range(k.L):
        p = f"model.layers.{l}."
        a = p + "self_attn."
        Q, Kk, Vv, qn, kn = [], [], [], [], []
        for t in range(T):
            hv = norm(x[t], W[p + "input_layernorm.weight"])
            q, kk, v = proj(a, "q_proj", hv, k.qkv_bias), proj(a, "k_proj", hv, k.qkv_bias), proj(a, "v_proj", hv, k.qkv_bias)
            if k.t == "olmoe":
                q, kk = norm(q, W[a + "q_norm.weight"]), norm(kk, W[a + "k_norm.weight"])
                if k.clip is not None:
                    q, kk, v = (np.clip(z, -k.clip, k.clip) for z in (q, kk, v))
            q, kk, v = q.reshape(k.H, k.Dh), kk.reshape(k.Hkv, k.Dh), v.reshape(k.Hkv, k.Dh)
            if k.t == "qwen3_moe":
                q = np.array([norm(q[h], W[a + "q_norm.weight"]) for h in range(k.H)])
                kk = np.array([norm(kk[h], W[a + "k_norm.weight"]) for h in range(k.Hkv)])
            qn.append(q.copy())
            kn.append(kk.copy())
            Q.append(np.array([rot(q[h], t) for h in range(k.H)]))
            Kk.append(np.array([rot(kk[h], t) for h in range(k.Hkv)]))
            Vv.append(v)
        pattern, z = np.zeros((k.H, T, T)), np.zeros((T, k.H, k.Dh))
        for h in range(k.H):
            for i in range(T):
                sc = np.array([Q[i][h] @ Kk[j][h // group] * k.scale for j in range(i + 1)])
                w = np.exp(sc - sc.max())
                w /= w.sum()
                pattern[h, i, :i + 1] = w
                for j in range(i + 1):
                    z[i, h] += w[j] * Vv[j][h // group]
        if zero is not None and zero[0] == l:
            z[:, zero[1]] = 0
        x = x + k.res_mult * np.array([proj(a, "o_proj", z[t].reshape(-1), k.o_bias) for t in range(T)])
        rec = dict(attn_pattern=pattern, q_normed=np.array(qn), k_normed=np.array(kn))
        mlp = np.zeros_like(x)
        if k.moe[l]:
            rl, pr_all = np.zeros((T, k.E)), np.zeros((T, k.E))
            ch, cw = np.zeros((T, k.K), dtype=int), np.zeros((T, k.K))
            sh_out, sh_gate, margin = np.zeros((T, k.D)), np.zeros(T), np.zeros(T)
            router = W[p + ("block_sparse_moe.router.layer.weight" if k.t == "granitemoe" else "mlp.gate.weight")]
            for t in range(T):
                hv = norm(x[t], W[p + "post_attention_layernorm.weight"])
                r = router @ hv + (np.array(bias[1]) if bias is not None and bias[0] == l else 0)
                rl[t] = r
                allowed = [e for e in range(k.E) if not (ablate is not None and ablate[0] == l and e in ablate[1])]
                m = max(r[e] for e in allowed)
                pr = np.zeros(k.E)
                for e in allowed:
                    pr[e] = math.exp(r[e] - m)
                pr /= pr.sum()
                pr_all[t] = pr
                order = sorted(allowed, key=lambda e: -r[e])     # by logit, as granite does; same order as by probability
                chosen = order[:k.K]
                margin[t] = r[order[k.K - 1]] - r[order[k.K]] if len(order) > k.K else math.inf
                forced = force is not None and force[0] == l and (force[1].get("positions") is None or t in force[1]["positions"])
                given = forced and force[1].get("weights") is not None
                if forced:
                    chosen = list(force[1]["experts"])
                wts = np.array(force[1]["weights"], dtype=np.float64) if given else pr[chosen]
                if k.renorm and not given:
                    wts = wts / wts.sum()
                ch[t], cw[t] = chosen, wts
                for kk, e in enumerate(chosen):
                    if k.t == "granitemoe":
                        fused = W[p + "block_sparse_moe.input_linear.weight"][e]
                        y = ffn(hv, fused[:k.F], fused[k.F:], W[p + "block_sparse_moe.output_linear.weight"][e])
                    else:
                        q = p + f"mlp.experts.{e}."
                        y = ffn(hv, W[q + "gate_proj.weight"], W[q + "up_proj.weight"], W[q + "down_proj.weight"])
                    mlp[t] += wts[kk] * y
                if k.Fs:
                    s = p + "mlp.shared_expert."
                    sh_out[t] = ffn(hv, W[s + "gate_proj.weight"], W[s + "up_proj.weight"], W[s + "down_proj.weight"])
                    sh_gate[t] = 1 / (1 + math.exp(-(W[p + "mlp.shared_expert_gate.weight"][0] @ hv)))
                    mlp[t] += sh_gate[t] * sh_out[t]
            rec.update(router_logits=rl, router_probs=pr_all, experts=ch, expert_weights=cw, logit_margin=margin,
                       shared_out=sh_out, shared_gate=sh_gate)
        else:
            for t in range(T):
                hv = norm(x[t], W[p + "post_attention_layernorm.weight"])
                mlp[t] = ffn(hv, W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"], W[p + "mlp.down_proj.weight"])
        mlp *= k.res_mult
        x = x + mlp
        rec.update(mlp_out=mlp, resid_post=x.copy())
        recs.append(rec)
    head = W["model.embed_tokens.weight"] if k.tie else W["lm_head.weight"]
    return np.array([head @ norm(x[t], W["model.norm.weight"]) / k.logit_div for t in range(T)]), recs


# ---- checks -------------------------------------------------------------------------------------------

def md(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def load(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    W, dtypes = {}, set()
    for f in files:
        t, _, _ = read_safetensors(os.path.join(d, f))
        if os.path.exists(idx):
            wm = json.load(open(idx))["weight_map"]
            assert all(wm[n] == f for n in t), f"{f}: index names another shard"
        W.update({n: a for n, (dt, a) in t.items()})
        dtypes |= {dt for dt, _ in t.values()}
    return W, dtypes


def check_case(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    exp = json.load(open(os.path.join(d, "expected.json")))
    k = Cfg(cfg)
    W, dtypes = load(d)
    names = expected_names(k)
    assert set(W) == set(names), f"tensor names differ: {sorted(set(W) ^ set(names))[:6]}"
    for n, shape in names.items():
        assert tuple(W[n].shape) == shape, f"{n}: {W[n].shape} != {shape}"
    assert exp["family"] == k.t and exp["moe_layers"] == k.moe
    ids, L = exp["ids"], k.L
    worst = {}

    # 1. the PyTorch reference on the tensors read back
    Wt, _ = read_dir(d)
    lt, rt = moe_reference.forward(cfg, Wt, ids)
    worst["torch_logits"] = md(lt, exp["logits"])
    for l in range(L):
        if k.moe[l]:
            assert rt[l]["experts"].tolist() == exp["experts"][l], "torch reference: experts differ"

    # 2. the numpy forward
    logits, recs = np_forward(k, W, ids)
    worst["logits"] = md(logits, exp["logits"])
    worst["embed"] = md(np.array([W["model.embed_tokens.weight"][t] * k.emb_mult for t in ids]), exp["embed"])
    for key in ("attn_pattern", "mlp_out", "resid_post"):
        worst[key] = max(md(recs[l][key], exp[key][l]) for l in range(L))
    for key in ("router_logits", "router_probs", "expert_weights", "topk_margin") + (("shared_out", "shared_gate") if k.Fs else ()):
        vals = [md(recs[l][key] if key != "topk_margin" else kth_margin(recs[l]["router_probs"], k.K), exp[key][l])
                for l in range(L) if k.moe[l]]
        worst[key] = max(vals)
        assert all(exp[key][l] is None for l in range(L) if not k.moe[l]), f"{key}: a dense layer has a value"
    if k.t in ("olmoe", "qwen3_moe"):
        for key in ("q_normed", "k_normed"):
            worst[key] = max(md(recs[l][key], exp[key][l]) for l in range(L))
    for l in range(L):
        if k.moe[l]:
            assert recs[l]["experts"].tolist() == exp["experts"][l], f"layer {l}: experts differ"
            if k.renorm:
                assert np.allclose(np.array(exp["expert_weights"][l]).sum(-1), 1, atol=1e-8)
    for t in range(1, len(ids)):  # prefix (incremental) equivalence
        lg, _ = np_forward(k, W, ids[:t])
        worst["prefix"] = max(worst.get("prefix", 0), md(lg, logits[:t]))
    g, gaps = list(exp["greedy"]["prompt"]), []
    for _ in range(len(exp["greedy"]["tokens"])):
        lg, rr = np_forward(k, W, g)
        srt = np.sort(lg[-1])[::-1]
        gaps.append(srt[0] - srt[1])
        g.append(int(np.argmax(lg[-1])))
    assert g[len(exp["greedy"]["prompt"]):] == exp["greedy"]["tokens"], "greedy differs"
    for iv in exp.get("interventions", []):
        kw = {"ablate": lambda: dict(ablate=(iv["layer"], iv["experts"])),
              "router_bias": lambda: dict(bias=(iv["layer"], iv["bias"])),
              "zero_head": lambda: dict(zero=(iv["layer"], iv["head"])),
              "force": lambda: dict(force=(iv["layer"], iv))}[iv["kind"]]()
        lg, rr = np_forward(k, W, ids, **kw)
        worst["iv_" + iv["kind"]] = md(lg, iv["logits"])
        if "experts_chosen" in iv:
            got = [rr[l]["experts"].tolist() if k.moe[l] else None for l in range(L)]
            assert got == iv["experts_chosen"], f"{iv['kind']}: choices differ"
    ok = all(v < 1e-7 for v in worst.values())
    margin = min(float(r["logit_margin"].min()) for r in recs if "logit_margin" in r)
    print(f"{k.t}/{os.path.basename(d)}: dtypes={sorted(dtypes)} T={len(ids)} {'OK' if ok else 'MISMATCH'}")
    print("  max|diff| " + " ".join(f"{n}={v:.1e}" for n, v in worst.items()))
    print(f"  min top-k router logit margin={margin:.2e}  min greedy top1-top2 logit gap={min(gaps):.2e}")
    return ok


def kth_margin(probs, K):
    s = np.sort(probs, axis=-1)[:, ::-1]
    return s[:, K - 1] - s[:, K] if probs.shape[1] > K else np.ones(len(probs))


def check_mixtral(d):
    """moe_reference.py must reproduce the Mixtral fixtures too (it has a mixtral family)."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    exp = json.load(open(os.path.join(d, "expected.json")))
    W, _ = read_dir(d)
    logits, layers = moe_reference.forward(cfg, W, exp["ids"])
    diff = md(logits, exp["logits"])
    same = all(layers[l]["experts"].tolist() == exp["experts"][l] for l in range(len(layers)))
    print(f"mixtral/{os.path.basename(d)} via moe_reference: max|diff| logits={diff:.1e} experts {'same' if same else 'DIFFER'}")
    return diff < 1e-7 and same


if __name__ == "__main__":
    torch.set_num_threads(1)
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")
    results = []
    for fam in FAMILY_DIRS:
        fd = os.path.join(root, fam)
        for n in sorted(os.listdir(fd)) if os.path.isdir(fd) else []:
            results.append(check_case(os.path.join(fd, n)))
    for n in sorted(os.listdir(root)):
        if os.path.exists(os.path.join(root, n, "expected.json")):
            results.append(check_mixtral(os.path.join(root, n)))
    print(f"{sum(results)}/{len(results)} cases OK")
    sys.exit(0 if results and all(results) else 1)
