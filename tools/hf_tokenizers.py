#!/usr/bin/python3
"""Hugging Face CLIP and BERT tokenizers for vkfuse: the metadata a model file carries, and a
Python port of HF's slow tokenizers that reads it (the oracle of the C++ tests).

    import sys; sys.path.insert(0, "tools")          # from the repository root
    from hf_tokenizers import tokenizer_metadata, from_metadata

    meta = tokenizer_metadata("path/to/hf_checkpoint", "clip")   # str (JSON) or None
    tok = from_metadata(meta)                                    # the port
    tok.encode("a photo of a cat")  # [bos, ..., eos], truncated to max_length as HF does

`tokenizer_metadata(folder, model_type)` returns the JSON string stored under the model file's
metadata key `vkfuse.tokenizer` (docs/model-format.md), or None when the folder has no
tokenizer files. model_type "clip" reads vocab.json + merges.txt, "bert" reads vocab.txt; both
read tokenizer_config.json and special_tokens_map.json when present. Whatever would make HF
tokenize differently from what vkfuse implements is a ValueError naming the file and the key:
a tokenizer_class other than the CLIP/BERT ones, do_basic_tokenize false, added tokens that
are not the special tokens, lstrip/rstrip/single_word special tokens, left padding or
truncation, a special token missing from the vocabulary, a key it does not know. (CLIP's
do_lower_case is accepted whatever it says: HF's CLIPTokenizer always lower-cases.)

The formats (every key required, no other key allowed; the C++ reader checks the same):

    {"type": "clip_bpe", "vocab": {"token": id, ...}, "merges": ["a b", ...],
     "bos": "<|startoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>",
     "pad": "<|endoftext|>", "max_length": 77}
    {"type": "wordpiece", "vocab": ["[PAD]", ...], "do_lower_case": true,
     "strip_accents": null, "tokenize_chinese_chars": true, "never_split": [],
     "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "mask": "[MASK]",
     "max_length": 512}

clip_bpe: vocab ids are 0..n-1, each once; merges in rank order (rank = index), each two
vocabulary tokens joined by one space whose concatenation is also in the vocabulary, no pair
twice. wordpiece: vocab[i] is the token of id i, no token twice. max_length: null for no
limit, else at least 3.

Which HF this follows: transformers v4.34-v4.57's slow CLIPTokenizer (the path taken when
ftfy is not installed) and slow BertTokenizer, which v5 (main) keeps as BertTokenizerLegacy
(models/bert/tokenization_bert_legacy.py, the same algorithm); v5 has no slow CLIPTokenizer
(CLIPTokenizer is the tokenizers-backed one). Differences known between versions:
- BasicTokenizer NFC-normalizes the text (after cleaning and CJK spacing) only since 2023
  (v4.3x); before that text was not normalized.
- Before v4.34, PreTrainedTokenizer.tokenize() lower-cased the text one character at a time
  (outside special tokens) whenever tokenizer_config.json said do_lower_case, CLIP included;
  since v4.34 only when the tokenizer has a do_lower_case attribute (BERT does, CLIP does
  not). Char-by-char lower-casing never gives the final sigma: BERT maps every capital sigma
  to 'σ', CLIP (lower-cased a whole word at a time by str.lower()) gives 'ς' at a word's end.
- With ftfy installed, CLIP does ftfy.fix_text + whitespace clean + lower instead of the
  BasicTokenizer: not what vkfuse does.
- HF's regex \\p{L}/\\p{N} come from the `regex` module's own Unicode tables, the rest from
  Python's unicodedata; this port (and vkfuse's tables) take both from unicodedata. They differ
  only on characters one of the two Unicode versions has not assigned.
- CLIP's merges.txt: HF skips its first line (the "#version" header) and reads at most
  48894 merges; a pair listed twice takes its later rank. tokenizer_metadata does the same and
  writes the merges that HF can apply, in HF's rank order.
"""

import json
import os
import unicodedata

# --- what tokenizer_metadata reads -------------------------------------------------------

