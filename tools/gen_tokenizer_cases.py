#!/usr/bin/python3
"""Writes tests/data/tokenizer/: small Hugging Face-style tokenizer folders (a CLIP-style
vocab.json + merges.txt over all 256 bytes, a BERT vocab.txt), the vkfuse.tokenizer metadata
that tools/hf_tokenizers.py makes of them, and cases.json: texts and the ids that
hf_tokenizers' port of HF's slow tokenizers gives them (the C++ test's expectations).

    /usr/bin/python3 tools/gen_tokenizer_cases.py       # from the repository root

The files are byte-reproducible. hf/clip and hf/bert are the folders as a checkpoint has them;
the other metadata files are the same vocabularies under other tokenizer_config.json settings
(written to a temporary folder, which is not kept).
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers as hft  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tokenizer")
COMMAND = "/usr/bin/python3 tools/gen_tokenizer_cases.py"


def byte_encoded(text):
    return "".join(hft.BYTE_ENCODER[b] for b in text.encode("utf-8"))


def clip_files():
    """vocab.json as CLIP builds its own: the 256 byte symbols, the same with </w>, one token
    per merge, then the two special tokens."""
    base = list(hft.BYTE_ENCODER.values())
    ni, hao = byte_encoded("你"), byte_encoded("好")
    e_acute = byte_encoded("é")
    merges = [
        "t h", "th e</w>", "o f</w>", "c a", "ca t</w>", "p h", "o t", "ph ot", "phot o</w>",
        "d o", "do g</w>", "' s</w>", "i t</w>", "h e", "l l", "he ll", "hell o</w>",
        "w o", "r l", "wo rl", "worl d</w>",
        # "aaaa": a a a a</w> -> (a, a) merges left to right without overlap -> aa a a</w>.
        "a a", "aa a", "aaa a</w>",
        # (kz, k) ranks before (k, z): HF merges every (k, z) first, so "kzkzq" is kz kz q</w>,
        # not kzk z q</w> (what merging one occurrence at a time would give).
        "kz k", "k z",
        "ca f", f"{e_acute[0]} {e_acute[1]}</w>", f"caf {e_acute}</w>",
        "! !</w>", "' re</w>", "r e</w>",
        f"{ni[0]} {ni[1]}", f"{ni[:2]} {ni[2]}</w>", f"{hao[0]} {hao[1]}", f"{hao[:2]} {hao[2]}</w>",
        "1 2", "< |", "s t", "st a",
    ]
    vocab = base + [b + "</w>" for b in base]
    for m in merges:
        a, b = m.split(" ")
        if a + b not in vocab:
            vocab.append(a + b)
    assert all(p in vocab for m in merges for p in m.split(" ")), merges
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == len(set(vocab))
    return {t: i for i, t in enumerate(vocab)}, ["#version: 0.2"] + merges


BERT_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "a", "photo", "of", "cat", "dog", "un", "##aff", "##able", "hello", "world",
    ",", ".", "!", "?", "'", "-", "[", "]", "s", "t", "don", "it", "##s",
    "cafe", "café", "Cafe", "Café", "naive", "na", "##ive", "naïve",
    "你", "好", "世", "1", "2", "##3", "12", "σ", "ς", "οδοσ", "οδος", "cls",
    "x", "##x", "istanbul", "i", "##stanbul", "hello-world", "Hello", "World", "UN", "##AFF", "##ABLE",
]

BERT_VARIANTS = {  # metadata file name -> tokenizer_config.json
    "bert_uncased": {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 16,
                     "never_split": ["hello-world", "[XYZ]"]},
    "bert_keep_accents": {"do_lower_case": True, "strip_accents": False, "model_max_length": 512},
    "bert_cased": {"do_lower_case": False, "model_max_length": 512},
    "bert_cased_strip": {"do_lower_case": False, "strip_accents": True, "model_max_length": 512},
    "bert_no_cjk": {"do_lower_case": True, "tokenize_chinese_chars": False,
                    "model_max_length": 1000000000000000019884624838656},
}

CLIP_CONFIG = {"tokenizer_class": "CLIPTokenizer", "do_lower_case": True, "model_max_length": 77,
               "errors": "replace", "unk_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True,
                                                  "rstrip": False, "single_word": False, "__type": "AddedToken"},
               "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "added_tokens_decoder": {}}
CLIP_SPECIAL_MAP = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                    "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}

CLIP_TEXTS = [
    "a photo of a cat", "A PHOTO OF THE DOG!!", "it's the cat's", "They're we've I'm you'll he'd 'S 'ſ 'x",
    "2023 12 3.14", "café cafe CAFÉ cafe\u0301", "你好 世界", "hello\tworld\n\x00\x07 \u200b x\u3000y\u2028z",
    "<|startoftext|>hello<|endoftext|>", "<|STARTOFTEXT|> <|endof\x00text|>", "", "   ", "kzkzq aaaa",
    "ΟΔΟΣ ΟΔΟΣ. Σ", "ﬁ İstanbul", "a\u0345b \u0345", "naïve 🙂 ☃", "x" * 300, "hello" + "!" * 5 + "world",
    "the " * 100, "a\ufffdb\U000e0001c",
]

BERT_TEXTS = [
    "Hello, world!", "unaffable", "UNAFFABLE", "Café naïve cafe\u0301", "你好世界", "ΟΔΟΣ ΟΔΟΣ.",
    "[CLS] hello [MASK] [SEP]", "[cls] [XYZ]", "[CL\x00S]", "hello\u00a0world\u2028x\x85y", "don't it's",
    "", " \t ", "x" * 100, "x" * 101, "İstanbul", "hello-world Hello-World", "12 123 1 2 3",
    "a photo of a cat " * 5, "a\u0345 ä ᾳ", "dog\ufffdcat\x00dog",
]


def write_json(path, value, indent=None):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def main():
    hf = os.path.join(OUT, "hf")
    shutil.rmtree(hf, ignore_errors=True)
    clip_dir, bert_dir = os.path.join(hf, "clip"), os.path.join(hf, "bert")
    os.makedirs(clip_dir)
    os.makedirs(bert_dir)
    vocab, merges = clip_files()
    write_json(os.path.join(clip_dir, "vocab.json"), vocab)
    with open(os.path.join(clip_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(merges) + "\n")
    write_json(os.path.join(clip_dir, "tokenizer_config.json"), CLIP_CONFIG, indent=2)
    write_json(os.path.join(clip_dir, "special_tokens_map.json"), CLIP_SPECIAL_MAP, indent=2)
    with open(os.path.join(bert_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(BERT_VOCAB) + "\n")
    write_json(os.path.join(bert_dir, "tokenizer_config.json"), BERT_VARIANTS["bert_uncased"], indent=2)

    metas = {"clip": hft.tokenizer_metadata(clip_dir, "clip"),
             "bert_uncased": hft.tokenizer_metadata(bert_dir, "bert")}
    with tempfile.TemporaryDirectory() as tmp:
        short = os.path.join(tmp, "clip_short")
        shutil.copytree(clip_dir, short)
        write_json(os.path.join(short, "tokenizer_config.json"), dict(CLIP_CONFIG, model_max_length=8))
        metas["clip_short"] = hft.tokenizer_metadata(short, "clip")
        for name, config in BERT_VARIANTS.items():
            if name in metas:
                continue
            d = os.path.join(tmp, name)
            os.makedirs(d)
            shutil.copy(os.path.join(bert_dir, "vocab.txt"), d)
            write_json(os.path.join(d, "tokenizer_config.json"), config)
            metas[name] = hft.tokenizer_metadata(d, "bert")
    for name, meta in metas.items():
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            f.write(meta + "\n")

    cases = []
    for name in sorted(metas):
        tok = hft.from_metadata(metas[name])
        for text in (CLIP_TEXTS if name.startswith("clip") else BERT_TEXTS):
            cases.append({"tokenizer": name, "text": text, "ids": tok.encode(text)})
    write_json(os.path.join(OUT, "cases.json"),
               {"generated_by": COMMAND, "oracle": "tools/hf_tokenizers.py (port of HF's slow tokenizers)",
                "cases": cases}, indent=1)
    print(f"{OUT}: {len(metas)} tokenizers, {len(cases)} cases")


if __name__ == "__main__":
    main()
