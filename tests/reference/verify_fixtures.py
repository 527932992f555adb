"""Second, independent check of the golden fixtures: numpy only (no torch), reading the files on disk.

Parses every safetensors file by hand (format invariants checked), decodes F32/F16/BF16 with numpy,
runs a loop-style float64 Mixtral forward written separately from mixtral_reference.py, and compares
with expected.json. Also reports near-ties (router top-k margins, greedy top-1/top-2 logit gaps).

Usage: /usr/bin/python3 tests/reference/verify_fixtures.py [golden dir, default tests/fixtures/golden]
"""
import json
import math
import os
import struct
import sys

import numpy as np

SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, f"{path}: header length {n} not a multiple of 8"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    spans, out = [], {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = h["dtype"]
        count = int(np.prod(h["shape"])) if h["shape"] else 1
        assert e - b == count * SIZES[dt], f"{name}: span {e - b} != {count} x {SIZES[dt]}"
        spans.append((b, e))
        buf = data[b:e]
        if dt == "F32":
            a = np.frombuffer(buf, "<f4").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(buf, "<f2").astype(np.float64)
        else:  # BF16: the high 16 bits of an f32
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        out[name] = (dt, a.reshape(h["shape"]))
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(data), f"{path}: data section not fully covered"
    for (b0, e0), (b1, e1) in zip(spans, spans[1:]):
        assert e0 == b1, f"{path}: gap/overlap at {e0}..{b1}"
    return out, meta, len(data)


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = os.path.join(d, "model.safetensors.index.json")
    tensors, dtypes, total = {}, set(), 0
    if os.path.exists(idx):
        index = json.load(open(idx))
        shards = sorted(set(index["weight_map"].values()))
        for s in shards:
            t, _, nbytes = read_safetensors(os.path.join(d, s))
            for k, (dt, a) in t.items():
                assert index["weight_map"][k] == s, f"{k} is in {s}, index says {index['weight_map'][k]}"
            total += nbytes
            tensors.update({k: a for k, (dt, a) in t.items()})
            dtypes |= {dt for dt, _ in t.values()}
        assert set(index["weight_map"]) == set(tensors)
        print(f"  index total_size={index['metadata']['total_size']} (sum of tensor bytes={total})")
    else:
        t, meta, _ = read_safetensors(os.path.join(d, "model.safetensors"))
        tensors = {k: a for k, (dt, a) in t.items()}
        dtypes = {dt for dt, _ in t.values()}
    return cfg, tensors, dtypes


def expected_names(cfg):
    D, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H, Hkv, E = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_local_experts"]
    Dh = cfg.get("head_dim") or D // H
    s = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        s[p + "input_layernorm.weight"] = (D,)
        s[p + "post_attention_layernorm.weight"] = (D,)
        s[p + "self_attn.q_proj.weight"] = (H * Dh, D)
        s[p + "self_attn.k_proj.weight"] = (Hkv * Dh, D)
        s[p + "self_attn.v_proj.weight"] = (Hkv * Dh, D)
        s[p + "self_attn.o_proj.weight"] = (D, H * Dh)
        s[p + "block_sparse_moe.gate.weight"] = (E, D)
        for e in range(E):
            q = p + f"block_sparse_moe.experts.{e}."
            s[q + "w1.weight"] = (F, D)
            s[q + "w3.weight"] = (F, D)
            s[q + "w2.weight"] = (D, F)
    return s


def forward(cfg, W, ids, ablate=None, bias=None, zero=None):
    D, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    Dh = cfg.get("head_dim") or D // H
    E, K, eps = cfg["num_local_experts"], cfg["num_experts_per_tok"], cfg["rms_norm_eps"]
    win, theta = cfg.get("sliding_window"), cfg["rope_theta"]
    T, group = len(ids), H // Hkv

    def norm(v, w):
        return v / np.sqrt(np.mean(v * v) + eps) * w

    def rot(v, pos):  # v: (Dh,), rotate-half: pairs (i, i + Dh/2)
        half = Dh // 2
        out = np.empty_like(v)
        for i in range(half):
            ang = pos * theta ** (-(2 * i) / Dh)
            c, s = math.cos(ang), math.sin(ang)
            out[i] = v[i] * c - v[i + half] * s
            out[i + half] = v[i + half] * c + v[i] * s
        return out

    x = np.array([W["model.embed_tokens.weight"][t] for t in ids])
    recs = []
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        hs = [norm(x[t], W[p + "input_layernorm.weight"]) for t in range(T)]
        Q = [(W[p + "self_attn.q_proj.weight"] @ hs[t]).reshape(H, Dh) for t in range(T)]
        Kk = [(W[p + "self_attn.k_proj.weight"] @ hs[t]).reshape(Hkv, Dh) for t in range(T)]
        Vv = [(W[p + "self_attn.v_proj.weight"] @ hs[t]).reshape(Hkv, Dh) for t in range(T)]
        Q = [np.array([rot(Q[t][h], t) for h in range(H)]) for t in range(T)]
        Kk = [np.array([rot(Kk[t][g], t) for g in range(Hkv)]) for t in range(T)]
        pattern = np.zeros((H, T, T))
        z = np.zeros((T, H, Dh))
        for h in range(H):
            g = h // group
            for i in range(T):
                js = [j for j in range(i + 1) if win is None or i - j < win]
                sc = np.array([Q[i][h] @ Kk[j][g] / math.sqrt(Dh) for j in js])
                w = np.exp(sc - sc.max())
                w /= w.sum()
                for jj, j in enumerate(js):
                    pattern[h, i, j] = w[jj]
                    z[i, h] += w[jj] * Vv[j][g]
        if zero is not None and zero[0] == l:
            z[:, zero[1]] = 0
        x = x + np.array([W[p + "self_attn.o_proj.weight"] @ z[t].reshape(-1) for t in range(T)])
        rl = np.zeros((T, E))
        ch = np.zeros((T, K), dtype=int)
        cw = np.zeros((T, K))
        margin = np.zeros(T)
        new = np.zeros_like(x)
        for t in range(T):
            hv = norm(x[t], W[p + "post_attention_layernorm.weight"])
            r = W[p + "block_sparse_moe.gate.weight"] @ hv
            if bias is not None and bias[0] == l:
                r = r + np.array(bias[1])
            rl[t] = r
            allowed = [e for e in range(E) if not (ablate is not None and ablate[0] == l and e in ablate[1])]
            m = max(r[e] for e in allowed)
            pr = np.zeros(E)
            for e in allowed:
                pr[e] = math.exp(r[e] - m)
            pr /= pr.sum()
            order = sorted(range(E), key=lambda e: -pr[e])
            ch[t] = order[:K]
            cw[t] = pr[order[:K]] / pr[order[:K]].sum()
            margin[t] = pr[order[K - 1]] - pr[order[K]] if K < E else 1.0
            for k in range(K):
                q = p + f"block_sparse_moe.experts.{ch[t, k]}."
                a = W[q + "w1.weight"] @ hv
                a = a / (1 + np.exp(-a)) * (W[q + "w3.weight"] @ hv)
                new[t] += cw[t, k] * (W[q + "w2.weight"] @ a)
        x = x + new
        recs.append(dict(router_logits=rl, experts=ch, expert_weights=cw, attn_pattern=pattern,
                         resid_post=x.copy(), topk_margin=margin))
    logits = np.array([W["lm_head.weight"] @ norm(x[t], W["model.norm.weight"]) for t in range(T)])
    return logits, recs


def md(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def check(d):
    name = os.path.basename(d.rstrip("/"))
    cfg, W, dtypes = load(d)
    exp = json.load(open(os.path.join(d, "expected.json")))
    names = expected_names(cfg)
    assert set(W) == set(names), f"names differ: {set(W) ^ set(names)}"
    for k, s in names.items():
        assert tuple(W[k].shape) == s, f"{k}: {W[k].shape} != {s}"
    ids = exp["ids"]
    logits, recs = forward(cfg, W, ids)
    L = cfg["num_hidden_layers"]
    worst = {"logits": md(logits, exp["logits"])}
    for key in ("router_logits", "expert_weights", "attn_pattern", "resid_post", "topk_margin"):
        worst[key] = max(md(recs[l][key], exp[key][l]) for l in range(L))
    assert all(np.array_equal(recs[l]["experts"], np.array(exp["experts"][l])) for l in range(L)), "experts differ"
    for l in range(L):
        assert np.allclose(np.array(exp["expert_weights"][l]).sum(-1), 1, atol=1e-8)
        pat = np.array(exp["attn_pattern"][l])
        assert np.allclose(pat.sum(-1), 1, atol=1e-8)
        w = cfg.get("sliding_window")
        for i in range(len(ids)):
            for j in range(len(ids)):
                if j > i or (w is not None and i - j >= w):
                    assert np.all(pat[:, i, j] == 0)
    # prefix (incremental) equivalence for every t
    for t in range(1, len(ids)):
        lg, _ = forward(cfg, W, ids[:t])
        worst["prefix"] = max(worst.get("prefix", 0), md(lg, logits[:t]))
    # greedy with per-step top1-top2 gap
    g = list(exp["greedy"]["prompt"])
    gaps = []
    for _ in range(len(exp["greedy"]["tokens"])):
        lg, _ = forward(cfg, W, g)
        srt = np.sort(lg[-1])[::-1]
        gaps.append(srt[0] - srt[1])
        g.append(int(np.argmax(lg[-1])))
    assert g[len(exp["greedy"]["prompt"]):] == exp["greedy"]["tokens"], "greedy differs"
    iv_margins = []
    for iv in exp.get("interventions", []):
        if iv["kind"] == "ablate":
            lg, rr = forward(cfg, W, ids, ablate=(iv["layer"], iv["experts"]))
            assert [r["experts"].tolist() for r in rr] == iv["experts_chosen"], "ablation choice differs"
            # reported router_logits elsewhere stay the ORIGINAL ones
        elif iv["kind"] == "router_bias":
            lg, rr = forward(cfg, W, ids, bias=(iv["layer"], iv["bias"]))
        else:
            lg, rr = forward(cfg, W, ids, zero=(iv["layer"], iv["head"]))
        iv_margins.append((iv["kind"], float(min(r["topk_margin"].min() for r in rr))))
        worst["iv_" + iv["kind"]] = md(lg, iv["logits"])
    ok = all(v < 1e-7 for v in worst.values())
    print(f"{name}: dtypes={sorted(dtypes)} T={len(ids)} {'OK' if ok else 'MISMATCH'}")
    print("  max|diff| " + " ".join(f"{k}={v:.1e}" for k, v in worst.items()))
    print(f"  min top-k margin={min(r['topk_margin'].min() for r in recs):.2e}  "
          f"min greedy top1-top2 logit gap={min(gaps):.2e}  intervention min margins={[(k, f'{m:.1e}') for k, m in iv_margins]}")
    return ok


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")
    # The Mixtral cases sit at the top level; the other families' folders (olmoe/, qwen2_moe/, ...) hold
    # their cases one level down and are checked by verify_families.py.
    results = [check(os.path.join(root, n)) for n in sorted(os.listdir(root))
               if os.path.exists(os.path.join(root, n, "expected.json"))]
    sys.exit(0 if all(results) else 1)
