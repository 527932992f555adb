"""Train the default model. Resumes from training/work/ckpt.pt when it exists.

Command for the default model (see models/mixscope-tiny/README.md for the time it took, and for
how the shipped run went: its first 302 steps used --steps 800, then it resumed with --steps 640):
  /usr/bin/python3 training/train.py --steps 640 --batch 14 --context 256 --warmup 60 --threads 2
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import sentencepiece as spm
import torch

from mixtral import Mixtral, count_params, load_balancing_loss

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
MODEL_DIR = os.path.join(HERE, "..", "models", "mixscope-tiny")

CONFIG = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "vocab_size": 4096, "hidden_size": 256,
    "intermediate_size": 224, "num_hidden_layers": 6, "num_attention_heads": 8, "num_key_value_heads": 2,
    "head_dim": 32, "num_local_experts": 8, "num_experts_per_tok": 2, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
    "sliding_window": 128, "max_position_embeddings": 512, "tie_word_embeddings": False, "bos_token_id": 1,
    "eos_token_id": 2, "router_aux_loss_coef": 0.1, "hidden_act": "silu", "initializer_range": 0.02,
    "attention_dropout": 0.0, "output_router_logits": False, "torch_dtype": "float16",
}


def domain_tokens(sp):
    """Token ids of each domain's training text, cached as .npy."""
    out = {}
    base = os.path.join(WORK, "corpus")
    for d in sorted(os.listdir(base)):
        cache = os.path.join(WORK, f"tokens-{d}.npy")
        if not os.path.exists(cache):
            with open(os.path.join(base, d, "train.txt"), encoding="utf-8") as f:
                lines = f.read().split("\n")
            ids = []
            for chunk in range(0, len(lines), 2000):
                ids.extend(sp.encode("\n".join(lines[chunk:chunk + 2000])))
                ids.append(sp.piece_to_id("<0x0A>"))
            np.save(cache, np.array(ids, dtype=np.int16))
        out[d] = torch.from_numpy(np.load(cache).astype(np.int64))
    return out


def heldout_tokens(sp, n=4096):
    out = {}
    base = os.path.join(HERE, "data", "heldout")
    for f in sorted(os.listdir(base)):
        with open(os.path.join(base, f), encoding="utf-8") as fh:
            out[f[:-4]] = torch.tensor([sp.bos_id()] + sp.encode(fh.read())[: n - 1])
    return out


def batch(tokens, domains, B, T, rng):
    xs = []
    for b in range(B):
        d = domains[(rng.randrange(len(domains)))]
        t = tokens[d]
        s = rng.randrange(0, len(t) - T)
        xs.append(torch.cat([torch.tensor([1]), t[s:s + T]]))  # <s> then T tokens
    return torch.stack(xs)


@torch.no_grad()
def evaluate(model, held, T):
    model.eval()
    res = {}
    for d, ids in held.items():
        losses = []
        for s in range(0, len(ids) - 1, T):
            x = ids[s:s + T + 1]
            if len(x) < 2:
                continue
            logits, _ = model(x[None, :-1])
            losses.append((torch.nn.functional.cross_entropy(logits[0], x[1:], reduction="sum").item(), len(x) - 1))
        res[d] = sum(l for l, _ in losses) / sum(n for _, n in losses)
    model.train()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--aux-coef", type=float, default=None, help="override router_aux_loss_coef (e.g. for a balancing phase)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(WORK, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    cfg = dict(CONFIG, vocab_size=sp.get_piece_size())
    if args.aux_coef is not None:
        cfg["router_aux_loss_coef"] = args.aux_coef
    total, active = count_params(cfg)
    print(f"parameters: total {total:,}, active per token {active:,}", flush=True)

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = Mixtral(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    step, elapsed_before = 0, 0.0
    ckpt_path = os.path.join(WORK, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        step, elapsed_before = ck["step"], ck["elapsed"]
        rng.setstate(ck["py_rng"]); torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {step}", flush=True)

    tokens = domain_tokens(sp)
    held = heldout_tokens(sp)
    domains = sorted(tokens)
    lr_at = lambda s: args.lr * (s / args.warmup if s < args.warmup else
                                 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - args.warmup) / max(1, args.steps - args.warmup))))
    log = open(os.path.join(WORK, "log.jsonl"), "a")
    t0, last_ckpt = time.time(), time.time()

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": cfg,
                    "elapsed": elapsed_before + time.time() - t0, "py_rng": rng.getstate(), "torch_rng": torch.get_rng_state()},
                   ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    while step < args.steps:
        x = batch(tokens, domains, args.batch, args.context, rng)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        logits, router = model(x[:, :-1])
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        aux = load_balancing_loss(router, cfg["num_local_experts"], cfg["num_experts_per_tok"])
        loss = ce + cfg["router_aux_loss_coef"] * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        el = elapsed_before + time.time() - t0
        rec = {"step": step, "loss": round(ce.item(), 4), "aux": round(aux.item(), 4), "lr": lr_at(step - 1), "elapsed_s": round(el, 1),
               "tokens_per_s": round(step * args.batch * args.context / max(el, 1e-9), 1)}
        if step % args.eval_every == 0 or step == args.steps:
            rec["heldout"] = {d: round(v, 4) for d, v in evaluate(model, held, args.context).items()}
        log.write(json.dumps(rec) + "\n"); log.flush()
        if step % 10 == 0 or "heldout" in rec:
            print(json.dumps(rec), flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save(); last_ckpt = time.time()
    save()
    print("done", flush=True)


if __name__ == "__main__":
    main()
