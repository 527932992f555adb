"""Write training/data/tokenizer-golden.json: SentencePiece's own ids (with <s>) for every held-out
set and for hard cases, so a Vitest test can prove the TypeScript tokenizer gives exactly these.

Run: /usr/bin/python3 training/tokenizer_golden.py
"""
import json
import os
import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "models", "mixscope-tiny", "tokenizer.model")

# Text spelling a special token ("<s>") is read as that token by Hugging Face tokenizers (and so by
# the engine), while SentencePiece's encode() reads it as plain text: these are recorded apart.
SPECIAL_TEXT = ["<s> not special </s>", "<unk>"]

HARD = [
    "", " ", "x", " leading space", "trailing space ", "\t\t  \n\n   x", "    def f(x):\n        return x  # four spaces",
    "1234567 + 89 = 1234656", "3.14159e-10", "Grüße aus München, Straße", "naïve café — “quotes” ‘single’",
    "e\u0301 combining acute", "日本語のテキスト", "中文 汉字", "한국어", "Привет, мир", "مرحبا بالعالم",
    "🦀👩‍👩‍👧 emoji 🎉", "\u0000\u0001 control", "\ufeffBOM", "tabs\tand\r\nCRLF", "ℵ₀ ∑ ∫ √2 ≈ 1.414",
    "▁ literal marker", "a" * 300, "\n" * 5, "  " * 10 + "end",
]


def main():
    sp = spm.SentencePieceProcessor(model_file=MODEL)
    cases = []
    for name in sorted(os.listdir(os.path.join(HERE, "data", "heldout"))):
        with open(os.path.join(HERE, "data", "heldout", name), encoding="utf-8") as f:
            text = f.read()
        cases.append({"name": f"heldout/{name}", "text": text, "ids": [sp.bos_id()] + sp.encode(text)})
    for i, text in enumerate(HARD):
        cases.append({"name": f"hard/{i}", "text": text, "ids": [sp.bos_id()] + sp.encode(text)})
    for i, text in enumerate(SPECIAL_TEXT):
        cases.append({"name": f"special/{i}", "text": text, "ids": [sp.bos_id()] + sp.encode(text), "special_text": True})
    with open(os.path.join(HERE, "data", "tokenizer-golden.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "models/mixscope-tiny/tokenizer.model", "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
