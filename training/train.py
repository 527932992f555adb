"""Train the default model with one schedule, fixed when the run starts, resumable from its checkpoints.

Run (what `npm run train` does; the same command resumes a run that was stopped):
    /usr/bin/python3 training/train.py
Long runs on the shared machine, so that they survive the shell and yield the CPU:
    setsid nohup nice -n 19 /usr/bin/python3 training/train.py > training/work/train.log 2>&1 &

A run lives in training/work/run/:
    schedule.json          every hyperparameter, written at the first start and read on each resume;
                           a flag that disagrees with it is an error (the schedule is a function of
                           the step, so a resumed run is the run that was planned)
    ckpt.pt                model, optimizer, step, RNG state: every --ckpt-minutes, at each milestone,
                           on SIGTERM/SIGINT and at the end (written to a temporary file, then renamed)
    milestones/step-NNNNNN.pt  the model at 1, 2, 5, 10, 25, 50 and 100% of the steps
                           (training/routing_history.py reads them)
    log.jsonl              one line a step: loss, router aux loss, learning rate, time, tokens/s;
                           every --eval-every steps the loss on the first 4096 held-out tokens per domain
The process writes its PID to /tmp/mixscope-train.pid while it runs. Pausing it with kill -STOP
and resuming with kill -CONT is harmless; wall time paused counts in elapsed_s, not in cpu_s.

Data: each domain's training tokens (training/work/tokens/<domain>.bin, uint16, built from
training/work/corpus/<domain>/train.txt with the committed tokenizer) are cut into windows of
`context` tokens; sequence j of the run is <s> followed by one window of a domain drawn with the
schedule's mix, windows taken in a seeded permutation per domain and epoch. So step s's batch
depends only on s, and a resumed run sees exactly the data it would have seen.
"""
import os

import argparse
import hashlib
import json
import math
import signal
import time

import numpy as np
import torch

import fastenv
from mixtral import Mixtral, count_params, load_balancing_loss

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
RUN = os.path.join(WORK, "run")
MODEL_DIR = os.path.join(HERE, "..", "models", "mixscope-tiny")
PID_FILE = "/tmp/mixscope-train.pid"

CONFIG = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "vocab_size": 4096, "hidden_size": 256,
    "intermediate_size": 224, "num_hidden_layers": 6, "num_attention_heads": 8, "num_key_value_heads": 2,
    "head_dim": 32, "num_local_experts": 8, "num_experts_per_tok": 2, "rms_norm_eps": 1e-5, "rope_theta": 1e6,
    "sliding_window": 128, "max_position_embeddings": 512, "tie_word_embeddings": False, "bos_token_id": 1,
    "eos_token_id": 2, "router_aux_loss_coef": 0.1, "hidden_act": "silu", "initializer_range": 0.02,
    "attention_dropout": 0.0, "output_router_logits": False, "torch_dtype": "float16",
}

# The schedule of the default model. 6400 steps x 16 x 256 = 26.2 M tokens. The mix gives the
# four languages the issue measures most of the tokens; maths (short, regular, already learnt
# best) and man pages (English prose about C and the shell) less. See training/README.md.
SCHEDULE = {
    "steps": 6400, "batch": 16, "context": 256,
    "lr": 2e-3, "min_lr_ratio": 0.1, "warmup": 200,
    "weight_decay": 0.1, "betas": [0.9, 0.95], "eps": 1e-8, "clip": 1.0,
    "aux_coef": CONFIG["router_aux_loss_coef"], "seed": 1337,
    "mix": {"english": 0.2, "german": 0.2, "python": 0.18, "c": 0.18, "manpages": 0.14, "math": 0.1},
    "milestones_pct": [1, 2, 5, 10, 25, 50, 100],
}


# ---------------------------------------------------------------- schedule

