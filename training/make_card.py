"""Write the model card, models/mixscope-tiny/README.md, from measured data only:
config.json, training/data/sources.json, training/work/eval.json (evaluate.py), the run's log
training/work/run/log.jsonl, training/data/routing-history/ (routing_history.py: the held-out
routing at each milestone, and previous-model.json, the previous model's held-out losses).
Also rewrites the sentence between <!-- train-time --> markers in the repository's README.md.

Run: /usr/bin/python3 training/make_card.py   (after routing_history.py and evaluate.py)
"""
import argparse
import json
import os
import re

from mixtral import count_params
from card_stats import HISTORY, LOSS_DOMAINS, LOSS_DROP, SHARE_RANGE, load_history, loss_comparison, saturation_table, share_ranges, targets
from run_log import duration, hardware, read_log, run_summary

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
MODEL_DIR = os.path.join(ROOT, "models", "mixscope-tiny")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def pct(x):
    return f"{100 * x:.1f}%"


def where_trained(run, hw):
    """One sentence: the hardware, how long, how fast, the restarts (from the log)."""
    s = (f"{hw['cores']} cores of an {hw['cpu']} CPU (Debian python3-torch 1.13, OpenBLAS with its AVX-512 kernels, tcmalloc), "
         f"niced on a machine shared with other work: {duration(run['elapsed_s'])} of wall time")
    if run["cpu_s"]:
        s += f" ({run['cpu_s'] / 3600:.1f} CPU-hours)"
    s += f", {run['tokens_per_s']:,.0f} tokens/s on average"
    if run["restarts"]:
        s += (f"; stopped and resumed {run['restarts']} time{'s' if run['restarts'] > 1 else ''} from its checkpoints "
              f"({run['redone_steps']} steps redone, not counted in the wall time)")
    return s


def loss_section(previous, ev):
    new = {d: ev["domains"][d]["loss"] for d in ev["domains"]}
    rows = [[r["domain"], f"{r['previous']:.3f}", f"{r['new']:.3f}", f"{-r['drop']:+.3f}",
             ("yes" if r["drop"] >= LOSS_DROP else "**no**") if r["domain"] in LOSS_DOMAINS else "(not a target)"]
            for r in loss_comparison(previous["heldout_loss"], new)]
    return table(["domain", "previous model", "this model", "change", f"at least {LOSS_DROP} lower?"], rows)


def saturation_section(index, sat):
    """Two tables, layers as columns: top-k saturation and first-choice agreement at each milestone."""
    L, E, K = index["layers"], index["experts"], index["k"]
    out = []
    for key, title, rnd in (("topk", f"top-{K} saturation", K / E), ("first", "first-choice agreement (top-1 saturation)", 1 / E)):
        rows = [[f"{c['step']:,}", f"{c['percent']:g}%", f"{c['tokens_trained'] / 1e6:.2f} M"] + [pct(x) for x in c[key]] for c in sat]
        out.append(f"**{title}** (random routing: {pct(rnd)})\n\n" +
                   table(["step", "of the run", "tokens"] + [f"layer {l}" for l in range(L)], rows))
    return "\n\n".join(out)