_CLIP_CLASSES = ("CLIPTokenizer", "CLIPTokenizerFast")
_BERT_CLASSES = ("BertTokenizer", "BertTokenizerFast")
_CLIP_SPECIALS = {"bos": ("bos_token", "<|startoftext|>"), "eos": ("eos_token", "<|endoftext|>"),
                  "unk": ("unk_token", "<|endoftext|>"), "pad": ("pad_token", "<|endoftext|>")}
_BERT_SPECIALS = {"unk": ("unk_token", "[UNK]"), "cls": ("cls_token", "[CLS]"),
                  "sep": ("sep_token", "[SEP]"), "pad": ("pad_token", "[PAD]"),
                  "mask": ("mask_token", "[MASK]")}
# HF's largest merges list (CLIPTokenizer reads lines 1 .. 49152 - 256 - 2 of merges.txt).
_CLIP_MAX_MERGES = 49152 - 256 - 2
_INT32_MAX = 2**31 - 1

# tokenizer_config.json keys that do not change the ids of one text (decoding, file names,
# bookkeeping); every key not here and not read below is refused.
_IGNORED_KEYS = {
    "name_or_path": "bookkeeping", "special_tokens_map_file": "a file name",
    "tokenizer_file": "a file name", "vocab_file": "a file name", "merges_file": "a file name",
    "full_tokenizer_file": "a file name", "init_inputs": "bookkeeping",
    "clean_up_tokenization_spaces": "decoding only", "errors": "decoding only",
    "processor_class": "bookkeeping", "model_input_names": "output names only",
    "use_fast": "loader choice", "__type": "bookkeeping",
}


def _read_json(path):
    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError(f"{path}: key {k!r} appears twice")
            seen[k] = v
        return seen
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f, object_pairs_hook=no_duplicates)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON: {e}") from None


def _token_content(value, where):
    """A special token as tokenizer_config/special_tokens_map write it: a string or an
    AddedToken dict. Stripping or single-word matching would change the split around it."""
    if isinstance(value, str):
        content = value
    elif isinstance(value, dict):
        content = value.get("content")
        if not isinstance(content, str):
            raise ValueError(f"{where}: an AddedToken without a string 'content'")
        for flag in ("lstrip", "rstrip", "single_word"):
            if value.get(flag, False):
                raise ValueError(f"{where}: '{flag}': true is not implemented by vkfuse's tokenizer")
        unknown = set(value) - {"content", "lstrip", "rstrip", "single_word", "normalized",
                                "special", "__type"}
        if unknown:
            raise ValueError(f"{where}: unknown AddedToken field(s) {sorted(unknown)}")
    else:
        raise ValueError(f"{where}: expected a string or an AddedToken object, got {type(value).__name__}")
    if not content:
        raise ValueError(f"{where}: an empty special token")
    return content


