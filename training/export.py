"""Export the trained model in Hugging Face layout, and the parity data the TypeScript tests use.

Run: /usr/bin/python3 training/export.py
Writes models/mixscope-tiny/{config.json, model.safetensors (F16), generation_config.json} (the
tokenizer files are written by train_tokenizer.py) and tests/fixtures/default-model-parity.json:
logits and greedy continuations computed by this PyTorch code from the F16-rounded weights.
"""
import json
import os
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from safetensors_io import write  # noqa: E402
from mixtral import Mixtral  # noqa: E402
import fastenv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "..", "models", "mixscope-tiny")
PARITY = os.path.join(HERE, "..", "tests", "fixtures", "default-model-parity.json")

PROMPTS = {
    "python": "def fibonacci(n):",
    "math": "What is 123 + 456?\nAnswer:",
    "german": "Der Mann ging in die Stadt und",
    "english": "And God said unto Moses,",
    "c": "#include <stdio.h>\n\nint main(int argc, char **argv)\n{",
    "manpages": "NAME\n       ls - list directory contents\n\nSYNOPSIS",
}


def load_f16_model():
    """The trained model with every weight rounded to F16 and back: exactly what the file holds."""
    ck = torch.load(os.path.join(HERE, "work", "run", "ckpt.pt"))  # the run's last checkpoint (train.py)
    model = Mixtral(ck["config"])
    model.load_state_dict(ck["model"])
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    model.eval()
    return model, ck


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        logits, _ = model(torch.tensor([ids]))
        ids.append(int(logits[0, -1].argmax()))
    return ids


def main():
    fastenv.reexec()
    torch.set_num_threads(2)
    model, ck = load_f16_model()
    cfg = ck["config"]
    os.makedirs(MODEL_DIR, exist_ok=True)
    with open(os.path.join(MODEL_DIR, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(MODEL_DIR, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"], "do_sample": False,
                   "max_new_tokens": 64}, f, indent=2)
    state = {k: v for k, v in model.state_dict().items()}
    size = write(os.path.join(MODEL_DIR, "model.safetensors"), state, "F16", order=sorted(state),
                 metadata={"format": "pt", "trained_steps": str(ck["step"])})
    print(f"model.safetensors: {size:,} bytes, step {ck['step']}")

    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL_DIR, "tokenizer.model"))
    V = cfg["vocab_size"]
    g = torch.Generator().manual_seed(5)
    snippets = []
    for d in sorted(PROMPTS):
        with open(os.path.join(HERE, "data", "heldout", f"{d}.txt"), encoding="utf-8") as f:
            text = f.read()
        ids = [sp.bos_id()] + sp.encode(text)[200:247]  # 48 tokens from inside the held-out set
        with torch.no_grad():
            logits, router = model(torch.tensor([ids]))
        logits = logits[0]
        cols = torch.randperm(V, generator=g)[:64]  # a sample of vocabulary columns at every position
        snippets.append({
            "domain": d, "ids": ids,
            "last_logits": logits[-1].tolist(),
            "columns": cols.tolist(),
            "sampled_logits": logits[:, cols].tolist(),
            "argmax": logits.argmax(-1).tolist(),
            "experts": [r.softmax(-1).topk(cfg["num_experts_per_tok"], -1).indices.tolist() for r in router],
            "topk_margin": [(lambda p: (p[:, 1] - p[:, 2]).tolist())(r.softmax(-1).sort(-1, descending=True).values) for r in router],
        })
    generations = []
    for d, prompt in PROMPTS.items():
        ids = [sp.bos_id()] + sp.encode(prompt)
        out = greedy(model, ids, 64)
        generations.append({"domain": d, "prompt": prompt, "prompt_ids": ids, "tokens": out[len(ids):],
                            "text": sp.decode(out[len(ids):])})
        print(d, repr(sp.decode(out[len(ids):]))[:120])
    os.makedirs(os.path.dirname(PARITY), exist_ok=True)
    with open(PARITY, "w") as f:
        json.dump({"how": "training/export.py: PyTorch (training/mixtral.py) on the F16-rounded weights, float32",
                   "snippets": snippets, "greedy": generations}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