def update_readme_time(path, sentence):
    """Replace the text between <!-- train-time --> and <!-- /train-time --> in the README; False if no markers."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    pattern = re.compile(r"(<!-- train-time -->).*?(<!-- /train-time -->)", re.S)
    if not pattern.search(text):
        return False
    with open(path, "w", encoding="utf-8") as f:
        f.write(pattern.sub(lambda m: m.group(1) + sentence + m.group(2), text))
    return True


def card(cfg, size, src, ev, records, restarts, hw, index, routing, previous):
    total, active = count_params(cfg)
    E, L = cfg["num_local_experts"], cfg["num_hidden_layers"]
    doms = sorted(ev["domains"])
    run = run_summary(records, restarts)
    if run["steps"] != ev["step"]:
        raise ValueError(f"the log ends at step {run['steps']} but eval.json evaluated step {ev['step']}: run evaluate.py on the run's last checkpoint")
    sc = ev["schedule"]
    sat = saturation_table(index, routing)
    final = sat[-1]
    if final["step"] != ev["step"]:
        raise ValueError(f"the routing history ends at step {final['step']} but eval.json evaluated step {ev['step']}: run routing_history.py first")
    s = []
    s.append("# mixscope-tiny\n")
    s.append("A tiny Mixtral (Hugging Face `model_type: \"mixtral\"`) trained by this project on six domains, so that "
             "routing has something to show. It is the model every Mixscope test, notebook and benchmark runs on. "
             "Every number below is computed by `training/evaluate.py` and the routing history, and written here by `training/make_card.py`.\n")
    s.append("## Architecture\n")
    s.append(table(["field", "value"], [[k, cfg[k]] for k in [
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
        "head_dim", "num_local_experts", "num_experts_per_tok", "sliding_window", "max_position_embeddings", "rope_theta",
        "rms_norm_eps", "tie_word_embeddings", "router_aux_loss_coef"]]))
    s.append(f"\nParameters: **{total:,}** in total, **{active:,}** active per token (2 of 8 experts run). "
             f"File: `model.safetensors`, F16, {size / 1e6:.1f} MB.\n")
    s.append("## Data\n")
    rows = []
    for d, v in src.items():
        pk = "; ".join(f"`{p['package']}` {p['version']} ({p['license']})" for p in v["sources"])
        rows.append([d, pk, f"{v['train_bytes'] / 1e6:.2f} MB", f"{v['heldout_bytes'] / 1024:.1f} KiB"])
    s.append(table(["domain", "Debian package (version, license)", "training text", "held-out text"], rows))
    s.append("\nBuilt by `training/build_corpus.py` (sources, licences and the held-out checks in `training/README.md`); "
             "held-out sets (`training/data/heldout/`) are whole documents never trained on, the same for every model.\n")
    s.append("## Training\n")
    mix = ", ".join(f"{d} {100 * w:.0f}%" for d, w in sc["mix"].items())
    s.append(f"`/usr/bin/python3 training/train.py` (schedule in `training/train.py`, fixed when the run starts) on {where_trained(run, hw)}. "
             f"{run['steps']:,} steps of {sc['batch']} sequences x {sc['context']} tokens: **{run['tokens'] / 1e6:.1f} M tokens**, "
             f"{run['tokens'] / total:.1f} per parameter. AdamW (betas {sc['betas'][0]}/{sc['betas'][1]}, weight decay {sc['weight_decay']} on matrices), "
             f"linear warm-up over {sc['warmup']} steps to {sc['lr']:g}, then cosine decay to {sc['lr'] * sc['min_lr_ratio']:g} at step {sc['steps']:,}, "
             f"gradient clipping {sc['clip']}, the Mixtral load-balancing loss (HF load_balancing_loss_func applied to each layer and averaged, "
             f"coefficient {cfg['router_aux_loss_coef']}; see training/mixtral.py for why per layer), seed {sc['seed']}. Domain mix: {mix}. "
             f"Checkpoints at {', '.join(f'{p:g}' for p in sc.get('milestones_pct', [1, 2, 5, 10, 25, 50, 100]))}% of the run; "
             f"their held-out routing is in `training/data/routing-history/`.\n")
    s.append("![training curve](training-curve.svg)\n")
    s.append("## Held-out loss\n")
    s.append("Against the default model shipped before this run (its losses are kept in "
             "`training/data/routing-history/previous-model.json`, measured the same way on the same held-out text); "
             f"the release target is at least {LOSS_DROP} nats/token lower on {', '.join(LOSS_DOMAINS)}:\n")
    s.append(loss_section(previous, ev))
    s.append("\nThis model in full:\n")
    s.append(table(["domain", "tokens", "loss (nats/token)", "perplexity", "unigram loss", "unigram perplexity"],
                   [[d, ev["domains"][d]["tokens"], f"{ev['domains'][d]['loss']:.3f}", f"{ev['domains'][d]['perplexity']:.1f}",
                     f"{ev['domains'][d]['unigram_loss']:.3f}", f"{ev['domains'][d]['unigram_perplexity']:.1f}"] for d in doms]))
    s.append("\nThe unigram baseline is each domain's training token frequencies (add-one smoothing).\n")
    s.append("## Expert utilisation\n")
    lo, hi = SHARE_RANGE
    s.append("Share of first-choice assignments per expert and layer, pooled over all held-out sets "
             f"(a balanced router gives {pct(1 / E)}; the release criterion is {lo:.0%}..{hi:.0%} everywhere):\n")
    pooled = ev["pooled"]["first_share"]
    s.append(table(["layer"] + [f"e{e}" for e in range(E)] + ["min", "max", "within"],
                   [[l] + [pct(x) for x in pooled[l]] + [pct(mn), pct(mx), "yes" if lo <= mn and mx <= hi else "**no**"]
                    for l, (mn, mx) in enumerate(share_ranges(pooled))]))
    for which, title in (("first_share", "first choice"), ("second_share", "second choice")):
        s.append(f"\n### Per domain, {title}\n")
        rows = []
        for d in doms:
            for l in range(L):
                rows.append([d, l] + [pct(x) for x in ev["domains"][d][which][l]])
        s.append(table(["domain", "layer"] + [f"e{e}" for e in range(E)], rows))
    s.append("## Routing being learnt\n")
    s.append(f"The OLMoE paper's router saturation (Muennighoff et al. 2024, arXiv:2409.02060, section 5.1, eq. 5) on this run: "
             f"at each milestone, the share of the final checkpoint's top-k experts that the router already chose, averaged over "
             f"the first {index['tokens_per_domain']:,} tokens of each held-out set; with k = 1 it is the first-choice agreement. "
             f"The final checkpoint is step {final['step']:,} ({final['percent']:g}% of the run), the last in "
             f"`training/data/routing-history/index.json`. The notebook *How routing is learnt* draws these and how each "
             f"expert's share of each domain emerges.\n")
    s.append(saturation_section(index, sat))
    s.append("\n## Release targets\n")
    s.append(table(["target", "result", "measured"], [[n, "pass" if ok else "**fail**", d] for n, ok, d in targets(ev, previous)]))
    s.append("\n## Samples\n")
    for d, v in ev["samples"].items():
        s.append(f"**{d}** prompt `{v['prompt']!r}`\n")
        s.append(f"- temperature 0:\n\n```\n{v['prompt']}{v['t0']}\n```\n- temperature 0.8 (seed 42):\n\n```\n{v['prompt']}{v['t08']}\n```\n")
    s.append("## Limitations\n")
    s.append(f"- It is tiny ({total / 1e6:.1f} M parameters) and saw {run['tokens'] / 1e6:.1f} M tokens in {duration(run['elapsed_s'])} on "
             f"{hw['cores']} CPU cores: it imitates the surface of each domain "
             "(Python keywords and indentation, C declarations, arithmetic question format, German words) but does not "
             "reason; its arithmetic answers are mostly wrong and its code does not run.\n"
             "- Its routing is what such a small model learns in a short run: useful to see experts reacting to domains "
             "and token types, not evidence about what large Mixtral models do.\n"
             "- The corpus is narrow (the King James Bible, fortunes and dictionaries, German man pages, the Python standard library, "
             "C headers and glibc, man pages, generated maths), and inherits the biases and age of those texts.\n"
             "- Context is 512 positions; attention uses a 128-token sliding window.\n")
    readme = (f"about half an hour for the dependencies and the corpus, then the run: {run['tokens'] / 1e6:.1f} M tokens in {duration(run['elapsed_s'])} on "
              f"{hw['cores']} shared CPU cores, as the model card says")
    return "\n".join(s), readme


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", default=os.path.join(HERE, "work", "run", "log.jsonl"))
    ap.add_argument("--eval", default=os.path.join(HERE, "work", "eval.json"))
    ap.add_argument("--history", default=HISTORY)
    ap.add_argument("--out", default=os.path.join(MODEL_DIR, "README.md"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"), help="README whose <!-- train-time --> sentence to rewrite ('' for none)")
    args = ap.parse_args()
    cfg = json.load(open(os.path.join(MODEL_DIR, "config.json")))
    src = json.load(open(os.path.join(HERE, "data", "sources.json")))
    ev = json.load(open(args.eval))
    records, restarts = read_log(args.log)
    index, routing = load_history(args.history)
    previous = json.load(open(os.path.join(args.history, "previous-model.json")))
    text, readme = card(cfg, os.path.getsize(os.path.join(MODEL_DIR, "model.safetensors")), src, ev, records, restarts,
                        hardware(), index, routing, previous)
    with open(args.out, "w") as f:
        f.write(text)
    if args.readme and not update_readme_time(args.readme, readme):
        print(f"note: {args.readme} has no <!-- train-time --> markers; left as it is")
    run = run_summary(records, restarts)
    print(f"wrote {args.out}: {run['steps']:,} steps, {run['tokens'] / 1e6:.1f} M tokens, {duration(run['elapsed_s'])} "
          f"({run['tokens_per_s']:,.0f} tokens/s) on {hardware()['cores']} cores; {run['restarts']} restart(s)")


if __name__ == "__main__":
    main()
