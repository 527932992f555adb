"""Write the model card, models/mixscope-tiny/README.md, from measured data only:
config.json, training/data/sources.json, training/work/eval.json, training/work/log.jsonl.

Run: /usr/bin/python3 training/make_card.py   (after evaluate.py)
"""
import json
import os

from mixtral import count_params

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "..", "models", "mixscope-tiny")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def pct(x):
    return f"{100 * x:.1f}%"


def main():
    cfg = json.load(open(os.path.join(MODEL_DIR, "config.json")))
    src = json.load(open(os.path.join(HERE, "data", "sources.json")))
    ev = json.load(open(os.path.join(HERE, "work", "eval.json")))
    total, active = count_params(cfg)
    size = os.path.getsize(os.path.join(MODEL_DIR, "model.safetensors"))
    E, L = cfg["num_local_experts"], cfg["num_hidden_layers"]
    doms = sorted(ev["domains"])
    minutes = ev["train_seconds"] / 60
    tail = ev["log_tail"]
    s = []
    s.append("# mixscope-tiny\n")
    s.append("A tiny Mixtral (Hugging Face `model_type: \"mixtral\"`) trained by this project on six domains, so that "
             "routing has something to show. It is the model every Mixscope test, notebook and benchmark runs on. "
             "Every number below is computed by `training/evaluate.py` and written here by `training/make_card.py`.\n")
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
    s.append("\nBuilt by `training/build_corpus.py`; held-out sets (`training/data/heldout/`) are whole documents never trained on.\n")
    s.append("## Training\n")
    sc = ev["schedule"]
    tokens = tail["step"] * sc["batch"] * sc["context"]
    mix = ", ".join(f"{d} {100 * w:.0f}%" for d, w in sc["mix"].items())
    s.append(f"`/usr/bin/python3 training/train.py` (schedule in `training/train.py`, fixed when the run starts) on 2 CPU cores "
             f"(Debian python3-torch 1.13, OpenBLAS with its AVX-512 kernels, tcmalloc), niced on a machine shared with other work: "
             f"{tail['step']} steps of {sc['batch']} sequences x {sc['context']} tokens, **{tokens / 1e6:.1f} M tokens**, "
             f"{minutes / 60:.1f} hours of wall time. AdamW (betas {sc['betas'][0]}/{sc['betas'][1]}, weight decay {sc['weight_decay']} on matrices), "
             f"linear warm-up over {sc['warmup']} steps to {sc['lr']:g}, then cosine decay to {sc['lr'] * sc['min_lr_ratio']:g} at step {sc['steps']}, "
             f"gradient clipping {sc['clip']}, the Mixtral load-balancing loss (HF load_balancing_loss_func applied to each layer and averaged, "
             f"coefficient {cfg['router_aux_loss_coef']}; see training/mixtral.py for why per layer), seed {sc['seed']}. Domain mix: {mix}. "
             f"Checkpoints at 1, 2, 5, 10, 25, 50 and 100% of the run; their held-out routing is in `training/data/routing-history/`.\n")
    s.append("![training curve](training-curve.svg)\n")
    s.append("## Held-out loss\n")
    s.append(table(["domain", "tokens", "loss (nats/token)", "perplexity", "unigram loss", "unigram perplexity"],
                   [[d, ev["domains"][d]["tokens"], f"{ev['domains'][d]['loss']:.3f}", f"{ev['domains'][d]['perplexity']:.1f}",
                     f"{ev['domains'][d]['unigram_loss']:.3f}", f"{ev['domains'][d]['unigram_perplexity']:.1f}"] for d in doms]))
    s.append("\nThe unigram baseline is each domain's training token frequencies (add-one smoothing).\n")
    s.append("## Expert utilisation\n")
    s.append("Share of first-choice assignments per expert and layer, pooled over all held-out sets "
             "(a balanced router gives 12.5%; the release criterion is 3%..35% everywhere):\n")
    pooled = ev["pooled"]["first_share"]
    s.append(table(["layer"] + [f"e{e}" for e in range(E)] + ["min", "max"],
                   [[l] + [pct(x) for x in pooled[l]] + [pct(min(pooled[l])), pct(max(pooled[l]))] for l in range(L)]))
    for which, title in (("first_share", "first choice"), ("second_share", "second choice")):
        s.append(f"\n### Per domain, {title}\n")
        rows = []
        for d in doms:
            for l in range(L):
                rows.append([d, l] + [pct(x) for x in ev["domains"][d][which][l]])
        s.append(table(["domain", "layer"] + [f"e{e}" for e in range(E)], rows))
    s.append("## Samples\n")
    for d, v in ev["samples"].items():
        s.append(f"**{d}** prompt `{v['prompt']!r}`\n")
        s.append(f"- temperature 0:\n\n```\n{v['prompt']}{v['t0']}\n```\n- temperature 0.8 (seed 42):\n\n```\n{v['prompt']}{v['t08']}\n```\n")
    s.append("## Limitations\n")
    s.append("- It is tiny and trained for about an hour on a laptop-class CPU: it imitates the surface of each domain "
             "(Python keywords and indentation, C declarations, arithmetic question format, German words) but does not "
             "reason; its arithmetic answers are mostly wrong and its code does not run.\n"
             "- Its routing is what such a small model learns in a short run: useful to see experts reacting to domains "
             "and token types, not evidence about what large Mixtral models do.\n"
             "- The corpus is narrow (fortunes, the King James Bible, the Python standard library, C headers, man pages, "
             "generated maths), and inherits the biases and age of those texts.\n"
             "- Context is 512 positions; attention uses a 128-token sliding window.\n")
    with open(os.path.join(MODEL_DIR, "README.md"), "w") as f:
        f.write("\n".join(s))


if __name__ == "__main__":
    main()
