"""Train the SentencePiece BPE tokenizer (byte fallback, as Mixtral's) on a balanced sample of
every domain's training text, then write tokenizer.model and the Hugging Face tokenizer.json.

Run: /usr/bin/python3 training/train_tokenizer.py   (after build_corpus.py)
"""
import io
import os
import sentencepiece as spm

from sp_to_hf_tokenizer import convert

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "models", "mixscope-tiny")
VOCAB = 4096  # small enough that the embedding and lm_head stay ~2 M of the 12 M budget,
              # large enough that common words and code keywords are single pieces
SAMPLE_BYTES = 1_500_000  # per domain


def main():
    os.makedirs(OUT, exist_ok=True)
    sample = []
    for d in sorted(os.listdir(os.path.join(HERE, "work", "corpus"))):
        with open(os.path.join(HERE, "work", "corpus", d, "train.txt"), encoding="utf-8") as f:
            sample.extend(f.read(SAMPLE_BYTES).splitlines())
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sample), model_writer=model, model_type="bpe", vocab_size=VOCAB,
        byte_fallback=True, split_digits=True, add_dummy_prefix=True, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, normalization_rule_name="identity", character_coverage=0.9995,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>",
        max_sentence_length=16384, num_threads=2, input_sentence_size=0, shuffle_input_sentence=False,
        train_extremely_large_corpus=False, minloglevel=1,
    )
    with open(os.path.join(OUT, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())
    convert(os.path.join(OUT, "tokenizer.model"), OUT)
    print("vocab", VOCAB, "->", OUT)


if __name__ == "__main__":
    main()
