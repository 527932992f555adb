"""Trainer speed before and after, side by side: tokens/s of one training step (forward, backward,
gradient clipping, AdamW) on the same weights and the same batches.

Run: /usr/bin/python3 training/bench_train.py [--rev 5d3e2e3] [--batch 14] [--context 256] [--runs 3] [--steps 6]

"before" is the trainer of git revision --rev as it ran: its training/mixtral.py, torch.optim.AdamW's
defaults, torch.set_num_threads(2), the process environment as it is. "after" is this trainer:
train.py's environment (tcmalloc, OpenBLAS's AVX-512 kernels, sleeping worker threads; see
fastenv.py), training/mixtral.py and train.train_step. Each run is a fresh process
of --steps steps; runs alternate (before, after, before, ...) so that both meet the same load from
other processes on the machine. The first step of each process is a warm-up and is not counted.
Prints every step's wall and CPU seconds, the medians and their ratio, and checks that both
trainers compute the same first loss (same maths: training/test_mixtral.py checks it closely).
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def module_at(rev, path, name):
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=HERE, capture_output=True, text=True, check=True).stdout
    f = os.path.join(tempfile.mkdtemp(), f"{name}.py")
    with open(f, "w") as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location(name, f)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def worker(which, rev, B, T, steps):
    """One process: `steps` training steps of one trainer; prints a JSON line per step."""
    if which == "after":
        import fastenv
        import train
        fastenv.reexec()  # the environment train.py runs in
    import torch
    if which == "before":
        mod = module_at(rev, "training/mixtral.py", "mixtral_before")
        cfg = json.load(open(os.path.join(HERE, "..", "models", "mixscope-tiny", "config.json")))
        torch.set_num_threads(2)
        torch.manual_seed(0)
        model = mod.Mixtral(cfg)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

        def step(x):  # the loop body of training/train.py at --rev
            logits, router = model(x[:, :-1])
            ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
            aux = mod.load_balancing_loss(router, cfg["num_local_experts"], cfg["num_experts_per_tok"])
            loss = ce + cfg["router_aux_loss_coef"] * aux
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return ce.item()
    else:
        cfg = dict(train.CONFIG)
        torch.set_num_threads(2)
        torch.manual_seed(0)
        model = train.Mixtral(cfg)
        opt = train.make_optimizer(model, 1e-3)

        def step(x):
            return train.train_step(model, opt, x, cfg)[0]
    g = torch.Generator().manual_seed(1)
    for i in range(steps):
        x = torch.cat([torch.ones(B, 1, dtype=torch.long), torch.randint(3, 4096, (B, T), generator=g)], 1)
        t, c = time.perf_counter(), time.process_time()
        loss = step(x)
        print(json.dumps({"step": i, "loss": loss, "wall": time.perf_counter() - t, "cpu": time.process_time() - c}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="5d3e2e3", help="git revision of the 'before' trainer")
    ap.add_argument("--batch", type=int, default=14)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3, help="processes per trainer")
    ap.add_argument("--steps", type=int, default=6, help="steps per process (the first is not counted)")
    ap.add_argument("--worker", choices=["before", "after"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.rev, args.batch, args.context, args.steps)
    env = {k: v for k, v in os.environ.items() if k != "MIXSCOPE_FAST_ENV"}
    res = {"before": [], "after": []}
    first = {}
    for r in range(args.runs):
        for which in ("before", "after"):
            out = subprocess.run([sys.executable, __file__, "--worker", which, "--rev", args.rev, "--batch", str(args.batch),
                                  "--context", str(args.context), "--steps", str(args.steps)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            recs = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
            first.setdefault(which, recs[0]["loss"])
            res[which] += recs[1:]
            print(f"run {r} {which:6s}: wall s/step " + " ".join(f"{x['wall']:.2f}" for x in recs[1:])
                  + "; CPU s/step " + " ".join(f"{x['cpu']:.2f}" for x in recs[1:]), flush=True)
    tok = args.batch * args.context
    print(f"first-step loss: before {first['before']:.6f}, after {first['after']:.6f}")
    if abs(first["before"] - first["after"]) > 1e-4:
        raise SystemExit("the two trainers disagree on the loss")
    med = {k: statistics.median(x["wall"] for x in v) for k, v in res.items()}
    cpu = {k: statistics.median(x["cpu"] for x in v) for k, v in res.items()}
    for k in ("before", "after"):
        print(f"{k:6s}: median {med[k]:.2f} s/step = {tok / med[k]:.0f} tokens/s; {cpu[k]:.2f} CPU-s/step "
              f"(batch {args.batch} x context {args.context}, 2 threads, {len(res[k])} steps)")
    print(f"speed-up: {med['before'] / med['after']:.2f}x in tokens/s (wall), {cpu['before'] / cpu['after']:.2f}x in CPU time")


if __name__ == "__main__":
    main()
