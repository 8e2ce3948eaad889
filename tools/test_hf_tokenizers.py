#!/usr/bin/python3
"""Tests of tools/hf_tokenizers.py: the port of HF's slow CLIP and BERT tokenizers on examples
worked by hand, tokenizer_metadata's refusals, and that the committed test data
(tests/data/tokenizer, written by tools/gen_tokenizer_cases.py) is what the tools make now.

    /usr/bin/python3 tools/test_hf_tokenizers.py [-v]

With the `regex` module importable (HF's own dependency), the port's hand-written version of
CLIP's pattern is also compared with regex.findall on every assigned code point.
"""

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import unicodedata
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers as hft  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")


def committed(name):
    with open(os.path.join(DATA, name + ".json"), encoding="utf-8") as f:
        return f.read().strip()


class PortTest(unittest.TestCase):
    def setUp(self):
        self.clip = hft.from_metadata(committed("clip"))
        self.bert = hft.from_metadata(committed("bert_uncased"))

    def test_clip_by_hand(self):
        # Ids as tests/test_tokenizer.cpp works them out: a</w> 320, photo</w> 520, of</w> 514,
        # cat</w> 516, it</w> 524, 's</w> 523, digits one by one ('2</w>' 273).
        self.assertEqual(self.clip.encode("a photo of a cat"), [552, 320, 520, 514, 320, 516, 553])
        self.assertEqual(self.clip.encode("It's"), [552, 524, 523, 553])
        self.assertEqual(self.clip.encode("2023"), [552, 273, 271, 273, 274, 553])
        self.assertEqual(self.clip.encode("kzkzq"), [552, 537, 537, 336, 553])
        self.assertEqual(self.clip.encode("é"), [552, 539, 553])
        self.assertEqual(self.clip.encode("ü"), [552, 127, 376, 553])
        self.assertEqual(self.clip.encode(""), [552, 553])
        self.assertEqual(self.clip.tokenize("<|endoftext|>a"), ["<|endoftext|>", "a</w>"])

    def test_clip_pattern(self):
        self.assertEqual(hft.clip_pre_tokenize("it's 12 <|endoftext|> 'RE !!x aͅb"),
                         ["it", "'s", "1", "2", "<|endoftext|>", "'RE", "!!", "x", "a", "b"])
        self.assertEqual(hft.clip_pre_tokenize("'ſ"), ["'ſ"])

    def test_bert_by_hand(self):
        self.assertEqual(self.bert.encode("Hello, world!"), [2, 14, 16, 15, 18, 3])
        self.assertEqual(self.bert.encode("unaffable"), [2, 11, 12, 13, 3])
        self.assertEqual(self.bert.encode("[CLS]hello [MASK]"), [2, 2, 14, 4, 3])
        self.assertEqual(self.bert.encode("x" * 101), [2, 1, 3])
        self.assertEqual(self.bert.encode("Café"), [2, 29, 3])
        self.assertEqual(hft.from_metadata(committed("bert_keep_accents")).encode("Café"), [2, 30, 3])
        self.assertEqual(hft.from_metadata(committed("bert_cased")).encode("Café"), [2, 32, 3])
        self.assertEqual(hft.from_metadata(committed("bert_cased_strip")).encode("Café"), [2, 31, 3])
        self.assertEqual(len(self.bert.encode("a " * 40)), 16)  # model_max_length 16

    def test_basic_tokenizer(self):
        self.assertEqual(hft.basic_tokenize("Héllo,\tWORLD!\x00 你好 ΟΔΟΣ"),
                         ["hello", ",", "world", "!", "你", "好", "οδος"])  # str.lower: final sigma
        self.assertEqual(hft.basic_tokenize("a\u2028b\x1cc"), ["a", "bc"])  # U+2028 splits, FS is a control

    def test_batch(self):
        ids, mask = self.bert.encode_batch(["a photo", "a"])
        self.assertEqual(ids, [[2, 6, 7, 3], [2, 6, 3, 0]])
        self.assertEqual(mask, [[1, 1, 1, 1], [1, 1, 1, 0]])

    @unittest.skipUnless(importlib.util.find_spec("regex"), "regex module not installed")
    def test_pattern_against_regex_module(self):
        import regex
        pat = regex.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"
                            r"[^\s\p{L}\p{N}]+", regex.IGNORECASE)
        for cp in range(0x110000):
            c = chr(cp)
            if 0xD800 <= cp < 0xE000 or unicodedata.category(c) == "Cn":
                continue  # the two Unicode versions may disagree on unassigned code points
            for s in (c, "a" + c + "b", "'" + c, "!" + c + "!"):
                self.assertEqual(hft.clip_pre_tokenize(s), regex.findall(pat, s), hex(cp))


class MetadataTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def folder(self, kind, config=None, special_map=None, name="f"):
        d = os.path.join(self.tmp, name)
        shutil.copytree(os.path.join(DATA, "hf", kind), d)
        if config is not None:
            with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                json.dump(config, f)
        if special_map is not None:
            with open(os.path.join(d, "special_tokens_map.json"), "w", encoding="utf-8") as f:
                json.dump(special_map, f)
        return d

    def refused(self, d, kind, *needles):
        with self.assertRaises(ValueError) as e:
            hft.tokenizer_metadata(d, kind)
        for n in needles:
            self.assertIn(n, str(e.exception))

    def test_committed_data_is_current(self):
        self.assertEqual(hft.tokenizer_metadata(os.path.join(DATA, "hf", "clip"), "clip"), committed("clip"))
        self.assertEqual(hft.tokenizer_metadata(os.path.join(DATA, "hf", "bert"), "bert"), committed("bert_uncased"))
        with open(os.path.join(DATA, "cases.json"), encoding="utf-8") as f:
            for c in json.load(f)["cases"]:
                self.assertEqual(hft.from_metadata(committed(c["tokenizer"])).encode(c["text"]), c["ids"])

    def test_formats(self):
        clip = json.loads(committed("clip"))
        self.assertEqual(sorted(clip), ["bos", "eos", "max_length", "merges", "pad", "type", "unk", "vocab"])
        self.assertEqual((clip["type"], clip["max_length"], clip["bos"], clip["pad"]),
                         ("clip_bpe", 77, "<|startoftext|>", "<|endoftext|>"))
        self.assertEqual(clip["merges"][:2], ["t h", "th e</w>"])
        bert = json.loads(committed("bert_uncased"))
        self.assertEqual(sorted(bert), ["cls", "do_lower_case", "mask", "max_length", "never_split", "pad", "sep",
                                        "strip_accents", "tokenize_chinese_chars", "type", "unk", "vocab"])
        self.assertEqual((bert["vocab"][:3], bert["strip_accents"], bert["never_split"]),
                         (["[PAD]", "[UNK]", "[CLS]"], None, ["[XYZ]", "hello-world"]))
        # HF's "no limit" (int(1e30)) is null.
        self.assertIsNone(json.loads(committed("bert_no_cjk"))["max_length"])

    def test_no_tokenizer_files(self):
        os.makedirs(os.path.join(self.tmp, "empty"))
        with open(os.path.join(self.tmp, "empty", "config.json"), "w") as f:
            f.write("{}")
        self.assertIsNone(hft.tokenizer_metadata(os.path.join(self.tmp, "empty"), "clip"))
        self.assertIsNone(hft.tokenizer_metadata(os.path.join(self.tmp, "empty"), "bert"))
        with self.assertRaises(ValueError):
            hft.tokenizer_metadata(os.path.join(self.tmp, "empty"), "gpt2")

    def test_missing_files(self):
        d = self.folder("clip")
        os.remove(os.path.join(d, "merges.txt"))
        self.refused(d, "clip", "merges.txt", "missing")
        d = self.folder("bert", name="b")
        os.remove(os.path.join(d, "vocab.txt"))
        self.refused(d, "bert", "vocab.txt", "missing")

    def test_config_refusals(self):
        self.refused(self.folder("clip", {"tokenizer_class": "GPT2Tokenizer"}), "clip",
                     "tokenizer_config.json", "'tokenizer_class'", "GPT2Tokenizer")
        self.refused(self.folder("bert", {"do_basic_tokenize": False}, name="b1"), "bert", "'do_basic_tokenize'")
        self.refused(self.folder("bert", {"padding_side": "left"}, name="b2"), "bert", "'padding_side'")
        self.refused(self.folder("bert", {"frobnicate": 1}, name="b3"), "bert", "key 'frobnicate'")
        self.refused(self.folder("bert", {"mask_token": {"content": "[MASK]", "lstrip": True}}, name="b4"), "bert",
                     "'mask_token'", "'lstrip'")
        self.refused(self.folder("bert", {"additional_special_tokens": ["[X]"]}, name="b5"), "bert",
                     "'additional_special_tokens'")
        self.refused(self.folder("bert", {"added_tokens_decoder": {"60": {"content": "[NEW]", "special": True}}},
                                 name="b6"), "bert", "'added_tokens_decoder'", "[NEW]")
        self.refused(self.folder("bert", {"unk_token": "<unk>"}, name="b7"), "bert", "vocab.txt", "'<unk>'")
        self.refused(self.folder("bert", {"model_max_length": 2}, name="b8"), "bert", "'model_max_length'")
        self.refused(self.folder("clip", {"mask_token": "<mask>"}, name="c2"), "clip", "'mask_token'")
        self.refused(self.folder("clip", {"add_prefix_space": True}, name="c3"), "clip", "'add_prefix_space'")
        self.refused(self.folder("clip", {}, special_map={"cls_token": "x"}, name="c4"), "clip",
                     "special_tokens_map.json", "'cls_token'")
        self.refused(self.folder("clip", {}, special_map={"eos_token": "<|"}, name="c5"), "clip", "inside special token")
        d = self.folder("bert", {}, name="b9")
        with open(os.path.join(d, "added_tokens.json"), "w", encoding="utf-8") as f:
            json.dump({"[NEW]": 60}, f)
        self.refused(d, "bert", "added_tokens.json")

    def test_special_tokens_map_wins_in_old_configs(self):
        d = self.folder("bert", {"pad_token": "[UNK]"}, special_map={"pad_token": "[MASK]"})
        self.assertEqual(json.loads(hft.tokenizer_metadata(d, "bert"))["pad"], "[MASK]")
        # With added_tokens_decoder (v4.34+ configs) HF does not read the map.
        d = self.folder("bert", {"pad_token": "[UNK]", "added_tokens_decoder": {}}, special_map={"pad_token": "[MASK]"},
                        name="g")
        self.assertEqual(json.loads(hft.tokenizer_metadata(d, "bert"))["pad"], "[UNK]")

    def test_file_refusals(self):
        d = self.folder("bert")
        with open(os.path.join(d, "vocab.txt"), "a", encoding="utf-8") as f:
            f.write("the\n")
        self.refused(d, "bert", "vocab.txt", "'the'", "lines 6 and 61")
        d = self.folder("clip", name="c1")
        with open(os.path.join(d, "merges.txt"), "a", encoding="utf-8") as f:
            f.write("q r\n")
        self.refused(d, "clip", "merges.txt", "'qr' is not in vocab.json")
        d = self.folder("clip", name="c2")
        vocab = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
        vocab["zz"] = 5000
        json.dump(vocab, open(os.path.join(d, "vocab.json"), "w", encoding="utf-8"))
        self.refused(d, "clip", "vocab.json", "'zz' has id 5000")

    def test_merges_as_hf_reads_them(self):
        # The first line is skipped whatever it is, lines of other than two parts never match,
        # and a pair listed twice keeps its later rank.
        d = self.folder("clip")
        with open(os.path.join(d, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        lines = ["t h"] + lines[1:] + ["a b c", "t h"]
        with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        merges = json.loads(hft.tokenizer_metadata(d, "clip"))["merges"]
        self.assertEqual((merges[0], merges[-1], merges.count("t h")), ("th e</w>", "t h", 1))
        self.assertNotIn("a b c", merges)


if __name__ == "__main__":
    unittest.main()
