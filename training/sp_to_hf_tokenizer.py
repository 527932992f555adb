"""Convert a SentencePiece BPE model into Hugging Face tokenizer.json, as HF's LlamaConverter
does for Mistral and Mixtral: BPE with byte fallback, merges recovered from the vocabulary in
score order, the "▁" space marker added by the normalizer, and a <s> template.
"""
import json
import os
import sys
import sentencepiece as spm


def merges_from_vocab(vocab, scores):
    """Every split of a piece into two pieces that are both in the vocabulary is a merge;
    merges are ranked by the merged piece's score (higher first), then by the parts' ids."""
    merges = []
    for piece, pid in vocab.items():
        for i in range(1, len(piece)):
            a, b = piece[:i], piece[i:]
            if a in vocab and b in vocab:
                merges.append((a, b, pid))
    merges.sort(key=lambda m: (-scores[m[2]], vocab[m[0]], vocab[m[1]]))
    return [f"{a} {b}" for a, b, _ in merges]


def convert(model_path, out_dir):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    vocab, scores, added, normal = {}, {}, [], {}
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        vocab[piece] = i
        scores[i] = sp.get_score(i)
        if sp.is_control(i) or sp.is_unknown(i):
            added.append({"id": i, "content": piece, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True})
        elif not sp.is_byte(i):
            normal[piece] = i  # only normal pieces take part in merges
    merges = merges_from_vocab(normal, scores)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "legacy": True,
                   "clean_up_tokenization_spaces": False, "model_max_length": 512}, f, indent=2)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