def lr_at(step, s):
    """Linear warm-up to s["lr"] over s["warmup"] steps, then cosine down to s["lr"] * min_lr_ratio at s["steps"]."""
    if step < s["warmup"]:
        return s["lr"] * (step + 1) / s["warmup"]
    t = (step - s["warmup"]) / max(1, s["steps"] - s["warmup"])
    return s["lr"] * (s["min_lr_ratio"] + (1 - s["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def milestone_steps(s):
    return sorted({max(1, round(s["steps"] * p / 100)) for p in s["milestones_pct"]})


# ---------------------------------------------------------------- data

def token_file(domain):
    return os.path.join(WORK, "tokens", f"{domain}.bin")


def tokenize_corpus(domains=None):
    """training/work/tokens/<domain>.bin (uint16) from training/work/corpus/<domain>/train.txt, rebuilt
    when the text changed (its SHA-256 is kept beside the tokens)."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    base = os.path.join(WORK, "corpus")
    os.makedirs(os.path.join(WORK, "tokens"), exist_ok=True)
    for d in domains or sorted(os.listdir(base)):
        path = os.path.join(base, d, "train.txt")
        with open(path, "rb") as f:
            raw = f.read()
        digest = hashlib.sha256(raw).hexdigest()
        meta = token_file(d) + ".json"
        if os.path.exists(meta) and json.load(open(meta)).get("text_sha256") == digest:
            continue
        lines = raw.decode("utf-8").split("\n")
        # encode in chunks of 2000 lines; each chunk is followed by the newline that separated it
        chunks = ["\n".join(lines[i:i + 2000]) for i in range(0, len(lines), 2000)]
        nl = sp.piece_to_id("<0x0A>")
        ids = []
        for part in sp.encode(chunks, num_threads=2):
            ids.extend(part)
            ids.append(nl)
        arr = np.array(ids, dtype=np.uint16)
        arr.tofile(token_file(d) + ".tmp")
        os.replace(token_file(d) + ".tmp", token_file(d))
        with open(meta, "w") as f:
            json.dump({"text_sha256": digest, "text_bytes": len(raw), "tokens": len(arr)}, f)
        print(f"tokenized {d}: {len(raw):,} bytes -> {len(arr):,} tokens", flush=True)


def load_tokens(domains):
    return {d: np.memmap(token_file(d), dtype=np.uint16, mode="r") for d in domains}


def sequence_plan(s, n_windows):
    """For each sequence j of the run: its domain (index into sorted mix) and window. Domains are
    drawn with the mix's weights; each domain's windows are taken in a fresh seeded permutation
    per epoch, so a domain repeats text only after it has used all of it."""
    doms = sorted(s["mix"])
    p = np.array([s["mix"][d] for d in doms], dtype=np.float64)
    n = s["steps"] * s["batch"]
    dom = np.random.default_rng(s["seed"]).choice(len(doms), size=n, p=p / p.sum())
    win = np.zeros(n, dtype=np.int64)
    for di, d in enumerate(doms):
        js = np.nonzero(dom == di)[0]
        epochs = -(-len(js) // n_windows[d])
        order = np.concatenate([np.random.default_rng([s["seed"], di, e]).permutation(n_windows[d]) for e in range(max(1, epochs))])
        win[js] = order[:len(js)]
    return dom, win


def make_batch(step, s, plan, tokens):
    """(batch, context + 1) token ids: <s> then one window of `context` tokens per row."""
    B, T = s["batch"], s["context"]
    doms = sorted(s["mix"])
    dom, win = plan
    x = np.ones((B, T + 1), dtype=np.int64)
    for b in range(B):
        j = step * B + b
        w = win[j]
        x[b, 1:] = tokens[doms[dom[j]]][w * T:(w + 1) * T]
    return torch.from_numpy(x)


def heldout_tokens(sp, n=4096):
    out = {}
    base = os.path.join(HERE, "data", "heldout")
    for f in sorted(os.listdir(base)):
        with open(os.path.join(base, f), encoding="utf-8") as fh:
            out[f[:-4]] = torch.tensor([sp.bos_id()] + sp.encode(fh.read())[: n - 1])
    return out


# ---------------------------------------------------------------- one step

def make_optimizer(model, lr, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-8):
    """AdamW, decay on matrices only; foreach: one kernel per operation over all tensors."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=tuple(betas), eps=eps, foreach=True)


def train_step(model, opt, x, cfg, aux_coef=None, clip=1.0):
    """Forward, backward, clip, AdamW on one batch x (B, T + 1). Returns (cross-entropy, aux loss)."""
    aux_coef = cfg["router_aux_loss_coef"] if aux_coef is None else aux_coef
    logits, router = model(x[:, :-1])
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
    aux = load_balancing_loss(router, cfg["num_local_experts"], cfg["num_experts_per_tok"])
    opt.zero_grad(set_to_none=True)
    (ce + aux_coef * aux).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return ce.item(), aux.item()


@torch.no_grad()
def evaluate(model, held, T):
    model.eval()
    res = {}
    for d, ids in held.items():
        total, n = 0.0, 0
        for s in range(0, len(ids) - 1, T):
            x = ids[s:s + T + 1]
            if len(x) < 2:
                continue
            logits, _ = model(x[None, :-1])
            total += torch.nn.functional.cross_entropy(logits[0], x[1:], reduction="sum").item()
            n += len(x) - 1
        res[d] = total / n
    model.train()
    return res


# ---------------------------------------------------------------- the run

def fixed_schedule(args):
    """The run's schedule: schedule.json if the run exists (flags must agree), else SCHEDULE with the flags."""
    given = {k: v for k, v in {"steps": args.steps, "batch": args.batch, "context": args.context, "lr": args.lr,
                               "warmup": args.warmup}.items() if v is not None}
    path = os.path.join(RUN, "schedule.json")
    if os.path.exists(path):
        s = json.load(open(path))
        clash = {k: (v, s[k]) for k, v in given.items() if s[k] != v}
        if clash:
            raise SystemExit(f"{path}: the run's schedule is fixed; flags disagree with it: "
                             + ", ".join(f"--{k} {a} (run has {b})" for k, (a, b) in clash.items())
                             + ". Move training/work/run away to start a new run.")
        return s, True
    return dict(SCHEDULE, **given), False


def write_pid():
    with open(PID_FILE, "w") as f:
        f.write(f"{os.getpid()}\n")


def remove_pid():
    try:
        with open(PID_FILE) as f:
            mine = f.read().strip() == str(os.getpid())
        if mine:
            os.remove(PID_FILE)
    except FileNotFoundError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--context", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-minutes", type=float, default=10)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--stop-after", type=int, help="stop (with a checkpoint) after this many steps of this process")
    args = ap.parse_args()
    fastenv.reexec()
    torch.set_num_threads(args.threads)
    import sentencepiece as spm

    s, resuming = fixed_schedule(args)
    os.makedirs(os.path.join(RUN, "milestones"), exist_ok=True)
    tokenize_corpus(sorted(s["mix"]))
    n_tokens = {d: int(json.load(open(token_file(d) + ".json"))["tokens"]) for d in sorted(s["mix"])}
    if resuming and s.get("corpus_tokens") != n_tokens:
        raise SystemExit(f"the corpus changed since the run started (tokens per domain {s.get('corpus_tokens')} -> {n_tokens}); "
                         "rebuild the run's corpus or move training/work/run away")
    s["corpus_tokens"] = n_tokens
    if not resuming:
        with open(os.path.join(RUN, "schedule.json"), "w") as f:
            json.dump(s, f, indent=1)
    T, B = s["context"], s["batch"]
    tokens = load_tokens(sorted(s["mix"]))
    plan = sequence_plan(s, {d: len(t) // T for d, t in tokens.items()})
    milestones = milestone_steps(s)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    cfg = dict(CONFIG, vocab_size=sp.get_piece_size(), router_aux_loss_coef=s["aux_coef"])
    total, active = count_params(cfg)
    torch.manual_seed(s["seed"])
    model = Mixtral(cfg)
    opt = make_optimizer(model, s["lr"], s["weight_decay"], s["betas"], s["eps"])
    step, elapsed_before, cpu_before = 0, 0.0, 0.0
    ckpt_path = os.path.join(RUN, "ckpt.pt")
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed_before, cpu_before = ck["step"], ck["elapsed"], ck.get("cpu", 0.0)
        torch.set_rng_state(ck["torch_rng"])
    print(f"parameters: total {total:,}, active per token {active:,}; schedule {json.dumps(s)}; "
          f"{'resuming at step ' + str(step) if step else 'starting'}; pid {os.getpid()}", flush=True)

    held = heldout_tokens(sp)
    log = open(os.path.join(RUN, "log.jsonl"), "a")
    t0, c0, last_ckpt = time.time(), time.process_time(), time.time()
    stop = {"signal": None}

    def on_signal(sig, _frame):
        stop["signal"] = sig

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    write_pid()

    def save(path, full=True):
        state = {"model": model.state_dict(), "step": step, "config": cfg, "schedule": s,
                 "elapsed": elapsed_before + time.time() - t0, "cpu": cpu_before + time.process_time() - c0}
        if full:
            state.update(opt=opt.state_dict(), torch_rng=torch.get_rng_state())
        torch.save(state, path + ".tmp")
        os.replace(path + ".tmp", path)

    try:
        start_step = step
        while step < s["steps"] and stop["signal"] is None:
            lr = lr_at(step, s)
            for g in opt.param_groups:
                g["lr"] = lr
            ts = time.time()
            ce, aux = train_step(model, opt, make_batch(step, s, plan, tokens), cfg, s["aux_coef"], s["clip"])
            step += 1
            el = elapsed_before + time.time() - t0
            rec = {"step": step, "loss": round(ce, 4), "aux": round(aux, 4), "lr": lr, "step_s": round(time.time() - ts, 3),
                   "elapsed_s": round(el, 1), "cpu_s": round(cpu_before + time.process_time() - c0, 1),
                   "tokens": step * B * T, "tokens_per_s": round(step * B * T / max(el, 1e-9), 1)}
            if step % args.eval_every == 0 or step in milestones:
                rec["heldout"] = {d: round(v, 4) for d, v in evaluate(model, held, T).items()}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if step % 10 == 0 or "heldout" in rec:
                print(json.dumps(rec), flush=True)
            if step in milestones:
                save(os.path.join(RUN, "milestones", f"step-{step:06d}.pt"), full=False)
                save(ckpt_path)
                last_ckpt = time.time()
            elif time.time() - last_ckpt > args.ckpt_minutes * 60:
                save(ckpt_path)
                last_ckpt = time.time()
            if args.stop_after and step - start_step >= args.stop_after:
                break
        save(ckpt_path)
        print(f"{'stopped by signal ' + str(stop['signal']) if stop['signal'] else 'done' if step >= s['steps'] else 'paused'}"
              f" at step {step}; checkpoint {ckpt_path}", flush=True)
    finally:
        remove_pid()


if __name__ == "__main__":
    main()