def _max_length(config, where):
    """HF's model_max_length (or its old name max_len); its "no limit" (int(1e30), or any
    value past int32) is null."""
    key = "model_max_length" if "model_max_length" in config else "max_len"
    if key not in config or config[key] is None:
        return None
    v = config[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: '{key}' must be a number, got {v!r}")
    if v > _INT32_MAX:
        return None
    if v != int(v) or v < 3:
        # Below 3 there is no room for a text token between the two special tokens, and HF's
        # truncation then leaves the sequence longer than max_length.
        raise ValueError(f"{where}: '{key}' must be an integer of at least 3, got {v!r}")
    return int(v)


def _read_config(folder, model_type):
    """tokenizer_config.json and special_tokens_map.json, checked; returns (config, specials)
    where specials maps the metadata's names (bos, unk, ...) to the token strings."""
    cfg_path = os.path.join(folder, "tokenizer_config.json")
    config = _read_json(cfg_path) if os.path.isfile(cfg_path) else {}
    if not isinstance(config, dict):
        raise ValueError(f"{cfg_path}: not a JSON object")
    classes = _CLIP_CLASSES if model_type == "clip" else _BERT_CLASSES
    table = _CLIP_SPECIALS if model_type == "clip" else _BERT_SPECIALS
    other = _BERT_SPECIALS if model_type == "clip" else _CLIP_SPECIALS

    known = set(_IGNORED_KEYS) | {"tokenizer_class", "model_max_length", "max_len",
                                  "added_tokens_decoder", "additional_special_tokens",
                                  "extra_special_tokens", "padding_side", "truncation_side",
                                  "split_special_tokens", "do_lower_case"}
    known |= {k for k, _ in table.values()}
    if model_type == "clip":
        known |= {"add_prefix_space"}
    else:
        known |= {"do_basic_tokenize", "never_split", "strip_accents", "tokenize_chinese_chars"}
    foreign = {k for k, _ in other.values()} - {k for k, _ in table.values()}
    for key in config:
        if key in foreign and config[key] is not None:
            raise ValueError(f"{cfg_path}: '{key}' is a special token {model_type} tokenizers do "
                             "not have; HF would split the text on it, which vkfuse does not implement")
        if key not in known and key not in foreign:
            raise ValueError(f"{cfg_path}: key '{key}' is not one vkfuse's {model_type} tokenizer "
                             f"knows (its keys: {', '.join(sorted(known))}); vkfuse does not ignore "
                             "keys that may change tokenization")

    cls = config.get("tokenizer_class")
    if cls is not None and cls not in classes:
        raise ValueError(f"{cfg_path}: 'tokenizer_class' {cls!r} is not implemented "
                         f"(vkfuse reads {' and '.join(classes)} as {model_type})")
    for key, want in (("padding_side", "right"), ("truncation_side", "right")):
        if key in config and config[key] != want:
            raise ValueError(f"{cfg_path}: '{key}' {config[key]!r} is not implemented (only {want!r})")
    if config.get("split_special_tokens", False):
        raise ValueError(f"{cfg_path}: 'split_special_tokens': true is not implemented")
    if config.get("add_prefix_space", False):
        raise ValueError(f"{cfg_path}: 'add_prefix_space': true is not implemented")
    for key in ("additional_special_tokens", "extra_special_tokens"):
        if config.get(key):
            raise ValueError(f"{cfg_path}: '{key}' is not implemented (vkfuse splits text only "
                             "on the model's own special tokens)")
    if model_type == "bert" and config.get("do_basic_tokenize", True) is not True:
        raise ValueError(f"{cfg_path}: 'do_basic_tokenize': {config['do_basic_tokenize']!r} is not "
                         "implemented (vkfuse always runs BERT's basic tokenizer)")

    values = {}
    for name, (key, default) in table.items():
        values[name] = (_token_content(config[key], f"{cfg_path}: '{key}'")
                        if config.get(key) is not None else default)
    # HF (v4.34+) reads special_tokens_map.json and added_tokens.json only for a
    # tokenizer_config.json without added_tokens_decoder (saved before v4.34); then the map's
    # values win over the config's.
    legacy = "added_tokens_decoder" not in config
    added_path = os.path.join(folder, "added_tokens.json")
    if legacy and os.path.isfile(added_path) and _read_json(added_path):
        raise ValueError(f"{added_path}: added tokens are not implemented by vkfuse's tokenizer")
    map_path = os.path.join(folder, "special_tokens_map.json")
    if legacy and os.path.isfile(map_path):
        smap = _read_json(map_path)
        if not isinstance(smap, dict):
            raise ValueError(f"{map_path}: not a JSON object")
        by_key = {key: name for name, (key, _) in table.items()}
        for key, value in smap.items():
            if key in by_key:
                if value is not None:
                    values[by_key[key]] = _token_content(value, f"{map_path}: '{key}'")
            elif key == "additional_special_tokens":
                if value:
                    raise ValueError(f"{map_path}: 'additional_special_tokens' is not implemented")
            elif value is not None:
                raise ValueError(f"{map_path}: '{key}' is not a special token of {model_type} "
                                 "tokenizers; HF would split the text on it, which vkfuse does not implement")
    return config, values, cfg_path


def _check_specials(values, vocab_ids, vocab_file, cfg_path, config):
    distinct = sorted(set(values.values()))
    for a in distinct:
        if a not in vocab_ids:
            raise ValueError(f"{vocab_file}: special token {a!r} is not in the vocabulary "
                             "(HF would add it as a new token; vkfuse does not implement added tokens)")
        for b in distinct:
            if a != b and b in a:
                # HF's trie and the lower-casing pattern would then depend on which matches
                # first; with no token inside another, both are a plain left-to-right scan.
                raise ValueError(f"{cfg_path}: special token {b!r} is inside special token {a!r}; "
                                 "vkfuse does not implement overlapping special tokens")
    added = config.get("added_tokens_decoder") or {}
    if not isinstance(added, dict):
        raise ValueError(f"{cfg_path}: 'added_tokens_decoder' must be an object")
    for key, tok in added.items():
        where = f"{cfg_path}: 'added_tokens_decoder' {key!r}"
        content = _token_content(tok, where)
        if content not in distinct:
            raise ValueError(f"{where}: added token {content!r} is not one of the special tokens "
                             f"({', '.join(map(repr, distinct))}); vkfuse does not implement added tokens")
        if str(vocab_ids[content]) != str(key):
            raise ValueError(f"{where}: {content!r} has id {vocab_ids[content]} in {vocab_file}, "
                             f"not {key}; vkfuse does not implement added tokens")


def _clip_metadata(folder, config, specials, cfg_path):
    vocab_file = os.path.join(folder, "vocab.json")
    merges_file = os.path.join(folder, "merges.txt")
    for path in (vocab_file, merges_file):
        if not os.path.isfile(path):
            raise ValueError(f"{path}: missing (a CLIP tokenizer needs vocab.json and merges.txt)")
    vocab = _read_json(vocab_file)
    if not isinstance(vocab, dict) or not vocab:
        raise ValueError(f"{vocab_file}: must be a non-empty JSON object of token -> id")
    seen = {}
    for tok, i in vocab.items():
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(vocab):
            raise ValueError(f"{vocab_file}: token {tok!r} has id {i!r}; ids must be the integers "
                             f"0 .. {len(vocab) - 1}, each once")
        if i in seen:
            raise ValueError(f"{vocab_file}: tokens {seen[i]!r} and {tok!r} both have id {i}")
        seen[i] = tok
    _check_specials(specials, vocab, vocab_file, cfg_path, config)

    # As CLIPTokenizer reads it: whole text stripped, first line skipped, at most 48894 lines,
    # each split on white space; only two-part lines can ever match a pair, and a pair listed
    # twice keeps its later rank (dict(zip(merges, range(...)))).
    with open(merges_file, encoding="utf-8") as f:
        lines = f.read().strip().split("\n")[1:_CLIP_MAX_MERGES + 1]
    rank = {}
    for line_no, line in enumerate(lines, start=2):
        parts = tuple(line.split())
        if len(parts) != 2:
            continue
        for p in parts + (parts[0] + parts[1],):
            if p not in vocab:
                raise ValueError(f"{merges_file}: line {line_no} ({line!r}): {p!r} is not in vocab.json")
        rank[parts] = line_no
    merges = [f"{a} {b}" for (a, b), _ in sorted(rank.items(), key=lambda kv: kv[1])]
    return {"type": "clip_bpe", "vocab": vocab, "merges": merges, **specials,
            "max_length": _max_length(config, cfg_path)}


def _bert_metadata(folder, config, specials, cfg_path):
    vocab_file = os.path.join(folder, "vocab.txt")
    if not os.path.isfile(vocab_file):
        raise ValueError(f"{vocab_file}: missing (a BERT tokenizer needs vocab.txt)")
    # As BERT's load_vocab reads it: text mode (universal newlines), one token a line.
    with open(vocab_file, encoding="utf-8") as f:
        tokens = [t.rstrip("\n") for t in f.readlines()]
    first = {}
    for i, t in enumerate(tokens):
        if t in first:
            raise ValueError(f"{vocab_file}: token {t!r} on lines {first[t] + 1} and {i + 1}; "
                             "vkfuse needs each token once")
        first[t] = i
    if not tokens:
        raise ValueError(f"{vocab_file}: empty")
    _check_specials(specials, first, vocab_file, cfg_path, config)

    def flag(key, default, allow_none=False):
        v = config.get(key, default)
        if v is None and allow_none:
            return None
        if not isinstance(v, bool):
            raise ValueError(f"{cfg_path}: '{key}' must be true or false{' or null' if allow_none else ''}, got {v!r}")
        return v

    never_split = config.get("never_split") or []
    if not isinstance(never_split, list) or not all(isinstance(t, str) for t in never_split):
        raise ValueError(f"{cfg_path}: 'never_split' must be a list of strings")
    return {"type": "wordpiece", "vocab": tokens,
            "do_lower_case": flag("do_lower_case", True),
            "strip_accents": flag("strip_accents", None, allow_none=True),
            "tokenize_chinese_chars": flag("tokenize_chinese_chars", True),
            "never_split": sorted(set(never_split)), **specials,
            "max_length": _max_length(config, cfg_path)}


_TOKENIZER_FILES = ("vocab.json", "merges.txt", "vocab.txt", "tokenizer.json",
                    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")


def tokenizer_metadata(folder, model_type):
    """The JSON string for metadata key vkfuse.tokenizer from a Hugging Face checkpoint folder,
    or None when it has no tokenizer files. ValueError (naming file and key) for what vkfuse
    would tokenize differently from HF."""
    if model_type not in ("clip", "bert"):
        raise ValueError(f"model_type {model_type!r}: vkfuse has tokenizers for 'clip' and 'bert'")
    if not any(os.path.isfile(os.path.join(folder, f)) for f in _TOKENIZER_FILES):
        return None
    config, specials, cfg_path = _read_config(folder, model_type)
    meta = (_clip_metadata if model_type == "clip" else _bert_metadata)(folder, config, specials, cfg_path)
    return json.dumps(meta, ensure_ascii=False, separators=(",", ":"))


# --- the port: Unicode predicates as HF's tokenizers use them -----------------------------

def is_whitespace(c):  # tokenization_utils._is_whitespace
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):  # tokenization_utils._is_control: every C* category, Cn included
    return c not in "\t\n\r" and unicodedata.category(c)[0] == "C"


def is_punctuation(c):  # tokenization_utils._is_punctuation: ASCII non-alphanumerics and P*
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c)[0] == "P"


CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_chinese_char(cp):  # BasicTokenizer._is_chinese_char
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_letter(c):  # regex \p{L}
    return unicodedata.category(c)[0] == "L"


def is_number(c):  # regex \p{N}
    return unicodedata.category(c)[0] == "N"


def is_regex_space(c):
    # The regex module's \s: Python's str.isspace() less U+001C..U+001F (checked against
    # regex 2022.10.31 on every code point).
    return c.isspace() and not "\x1c" <= c <= "\x1f"


def _simple_fold(c):
    f = c.casefold()
    if len(f) == 1:
        return f
    f = c.lower()
    return f if len(f) == 1 else c


_FOLD_CLASSES = None


def case_variants(c):
    """The characters regex's IGNORECASE takes as the same as c: those with the same simple
    case fold (s, S and U+017F LATIN SMALL LETTER LONG S, say)."""
    global _FOLD_CLASSES
    if _FOLD_CLASSES is None:
        classes = {}
        for cp in range(0x110000):
            if 0xD800 <= cp < 0xE000:
                continue
            ch = chr(cp)
            f = _simple_fold(ch)
            if f != ch or cp < 0x80:
                classes.setdefault(f, {f}).add(ch)
        _FOLD_CLASSES = classes
    f = _simple_fold(c)
    return _FOLD_CLASSES.get(f, {c}) | {c}


