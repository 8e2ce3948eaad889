#!/usr/bin/python3
"""Writes engine/text/unicode_tables.inc (what vkfuse's tokenizers need of Unicode, from
Python's unicodedata, so the C++ side agrees with HF's Python tokenizers on this Python's
Unicode version) and tests/data/tokenizer/unicode_check.json (digests and sequences the C++
test compares against).

    /usr/bin/python3 tools/gen_unicode_tables.py        # from the repository root

The tables:
- kPropRanges: code point ranges with the same property flags (letter = L*, number = N*, Mn,
  punctuation = P*, other = C* (Cn included, as BERT's _is_control counts it), Zs, Python's
  str.isspace(), the regex module's \\s, cased / case-ignorable as CPython's str.lower() uses
  them for the final sigma, and CLIP's [^\\s\\p{L}\\p{N}] under IGNORECASE).
- kLowerRuns / kLowerMulti: str.lower() of one character (runs of equal offset, stride 1 or
  2; the few characters whose lower case is several code points).
- kCccRanges: canonical combining classes (non-zero only).
- kDecompositions: canonical decompositions, one level (the C++ side recurses), with whether
  the pair composes back in NFC (not a composition exclusion, singleton or non-starter
  decomposition: exactly those with NFC(c) == c). Hangul syllables are algorithmic.
- kCjkRanges: BERT's _is_chinese_char ranges.
"""

import json
import os
import random
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers as hft  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_INC = os.path.join(ROOT, "engine", "text", "unicode_tables.inc")
OUT_CHECK = os.path.join(ROOT, "tests", "data", "tokenizer", "unicode_check.json")

# The flag bits, as engine/text/unicode.h names them.
LETTER, NUMBER, MARK_NONSPACING, PUNCTUATION, OTHER = 1, 2, 4, 8, 16
SPACE_SEPARATOR, PY_SPACE, REGEX_SPACE, CASED, CASE_IGNORABLE, CLIP_OTHER = 32, 64, 128, 256, 512, 1024

MAX_CP = 0x110000
SIGMA = "\u03a3"


def final_sigma_props(c):
    """CPython's final-sigma test reads two properties it does not expose; probe them through
    str.lower(): before a capital sigma, a case-ignorable character is skipped (so "A" + c + Σ
    ends in a final sigma and "1" + c + Σ does not); any other character decides by being
    cased."""
    after_letter = ("A" + c + SIGMA).lower()[-1] == "\u03c2"
    after_digit = ("1" + c + SIGMA).lower()[-1] == "\u03c2"
    ignorable = after_letter and not after_digit
    cased = after_digit  # cased and not case-ignorable: all the test needs of the first
    return cased, ignorable


def flags_of(cp):
    c = chr(cp)
    cat = unicodedata.category(c)
    f = 0
    if cat[0] == "L":
        f |= LETTER
    if cat[0] == "N":
        f |= NUMBER
    if cat == "Mn":
        f |= MARK_NONSPACING
    if cat[0] == "P":
        f |= PUNCTUATION
    if cat[0] == "C":
        f |= OTHER
    if cat == "Zs":
        f |= SPACE_SEPARATOR
    if c.isspace():
        f |= PY_SPACE
    if hft.is_regex_space(c):
        f |= REGEX_SPACE
    if 0xD800 <= cp < 0xE000:
        return f  # lone surrogates: the UTF-8 decoder refuses them
    cased, ignorable = final_sigma_props(c)
    if cased:
        f |= CASED
    if ignorable:
        f |= CASE_IGNORABLE
    if hft.is_clip_other(c):
        f |= CLIP_OTHER
    return f


def prop_ranges():
    ranges = []
    prev = None
    for cp in range(MAX_CP):
        f = flags_of(cp)
        if f != prev:
            ranges.append((cp, f))
            prev = f
    return ranges


def lower_tables():
    singles, multi = [], []
    for cp in range(MAX_CP):
        if 0xD800 <= cp < 0xE000:
            continue
        lo = chr(cp).lower()
        if lo == chr(cp):
            continue
        if len(lo) == 1:
            singles.append((cp, ord(lo) - cp))
        else:
            multi.append((cp, [ord(x) for x in lo]))
    runs = []  # [first, last, delta, stride]
    for cp, d in singles:
        if runs:
            r = runs[-1]
            if r[2] == d:
                if r[0] == r[1] and cp - r[1] in (1, 2):
                    r[1], r[3] = cp, cp - r[1]
                    continue
                if cp - r[1] == r[3]:
                    r[1] = cp
                    continue
        runs.append([cp, cp, d, 1])
    assert all(len(m) <= 3 for _, m in multi)
    return runs, multi


def ccc_ranges():
    ranges = []
    for cp in range(MAX_CP):
        ccc = unicodedata.combining(chr(cp))
        if not ccc:
            continue
        if ranges and ranges[-1][1] == cp - 1 and ranges[-1][2] == ccc:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, ccc])
    return ranges


def decompositions():
    out = []
    for cp in range(MAX_CP):
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert 1 <= len(parts) <= 2, (hex(cp), d)
        composes = len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp)
        out.append((cp, parts[0], parts[1] if len(parts) == 2 else 0, composes))
    return out