def is_clip_other(c):
    """regex's [^\\s\\p{L}\\p{N}] under IGNORECASE: no case variant of c is white space, a
    letter or a number. U+0345 COMBINING GREEK YPOGEGRAMMENI (Mn, a case variant of iota) is
    in none of CLIP's classes: findall drops it like white space."""
    return not any(is_regex_space(v) or is_letter(v) or is_number(v) for v in case_variants(c))


# --- the port: HF's BasicTokenizer and WordpieceTokenizer ---------------------------------

def merge_pair(symbols, pair):
    """symbols with every non-overlapping occurrence of pair, left to right, joined into one
    (one BPE merge step, as CLIPTokenizer.bpe does it)."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def whitespace_tokenize(text):
    return text.strip().split()


def strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_on_punctuation(text):
    out = []
    new_word = True
    for c in text:
        if is_punctuation(c):
            out.append(c)
            new_word = True
        else:
            if new_word:
                out.append("")
            new_word = False
            out[-1] += c
    return out


def clean_text(text):
    return "".join(" " if is_whitespace(c) else c for c in text
                   if not (c == "\0" or c == "\ufffd" or is_control(c)))


def basic_tokenize(text, do_lower_case=True, never_split=(), tokenize_chinese_chars=True,
                   strip_accents_opt=None, do_split_on_punc=True):
    text = clean_text(text)
    if tokenize_chinese_chars:
        text = "".join(f" {c} " if is_chinese_char(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    split = []
    for token in whitespace_tokenize(text):
        if token not in never_split:
            if do_lower_case:
                token = token.lower()
                if strip_accents_opt is not False:
                    token = strip_accents(token)
            elif strip_accents_opt:
                token = strip_accents(token)
        if not do_split_on_punc or token in never_split:
            split.append(token)
        else:
            split.extend(split_on_punctuation(token))
    return whitespace_tokenize(" ".join(split))


def wordpiece(token, vocab, unk, max_chars=100):
    out = []
    for word in whitespace_tokenize(token):
        if len(word) > max_chars:
            out.append(unk)
            continue
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while start < end:
                sub = ("##" if start > 0 else "") + word[start:end]
                if sub in vocab:
                    break
                end -= 1
            if start == end:
                pieces = None
                break
            pieces.append(sub)
            start = end
        out.extend([unk] if pieces is None else pieces)
    return out


def split_on_specials(text, specials):
    """HF's added-token trie split, as (is_special, piece) pairs. With no special token inside
    another (tokenizer_metadata refuses that) the trie's earliest-ending match is the
    earliest-starting one, so a left-to-right scan finds the same cuts."""
    out, start, i = [], 0, 0
    while i < len(text):
        hit = next((s for s in specials if text.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        if start < i:
            out.append((False, text[start:i]))
        out.append((True, hit))
        i += len(hit)
        start = i
    if start < len(text):
        out.append((False, text[start:]))
    return out


# --- the port: the two tokenizers ----------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()

# CLIP's pattern's literal alternatives, tried in order before the classes.
_CLIP_LITERALS = ("<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def _ci_startswith(text, i, literal):
    if i + len(literal) > len(text):
        return False
    return all(text[i + k] in case_variants(ch) for k, ch in enumerate(literal))


def clip_pre_tokenize(text):
    """re.findall of CLIPTokenizer's pattern (regex module, IGNORECASE):
    <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"""
    out, i, n = [], 0, len(text)
    while i < n:
        lit = next((s for s in _CLIP_LITERALS if _ci_startswith(text, i, s)), None)
        if lit is not None:
            out.append(text[i:i + len(lit)])
            i += len(lit)
        elif is_letter(text[i]):
            j = i + 1
            while j < n and is_letter(text[j]):
                j += 1
            out.append(text[i:j])
            i = j
        elif is_number(text[i]):
            out.append(text[i])
            i += 1
        elif is_clip_other(text[i]):
            j = i + 1
            while j < n and is_clip_other(text[j]):
                j += 1
            out.append(text[i:j])
            i = j
        else:
            i += 1
    return out


class _Base:
    def __init__(self, meta):
        self.max_length = meta["max_length"]

    def _wrap(self, ids):
        # truncation=True for one sequence: longest_first removes from the end of the text's
        # ids, keeping both special tokens.
        if self.max_length is not None and len(ids) + 2 > self.max_length:
            ids = ids[:self.max_length - 2]
        return [self.first_id] + ids + [self.last_id]

    def encode(self, text):
        return self._wrap([self.token_id(t) for t in self.tokenize(text)])

    def encode_batch(self, texts):
        rows = [self.encode(t) for t in texts]
        length = max((len(r) for r in rows), default=0)
        ids = [r + [self.pad_id] * (length - len(r)) for r in rows]
        mask = [[1] * len(r) + [0] * (length - len(r)) for r in rows]
        return ids, mask


class ClipBpe(_Base):
    def __init__(self, meta):
        super().__init__(meta)
        self.vocab = meta["vocab"]
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(meta["merges"])}
        self.specials = list(dict.fromkeys(meta[k] for k in ("bos", "eos", "unk", "pad")))
        self.unk_id = self.vocab[meta["unk"]]
        self.first_id, self.last_id = self.vocab[meta["bos"]], self.vocab[meta["eos"]]
        self.pad_id = self.vocab[meta["pad"]]
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(a, b) for a, b in zip(word, word[1:])}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            word = merge_pair(word, best)
        self.cache[token] = " ".join(word)
        return self.cache[token]

    def _tokenize(self, text):
        text = " ".join(basic_tokenize(text, strip_accents_opt=False, do_split_on_punc=False))
        out = []
        for token in clip_pre_tokenize(text):
            out.extend(self.bpe("".join(BYTE_ENCODER[b] for b in token.encode("utf-8"))).split(" "))
        return out

    def tokenize(self, text):
        out = []
        for special, piece in split_on_specials(text, self.specials):
            out.extend([piece] if special else self._tokenize(piece))
        return out

    def token_id(self, token):
        return self.vocab.get(token, self.unk_id)


class WordPiece(_Base):
    def __init__(self, meta):
        super().__init__(meta)
        self.vocab = {t: i for i, t in enumerate(meta["vocab"])}
        self.do_lower_case = meta["do_lower_case"]
        self.strip_accents = meta["strip_accents"]
        self.chinese = meta["tokenize_chinese_chars"]
        self.never_split = set(meta["never_split"])
        self.specials = list(dict.fromkeys(meta[k] for k in ("unk", "sep", "pad", "cls", "mask")))
        self.unk = meta["unk"]
        self.unk_id = self.vocab[self.unk]
        self.first_id, self.last_id = self.vocab[meta["cls"]], self.vocab[meta["sep"]]
        self.pad_id = self.vocab[meta["pad"]]

    def _lower_outside_specials(self, text):
        # PreTrainedTokenizer.tokenize: re.sub("(specials)|(.+?)", ...) lower-cases one
        # character at a time (so no final sigma); '.' does not match a newline, left as is.
        out, i = [], 0
        while i < len(text):
            hit = next((s for s in self.specials if text.startswith(s, i)), None)
            if hit is not None:
                out.append(hit)
                i += len(hit)
            else:
                out.append(text[i] if text[i] == "\n" else text[i].lower())
                i += 1
        return "".join(out)

    def _tokenize(self, text):
        out = []
        for token in basic_tokenize(text, self.do_lower_case, self.never_split | set(self.specials),
                                    self.chinese, self.strip_accents):
            out.extend([token] if token in self.never_split else wordpiece(token, self.vocab, self.unk))
        return out

    def tokenize(self, text):
        if self.do_lower_case:
            text = self._lower_outside_specials(text)
        out = []
        for special, piece in split_on_specials(text, self.specials):
            out.extend([piece] if special else self._tokenize(piece))
        return out

    def token_id(self, token):
        return self.vocab.get(token, self.unk_id)


def from_metadata(meta):
    """The port of HF's tokenizer that a vkfuse.tokenizer value describes (str or dict)."""
    if isinstance(meta, str):
        meta = json.loads(meta)
    kinds = {"clip_bpe": ClipBpe, "wordpiece": WordPiece}
    if meta.get("type") not in kinds:
        raise ValueError(f"tokenizer type {meta.get('type')!r}: expected clip_bpe or wordpiece")
    return kinds[meta["type"]](meta)