def write_inc(props, runs, multi, cccs, decomps):
    def rows(items, per_line):
        lines = []
        for i in range(0, len(items), per_line):
            lines.append("    " + " ".join(items[i:i + per_line]))
        return "\n".join(lines)

    out = [
        "// Generated by tools/gen_unicode_tables.py from Python's unicodedata "
        f"(Unicode {unicodedata.unidata_version}, Python {sys.version.split()[0]}). Do not edit.",
        "// Included by engine/text/unicode.cpp, which defines the row types.",
        "",
        f"constexpr const char* kUnicodeVersion = \"{unicodedata.unidata_version}\";",
        "",
        "// [first of a range, flags]: each range runs to the next one's first.",
        "constexpr PropRange kPropRanges[] = {",
        rows([f"{{0x{cp:X},{f}}}," for cp, f in props], 8),
        "};",
        "",
        "// [first, last, delta, stride]: c in first..last with (c - first) % stride == 0 lowers to c + delta.",
        "constexpr LowerRun kLowerRuns[] = {",
        rows([f"{{0x{a:X},0x{b:X},{d},{s}}}," for a, b, d, s in runs], 4),
        "};",
        "",
        "// Characters whose str.lower() is more than one code point.",
        "constexpr LowerMulti kLowerMulti[] = {",
        rows(["{0x%X,{%s}}," % (cp, ",".join(f"0x{x:X}" for x in m + [0] * (3 - len(m)))) for cp, m in multi], 2),
        "};",
        "",
        "// [first, last, canonical combining class], non-zero classes only.",
        "constexpr CccRange kCccRanges[] = {",
        rows([f"{{0x{a:X},0x{b:X},{c}}}," for a, b, c in cccs], 6),
        "};",
        "",
        "// [code point, first, second (0: a singleton), composes back in NFC], by code point.",
        "constexpr Decomposition kDecompositions[] = {",
        rows([f"{{0x{cp:X},0x{a:X},0x{b:X},{int(c)}}}," for cp, a, b, c in decomps], 4),
        "};",
        "",
        "// BERT's _is_chinese_char (tokenization_bert.py), inclusive.",
        "constexpr CjkRange kCjkRanges[] = {",
        rows([f"{{0x{a:X},0x{b:X}}}," for a, b in hft.CJK_RANGES], 4),
        "};",
        "",
    ]
    text = "\n".join(out)
    with open(OUT_INC, "w", encoding="utf-8") as f:
        f.write(text)
    return len(text)


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def check_data(props):
    """Per 4096 code points, a digest of what the C++ side computes for each one alone:
    flags (2 bytes LE), lower, NFD, NFC (UTF-8, each ended by 0xFF). Then sequences of a base
    and marks of mixed classes, and lower-casing with sigma in context."""
    flag_at = {}
    it = iter(props + [(MAX_CP, 0)])
    cur = next(it)
    for nxt in it:
        for cp in range(cur[0], nxt[0]):
            flag_at[cp] = cur[1]
        cur = nxt
    digests = []
    for block in range(0, MAX_CP, 4096):
        h = 0xCBF29CE484222325
        for cp in range(block, block + 4096):
            if 0xD800 <= cp < 0xE000:
                continue
            c = chr(cp)
            data = flag_at[cp].to_bytes(2, "little")
            for s in (c.lower(), unicodedata.normalize("NFD", c), unicodedata.normalize("NFC", c)):
                data += s.encode("utf-8") + b"\xff"
            h = fnv1a(data, h)
        digests.append(f"{h:016x}")

    rng = random.Random(20240607)
    marks = [cp for cp in range(0x300, 0x370)] + [0x1DC0, 0x1DCE, 0x20D0, 0x302A, 0x0F71, 0x0F72,
                                                  0x05B0, 0x0651, 0x093C, 0x094D, 0x3099, 0x309A]
    bases = "aeiouAEIOUcnszCNSZ" + "αεωΑΩ" + "кгКГ" + "\u1100\u1161\u11a8\uac00\u0b47\u0b3e\u3046\u304b"
    seqs = []
    for _ in range(600):
        s = "".join(rng.choice(bases) if rng.random() < 0.35 else chr(rng.choice(marks))
                    for _ in range(rng.randint(1, 6)))
        seqs.append([s, unicodedata.normalize("NFC", s), unicodedata.normalize("NFD", s), s.lower()])
    sigma = ["ΟΔΟΣ", "ΟΔΟΣ.", "ΟΔΟΣ.Α", "Σ", "ΑΣ'", "Α'Σ", "ΑΣΑ", "ΑΣ\u0301", "1Σ", "Σ1Σ", "ΑΣ\u0345Β",
             "ὈΔΥΣΣΕΎΣ", "İSTANBUL", "ǅǄǆ", "ΣΑΣ ΣΑΣ"]
    lowers = [[s, s.lower()] for s in sigma]
    return {"unicode_version": unicodedata.unidata_version, "block": 4096, "digests": digests,
            "sequences": seqs, "lower": lowers}


def check_literal_cases():
    """engine/text/bpe_tokenizer.cpp matches CLIP's literals (<|startoftext|>, 's, ...)
    case-insensitively as: a letter matches its two ASCII cases, and 's' also U+017F."""
    for ch in set("".join(hft._CLIP_LITERALS)):
        want = {ch, ch.upper()} | ({"\u017f"} if ch == "s" else set())
        got = hft.case_variants(ch)
        assert got == want, f"case variants of {ch!r} are {sorted(got)}: update bpe_tokenizer.cpp"


def main():
    check_literal_cases()
    props = prop_ranges()
    runs, multi = lower_tables()
    cccs = ccc_ranges()
    decomps = decompositions()
    size = write_inc(props, runs, multi, cccs, decomps)
    os.makedirs(os.path.dirname(OUT_CHECK), exist_ok=True)
    with open(OUT_CHECK, "w", encoding="utf-8") as f:
        json.dump(check_data(props), f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{OUT_INC}: {size} bytes; {len(props)} property ranges, {len(runs)} lower runs, "
          f"{len(multi)} multi, {len(cccs)} ccc ranges, {len(decomps)} decompositions")


if __name__ == "__main__":
    main()
