#!/usr/bin/python3
"""Generate tests/data/e2e/: end-to-end cases of the user's path, from a checkpoint folder laid
out exactly as Hugging Face saves one, through the converter, to `vkfuse run --text/--image`,
`vkfuse tokenize`, `vkfuse index` and `vkfuse search`.

Run from the repository root with Debian's PyTorch 1.13, torchvision 0.14 and Pillow 9.4:

    /usr/bin/python3 tools/gen_e2e_cases.py

Writes (tests/data/e2e/README.md says the same for the reader of the files):

  clip/hf/                a small CLIPModel checkpoint folder as save_pretrained writes it:
                          config.json (HF's keys), model.safetensors (with both position_ids
                          buffers), vocab.json + merges.txt + tokenizer_config.json +
                          special_tokens_map.json (a small byte-level BPE vocabulary whose last
                          two ids are <|startoftext|> and <|endoftext|>, as in the real one),
                          preprocessor_config.json (CLIPImageProcessor, shortest_edge 24, crop
                          24x24)
  clip/model.safetensors  `tools/vkfuse_export.py from-hf clip/hf clip/model.safetensors`
                          (vkfuse.tokenizer, vkfuse.image_preprocess in its metadata)
  clip/pictures/          PNGs of different sizes and modes (RGB, RGBA, grey) and one JPEG
  clip/expected.json      texts, the port's ids (tools/hf_tokenizers.py), the padded batch, and
                          what tools/hf_models.CLIPModel gives on it and on the PNGs preprocessed
                          as CLIPImageProcessor does (PIL): image_embeds, text_embeds,
                          logits_per_image, logits_per_text; per text the ranking of the PNGs by
                          cosine similarity; the index (every picture, the JPEG as PIL decodes it)
  clip/expected.safetensors  the same output tensors, F32
  bert/hf/                a small BERT checkpoint (config.json, pytorch_model.bin with a `bert.`
                          prefix and position_ids, vocab.txt + tokenizer_config.json +
                          special_tokens_map.json, do_lower_case true)
  bert/model.safetensors  its conversion by from-hf
  bert/expected.json      texts, ids, the padded batch, last_hidden_state (padded rows zeroed,
                          compare_mask 0), pooler_output, sentence_embedding
  bert/expected.safetensors  the same tensors (and compare_mask U8)
  README.md

Weights are drawn as tools/gen_standard_cases.py draws them (its redraw()), seeded; one thread;
re-running rewrites every file byte for byte on the same PyTorch/Pillow build (the script checks
the digest it prints).
"""

import collections
import hashlib
import io
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "tests", "data", "e2e")
COMMAND = "/usr/bin/python3 tools/gen_e2e_cases.py"
MAX_TOTAL = 1000 * 1024
SCORE_GAP = 0.02       # least gap between consecutive PNG scores of a text's ranking
JPEG_MARGIN = 0.05     # the JPEG gets an expected rank only when this far from its neighbours
# The CLIP weights' seed: the first from 4242 on whose rankings have gaps > SCORE_GAP, differ
# between the texts, and rank the JPEG for at least one text (4242..5224 each fail one of these
# on Debian's PyTorch 1.13; the search starts here and goes on if this one fails elsewhere).
CLIP_SEED_SEARCHED_FROM = 4242
CLIP_SEED_FROM = 5225
BERT_SEED = 777

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hm  # noqa: E402
import hf_tokenizers as ht  # noqa: E402
import vkfuse_export as ve  # noqa: E402
import gen_standard_cases as gs  # noqa: E402  (the HF config layout, redraw, float64 forwards)
from gen_image_cases import preprocess as hf_preprocess  # noqa: E402  (CLIPImageProcessor)
from safetensors_io import read_safetensors, same, write_safetensors  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The CLIP tokenizer: byte-level BPE. The first 40 merges are tests/data/tokenizer/hf/clip's;
# the rest are for the texts below. The vocabulary is laid out as CLIP's: the 256 byte
# symbols, the same with </w>, one token per merge in rank order, then <|startoftext|> and
# <|endoftext|> (the largest id, eos, as 49407 is in the real one).

CLIP_MERGES = [
    "t h", "th e</w>", "o f</w>", "c a", "ca t</w>", "p h", "o t", "ph ot", "phot o</w>", "d o",
    "do g</w>", "' s</w>", "i t</w>", "h e", "l l", "he ll", "hell o</w>", "w o", "r l",
    "wo rl", "worl d</w>", "a a", "aa a", "aaa a</w>", "kz k", "k z", "ca f", "Ã ©</w>",
    "caf Ã©</w>", "! !</w>", "' re</w>", "r e</w>", "ä ½", "ä½ ł</w>", "å ¥", "å¥ ½</w>",
    "1 2", "< |", "s t", "st a",
    # for the texts of this case
    "e d</w>", "r ed</w>", "b a", "ba ll", "ball s</w>", "t o", "to y", "toy s</w>",
    "q u", "s qu", "squ a", "r e", "squa re", "square s</w>", "? !</w>", "c i", "ci r", "cir c",
    "circ l", "circl e</w>", "o n</w>", "a n", "an d</w>", "g re", "gre y</w>",
]
CLIP_TEXTS = [
    "A photo of a cat!",
    "The dog's 3 balls, 12 toys & a caf\u00e9.",
    "HELLO World: 2 red squares?!  Grey circle-on-top",
]
CLIP_MAX_POSITIONS = 32

# The BERT tokenizer: tests/data/tokenizer/hf/bert's WordPiece vocabulary, then the words of
# the texts below.
BERT_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "photo", "of", "cat", "dog", "un",
    "##aff", "##able", "hello", "world", ",", ".", "!", "?", "'", "-", "[", "]", "s", "t",
    "don", "it", "##s", "cafe", "caf\u00e9", "Cafe", "Caf\u00e9", "naive", "na", "##ive",
    "na\u00efve", "\u4f60", "\u597d", "\u4e16", "1", "2", "##3", "12", "\u03c3", "\u03c2",
    "\u03bf\u03b4\u03bf\u03c3", "\u03bf\u03b4\u03bf\u03c2", "cls", "x", "##x", "istanbul", "i",
    "##stanbul", "hello-world", "Hello", "World", "UN", "##AFF", "##ABLE",
    # for the texts of this case
    "resume", "is", "met", "times", "very", "##ly", "friend", "and", ":", "at",
]
BERT_TEXTS = [
    "Caf\u00e9 na\u00efve R\u00c9SUM\u00c9!",           # accents: lower-cased and stripped
    "The dog is unaffable, friendly and very unaffable.",  # un ##aff ##able, friend ##ly
    "A cat met xyzzy at 12: 12 times?",                 # xyzzy: [UNK]
]
BERT_MAX_POSITIONS = 32

# ---------------------------------------------------------------------------------------------
# Hugging Face files.


def write_text(path, s):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(s)


def clip_vocab():
    b2u = ht.bytes_to_unicode()
    syms = [b2u[b] for b in sorted(b2u, key=lambda b: ord(b2u[b]))]
    vocab = syms + [s + "</w>" for s in syms]
    for m in CLIP_MERGES:
        a, b = m.split(" ")
        assert a + b not in vocab, m
        vocab.append(a + b)
    for m in CLIP_MERGES:  # ("kz k" comes before "k z", as in tests/data/tokenizer/hf/clip)
        assert all(p in vocab for p in m.split(" ")), m
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(vocab)}


def added_token(content):
    # tokenizers' AddedToken as transformers 4.30 serializes it
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True,
            "rstrip": False, "single_word": False}


def write_clip_tokenizer(d):
    vocab = clip_vocab()
    # CLIPTokenizer.save_vocabulary: json.dumps(encoder, indent=2, sort_keys=True,
    # ensure_ascii=False) + "\n"; merges.txt: "#version: 0.2" then one merge a line.
    write_text(os.path.join(d, "vocab.json"),
               json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text(os.path.join(d, "merges.txt"), "#version: 0.2\n" + "".join(m + "\n"
                                                                          for m in CLIP_MERGES))
    # As openai/clip-vit-base-patch32 ships them.
    tc = {"add_prefix_space": False, "bos_token": added_token("<|startoftext|>"),
          "clean_up_tokenization_spaces": True, "do_lower_case": True,
          "eos_token": added_token("<|endoftext|>"), "errors": "replace",
          "model_max_length": CLIP_MAX_POSITIONS, "pad_token": "<|endoftext|>",
          "tokenizer_class": "CLIPTokenizer", "unk_token": added_token("<|endoftext|>")}
    gs.write_json(os.path.join(d, "tokenizer_config.json"), tc)
    stm = {"bos_token": {k: v for k, v in added_token("<|startoftext|>").items() if k != "__type"},
           "eos_token": {k: v for k, v in added_token("<|endoftext|>").items() if k != "__type"},
           "pad_token": "<|endoftext|>",
           "unk_token": {k: v for k, v in added_token("<|endoftext|>").items() if k != "__type"}}
    gs.write_json(os.path.join(d, "special_tokens_map.json"), stm)
    return vocab


def write_bert_tokenizer(d):
    assert len(set(BERT_VOCAB)) == len(BERT_VOCAB)
    write_text(os.path.join(d, "vocab.txt"), "".join(t + "\n" for t in BERT_VOCAB))
    tc = {"clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_basic_tokenize": True,
          "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": BERT_MAX_POSITIONS,
          "never_split": None, "pad_token": "[PAD]", "sep_token": "[SEP]",
          "strip_accents": None, "tokenize_chinese_chars": True,
          "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"}
    gs.write_json(os.path.join(d, "tokenizer_config.json"), tc)
    gs.write_json(os.path.join(d, "special_tokens_map.json"),
                  {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                   "sep_token": "[SEP]", "unk_token": "[UNK]"})


def clip_hf_config(vocab_size):
    return gs.clip_top(
        16,
        gs.full_sub("clip_text_model", gs.clip_text_values(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=CLIP_MAX_POSITIONS,
            bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=1)),
        gs.full_sub("clip_vision_model", gs.clip_vision_values(
            hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            image_size=24, patch_size=6)),
        "vkfuse-tests/clip-e2e")


CLIP_PREPROCESSOR = {
    "crop_size": {"height": 24, "width": 24}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": ve.OPENAI_CLIP_MEAN, "image_processor_type": "CLIPImageProcessor",
    "image_std": ve.OPENAI_CLIP_STD, "resample": 3, "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 24}}


def bert_hf_config():
    return gs.bert_full({"vocab_size": len(BERT_VOCAB), "hidden_size": 32,
                         "num_hidden_layers": 2, "num_attention_heads": 4,
                         "intermediate_size": 48, "max_position_embeddings": BERT_MAX_POSITIONS,
                         "hidden_act": "gelu"}, "vkfuse-tests/bert-e2e", ("BertModel",))


# ---------------------------------------------------------------------------------------------
# Pictures: colour fields and shapes, so that even random weights tell them apart.


def pictures():
    """{file name: PIL image}; PNGs for the exactness checks, one JPEG for the index only."""
    out = {}
    # 40x30 landscape: sky, grass, a yellow sun (resized to 32x24, crop offset 4)
    im = Image.new("RGB", (40, 30), (70, 140, 230))
    dr = ImageDraw.Draw(im)
    dr.rectangle([0, 19, 39, 29], fill=(40, 170, 60))
    dr.ellipse([25, 3, 34, 12], fill=(250, 220, 30))
    out["sunny_field_40x30.png"] = im
    # 25x60 portrait: a red tower on white (resized to 24x57, crop offset 16)
    im = Image.new("RGB", (25, 60), (250, 250, 250))
    dr = ImageDraw.Draw(im)
    dr.rectangle([8, 6, 16, 59], fill=(200, 20, 30))
    dr.polygon([(4, 10), (12, 0), (20, 10)], fill=(90, 20, 120))
    out["red_tower_25x60.png"] = im
    # 24x24: a black and white checkerboard (no resize, no crop)
    a = ((np.add.outer(np.arange(24) // 4, np.arange(24) // 4) % 2) * 255).astype(np.uint8)
    out["checker_24x24.png"] = Image.fromarray(np.stack([a, a, a], -1), "RGB")
    # 36x27 RGBA: a magenta field, a green triangle, alpha varying (dropped by convert("RGB"))
    im = Image.new("RGB", (36, 27), (220, 40, 200))
    dr = ImageDraw.Draw(im)
    dr.polygon([(3, 24), (18, 2), (33, 24)], fill=(30, 200, 90))
    rgba = np.concatenate([np.array(im), np.tile(np.linspace(40, 255, 36).astype(np.uint8),
                                                 (27, 1))[..., None]], -1)
    out["magenta_rgba_36x27.png"] = Image.fromarray(rgba, "RGBA")
    # 18x27 grey (mode L, upscaled to 24x36): a light gradient and a dark disc
    g = np.tile(np.linspace(120, 240, 18), (27, 1)).astype(np.uint8)
    im = Image.fromarray(g, "L")
    ImageDraw.Draw(im).ellipse([3, 8, 14, 19], fill=20)
    out["grey_disc_18x27.png"] = im
    # 30x30 JPEG: orange and blue halves across the diagonal (stb and libjpeg decode it a
    # little differently: the index test only)
    yy, xx = np.mgrid[0:30, 0:30]
    a = np.where((xx > yy)[..., None], np.array([245, 140, 20], np.uint8),
                 np.array([30, 60, 200], np.uint8)).astype(np.uint8)
    out["diagonal_30x30.jpg"] = Image.fromarray(a, "RGB")
    return out


def save_picture(path, im):
    if path.endswith(".png"):
        im.save(path, optimize=False)
    else:
        im.save(path, quality=90)


# ---------------------------------------------------------------------------------------------
# Output files.


def f32_number(x):
    """The shortest decimal that reads back as this float32 (a JSON number)."""
    s = np.format_float_positional(np.float32(x), unique=True, trim="-")
    v = float(s)
    assert np.float32(v) == np.float32(x), (x, s)
    return v


def tensor_json(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [f32_number(x) for x in t.reshape(-1).tolist()]}


def dump_json(obj, indent=0):
    """JSON with objects indented and lists of numbers or strings on one line."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = ["%s %s: %s" % (pad, json.dumps(k, ensure_ascii=False), dump_json(v, indent + 1))
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(x, (dict, list)) for x in obj):
        items = ["%s %s" % (pad, dump_json(v, indent + 1)) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def write_expected(d, obj, tensors):
    write_text(os.path.join(d, "expected.json"), dump_json(obj) + "\n")
    path = os.path.join(d, "expected.safetensors")
    write_safetensors(path, tensors, {"generated_by": COMMAND})
    back, _ = read_safetensors(path)
    for n, t in tensors:
        assert same(back[n], t), n


def max_diff(a, b):
    return (a.double() - b.double()).abs().max().item()


# ---------------------------------------------------------------------------------------------
# CLIP.


def ranking(scores, names):
    order = sorted(range(len(names)), key=lambda i: -scores[i])
    return [(names[i], scores[i]) for i in order]


def make_clip(seed, log):
    d = os.path.join(OUT, "clip")
    hf = os.path.join(d, "hf")
    pics_dir = os.path.join(d, "pictures")
    os.makedirs(hf)
    os.makedirs(pics_dir)
    vocab = write_clip_tokenizer(hf)
    hf_cfg = clip_hf_config(len(vocab))
    gs.write_json(os.path.join(hf, "config.json"), hf_cfg)
    gs.write_json(os.path.join(hf, "preprocessor_config.json"), CLIP_PREPROCESSOR)
    cfg = hm.clip_config(hf_cfg)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1000)
    ref = hm.CLIPModel(cfg, persistent_position_ids=True, eos_rule=gs.EOS_RULE)
    gs.redraw(ref, g)
    ref.eval()
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in ref.state_dict().items())
    assert sum(k.endswith("position_ids") for k in sd) == 2
    gs.save_weights(hf, sd, "safetensors")

    conv = []
    model_path = os.path.join(d, "model.safetensors")
    info = ve.convert_hf(hf, model_path, "F32", log=conv.append)
    mb, meta = read_safetensors(model_path)
    assert json.loads(meta["vkfuse.config"]) == info["config"]
    pre = json.loads(meta["vkfuse.image_preprocess"])
    assert pre == {"shortest_edge": 24, "crop": [24, 24], "resample": "bicubic",
                   "rescale_factor": 0.00392156862745098, "mean": ve.OPENAI_CLIP_MEAN,
                   "std": ve.OPENAI_CLIP_STD}, pre
    tok = ht.from_metadata(meta["vkfuse.tokenizer"])
    assert tok.last_id == len(vocab) - 1 and tok.first_id == len(vocab) - 2
    assert tok.pad_id == tok.last_id

    # Texts: the port's ids, padded to the longest with the pad id.
    ids_list = [tok.encode(t) for t in CLIP_TEXTS]
    ids, mask = tok.encode_batch(CLIP_TEXTS)
    assert max(len(r) for r in ids_list) <= CLIP_MAX_POSITIONS
    input_ids = torch.tensor(ids, dtype=torch.int64)
    attention_mask = torch.tensor(mask, dtype=torch.int64)

    # Pictures.
    pics = pictures()
    for name, im in pics.items():
        save_picture(os.path.join(pics_dir, name), im)
    names = sorted(pics)
    png = [n for n in names if n.endswith(".png")]
    jpg = [n for n in names if not n.endswith(".png")]
    assert len(jpg) == 1
    decoded = {}
    for n in names:  # what PIL decodes from the written files
        with Image.open(os.path.join(pics_dir, n)) as im:
            im.load()
            decoded[n] = im.copy()
            modes = im.mode
        log.append("%s: %s %dx%d" % (n, modes, decoded[n].width, decoded[n].height))
    pixel_values = torch.stack([hf_preprocess(decoded[n], pre) for n in png])
    jpg_pixels = hf_preprocess(decoded[jpg[0]], pre)[None]

    # A fresh module on the converted weights.
    torch.manual_seed(12345)
    fresh = hm.CLIPModel(cfg, persistent_position_ids=False, eos_rule=gs.EOS_RULE).eval()
    fresh.load_state_dict({k: v.float() for k, v in mb.items()}, strict=True)
    with torch.no_grad():
        out = fresh(input_ids=input_ids, pixel_values=pixel_values,
                    attention_mask=attention_mask)
        orig = ref(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)
        jpg_embed = fresh(pixel_values=jpg_pixels)["image_embeds"]
        # each tower alone gives the same rows (what `vkfuse index` and `search` use)
        alone_img = fresh(pixel_values=pixel_values)["image_embeds"]
        alone_txt = torch.cat([fresh(input_ids=torch.tensor([r]))["text_embeds"]
                               for r in ids_list])
    for k in out:
        assert same(out[k], orig[k]), k  # the converter changed no bit
    checks = []
    inp = {"input_ids": input_ids, "pixel_values": pixel_values, "attention_mask": attention_mask}
    man = gs.manual_clip(mb, cfg, inp)
    checks.append("float64 forward written by hand vs expected: " + ", ".join(
        "%s %.1e" % (k, max_diff(out[k], man[k])) for k in out))
    nn = gs.nn_clip({k: v.float() for k, v in mb.items()}, cfg, inp)
    checks.append("torch.nn.TransformerEncoderLayer rebuild vs expected: " + ", ".join(
        "%s %.1e" % (k, max_diff(out[k], nn[k])) for k in nn))
    checks.append("each text alone (no padding) vs in the padded batch: text_embeds %.1e; the "
                  "image tower alone: image_embeds %.1e"
                  % (max_diff(alone_txt, out["text_embeds"]),
                     max_diff(alone_img, out["image_embeds"])))
    for k, v in list(man.items()):
        assert max_diff(out[k], v) < 2e-5, k
    for k, v in nn.items():
        assert max_diff(out[k], v) < 2e-5, k
    assert max_diff(alone_txt, out["text_embeds"]) < 1e-5
    assert max_diff(alone_img, out["image_embeds"]) < 1e-6
    pos = {r: hm.clip_pooled_positions(input_ids, cfg.text.eos_token_id, r).tolist()
           for r in hm.EOS_RULES}
    assert all(p == pos[gs.EOS_RULE] for p in pos.values()), pos
    assert pos[gs.EOS_RULE] == [len(r) - 1 for r in ids_list]
    checks.append("pooled text rows %s: the first <|endoftext|> of each row under every EOS "
                  "rule of tools/hf_models.py" % pos[gs.EOS_RULE])

    # Rankings: cosine of text_embeds with each picture's image_embeds.
    cos = (out["text_embeds"] @ out["image_embeds"].t())  # [texts, PNGs]
    cos_jpg = (out["text_embeds"] @ jpg_embed.t())[:, 0]
    rankings, index_rankings = [], []
    min_gap = 1.0
    for t in range(len(CLIP_TEXTS)):
        scores = cos[t].tolist()
        r = ranking(scores, png)
        gaps = [a[1] - b[1] for a, b in zip(r, r[1:])]
        min_gap = min(min_gap, min(gaps))
        rankings.append([{"name": n, "score": f32_number(s)} for n, s in r])
        js = cos_jpg[t].item()
        full = ranking(scores + [js], png + jpg)
        k = [n for n, _ in full].index(jpg[0])
        near = [full[i][1] for i in (k - 1, k + 1) if 0 <= i < len(full)]
        sep = min(abs(js - s) for s in near)
        index_rankings.append({
            "jpeg_score_pil": f32_number(js),
            "jpeg_margin": f32_number(sep),
            "jpeg_rank": k if sep > JPEG_MARGIN else None,
            "ranking": [{"name": n, "score": f32_number(s)} for n, s in full]
            if sep > JPEG_MARGIN else None})
    orders = {tuple(x["name"] for x in r) for r in rankings}
    jpeg_ranked = sum(x["jpeg_rank"] is not None for x in index_rankings)
    if min_gap <= SCORE_GAP or len(orders) < len(CLIP_TEXTS) or not jpeg_ranked:
        return None, (min_gap, len(orders), jpeg_ranked)
    # The logit scale is what makes logits from cosines.
    assert max_diff(out["logits_per_text"], cos * fresh.logit_scale.exp()) < 1e-4

    index = torch.cat([out["image_embeds"][png.index(n)][None] if n in png else jpg_embed
                       for n in names])
    obj = collections.OrderedDict()
    obj["about"] = ("tests/data/e2e/clip: generated by %s; see tests/data/e2e/README.md"
                    % COMMAND)
    obj["model"] = "model.safetensors"
    obj["texts"] = CLIP_TEXTS
    obj["ids"] = ids_list
    obj["batch"] = {"input_ids": ids, "attention_mask": mask, "pad_id": tok.pad_id}
    obj["pictures"] = png
    obj["pixel_values_shape"] = list(pixel_values.shape)
    obj["outputs"] = collections.OrderedDict((k, tensor_json(out[k])) for k in
                                             ("image_embeds", "text_embeds", "logits_per_image",
                                              "logits_per_text"))
    obj["rankings"] = [{"text": t, "ranking": r} for t, r in zip(CLIP_TEXTS, rankings)]
    obj["min_score_gap"] = f32_number(min_gap)
    obj["index"] = {"names": names, "embeddings": tensor_json(index),
                    "approximate_rows": [names.index(jpg[0])],
                    "note": "the JPEG's row and scores are from PIL's (libjpeg's) decode; "
                            "vkfuse decodes JPEG with stb, whose pixels differ slightly: "
                            "compare them loosely. Its rank is given only where its score is "
                            "more than %.2f from its neighbours'." % JPEG_MARGIN,
                    "searches": [dict({"text": t}, **x) for t, x in zip(CLIP_TEXTS,
                                                                       index_rankings)]}
    obj["checks"] = checks
    obj["converter_said"] = [c.replace(OUT, "tests/data/e2e") for c in conv]
    tensors = [(k, out[k].contiguous()) for k in obj["outputs"]]
    tensors += [("input_ids", input_ids), ("attention_mask", attention_mask),
                ("pixel_values", pixel_values.contiguous()), ("index_embeddings", index)]
    write_expected(d, obj, tensors)
    return obj, min_gap


# ---------------------------------------------------------------------------------------------
# BERT.


def make_bert(seed):
    d = os.path.join(OUT, "bert")
    hf = os.path.join(d, "hf")
    os.makedirs(hf)
    write_bert_tokenizer(hf)
    hf_cfg = bert_hf_config()
    gs.write_json(os.path.join(hf, "config.json"), hf_cfg)
    cfg = hm.bert_config(hf_cfg)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1000)
    ref = hm.BertModel(cfg, add_pooling_layer=True, persistent_position_ids=True)
    gs.redraw(ref, g)
    ref.eval()
    sd = collections.OrderedDict(("bert." + k, v.detach().clone())
                                 for k, v in ref.state_dict().items())
    assert "bert.embeddings.position_ids" in sd
    gs.save_weights(hf, sd, "bin")

    conv = []
    model_path = os.path.join(d, "model.safetensors")
    info = ve.convert_hf(hf, model_path, "F32", log=conv.append)
    mb, meta = read_safetensors(model_path)
    assert json.loads(meta["vkfuse.config"]) == info["config"]
    assert "vkfuse.image_preprocess" not in meta
    tok = ht.from_metadata(meta["vkfuse.tokenizer"])
    tmeta = json.loads(meta["vkfuse.tokenizer"])
    assert tmeta["do_lower_case"] is True and tmeta["strip_accents"] is None
    ids_list = [tok.encode(t) for t in BERT_TEXTS]
    pieces = [tok.tokenize(t) for t in BERT_TEXTS]
    assert all(len(r) <= BERT_MAX_POSITIONS for r in ids_list)
    assert "resume" in pieces[0] and "cafe" in pieces[0] and "naive" in pieces[0]
    assert "##aff" in pieces[1] and "##ly" in pieces[1]
    assert "[UNK]" in pieces[2]
    ids, mask = tok.encode_batch(BERT_TEXTS)
    assert tok.pad_id == 0
    input_ids = torch.tensor(ids, dtype=torch.int64)
    attention_mask = torch.tensor(mask, dtype=torch.int64)

    torch.manual_seed(12345)
    fresh = hm.BertModel(cfg, add_pooling_layer=True, persistent_position_ids=False).eval()
    fresh.load_state_dict({k: v.float() for k, v in mb.items()}, strict=True)
    with torch.no_grad():
        last, pooled = fresh(input_ids, attention_mask)
        olast, opooled = ref(input_ids, attention_mask)
        alone = [fresh(torch.tensor([r]))[0][0] for r in ids_list]
    assert same(last, olast) and same(pooled, opooled)
    emb = hm.sentence_embedding(last, attention_mask)
    rows = attention_mask != 0
    inp = {"input_ids": input_ids, "attention_mask": attention_mask}
    man = gs.manual_bert(mb, cfg, inp)
    nn = gs.nn_bert({k: v.float() for k, v in mb.items()}, cfg, inp)
    got = {"last_hidden_state": last, "pooler_output": pooled, "sentence_embedding": emb}
    checks = []
    dm = {k: max_diff(got[k][rows] if k == "last_hidden_state" else got[k],
                      man[k][rows] if k == "last_hidden_state" else man[k]) for k in got}
    dn = {k: max_diff(got[k][rows] if k == "last_hidden_state" else got[k],
                      nn[k][rows] if k == "last_hidden_state" else nn[k]) for k in nn}
    da = max(max_diff(a, last[b, :len(a)]) for b, a in enumerate(alone))
    for v in list(dm.values()) + list(dn.values()) + [da]:
        assert v < 2e-5, (dm, dn, da)
    checks.append("float64 forward written by hand vs expected (real rows): " + ", ".join(
        "%s %.1e" % kv for kv in dm.items()))
    checks.append("torch.nn.TransformerEncoderLayer rebuild vs expected (real rows): " + ", ".join(
        "%s %.1e" % kv for kv in dn.items()))
    checks.append("each text alone (no padding) vs its real rows in the padded batch: "
                  "last_hidden_state %.1e" % da)
    last_z = last * rows[..., None].to(last.dtype)  # padded rows zeroed
    obj = collections.OrderedDict()
    obj["about"] = ("tests/data/e2e/bert: generated by %s; see tests/data/e2e/README.md"
                    % COMMAND)
    obj["model"] = "model.safetensors"
    obj["texts"] = BERT_TEXTS
    obj["tokens"] = pieces
    obj["ids"] = ids_list
    obj["batch"] = {"input_ids": ids, "attention_mask": mask, "pad_id": tok.pad_id}
    obj["compare_mask"] = mask
    obj["outputs"] = collections.OrderedDict([
        ("last_hidden_state", tensor_json(last_z)), ("pooler_output", tensor_json(pooled)),
        ("sentence_embedding", tensor_json(emb))])
    obj["note"] = ("last_hidden_state: the rows where compare_mask is 0 (padding) are zeroed "
                   "here and are not compared; pooler_output and sentence_embedding are per "
                   "text and always compared")
    obj["checks"] = checks
    obj["converter_said"] = [c.replace(OUT, "tests/data/e2e") for c in conv]
    tensors = [("last_hidden_state", last_z.contiguous()), ("pooler_output", pooled),
               ("sentence_embedding", emb), ("compare_mask", rows.to(torch.uint8)),
               ("input_ids", input_ids), ("attention_mask", attention_mask)]
    write_expected(d, obj, tensors)
    return obj


# ---------------------------------------------------------------------------------------------
# README.


def file_table():
    rows, total = [], 0
    digest = hashlib.sha256()
    for base, dirs, files in sorted(os.walk(OUT)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(base, f)
            rel = os.path.relpath(p, OUT)
            if rel == "README.md":
                continue
            with open(p, "rb") as fh:
                raw = fh.read()
            digest.update(rel.encode() + b"\0" + raw)
            total += len(raw)
            rows.append((rel, len(raw)))
    return rows, total, digest.hexdigest()


def write_readme(clip, bert, clip_seed, bert_seed, log):
    rows, total, digest = file_table()
    L = [
        "# End-to-end cases: a Hugging Face folder -> the converter -> the vkfuse commands",
        "",
        "Generated by `tools/gen_e2e_cases.py` with Debian's PyTorch %s, torchvision %s, "
        "Pillow %s and numpy %s." % (torch.__version__, __import__("torchvision").__version__,
                                      Image.__version__, np.__version__),
        "Regenerate from the repository root with exactly:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        "It rewrites this folder byte for byte (seeded, one thread). The tests only read these",
        "files; they do not need torch.",
        "",
        "## What is here",
        "",
        "- `clip/hf/`: a small CLIPModel checkpoint folder laid out exactly as Hugging Face's",
        "  `save_pretrained` writes one: `config.json` (every key transformers 4.30 writes,",
        "  sorted, indent 2), `model.safetensors` (the `CLIPModel.state_dict()`, with both",
        "  `position_ids` buffers, metadata `format: pt`), the slow `CLIPTokenizer` files",
        "  (`vocab.json`, `merges.txt`, `tokenizer_config.json`, `special_tokens_map.json`, as",
        "  `openai/clip-vit-base-patch32` ships them, `model_max_length` %d) and" %
        CLIP_MAX_POSITIONS,
        "  `preprocessor_config.json` (`CLIPImageProcessor`: shortest edge 24, bicubic, crop",
        "  24x24, OpenAI's mean/std).",
        "  The vocabulary is byte-level BPE: the 256 byte symbols, the same with `</w>`, one",
        "  token per merge (the %d merges of `tests/data/tokenizer/hf/clip` and %d more for the" %
        (40, len(CLIP_MERGES) - 40),
        "  texts), then `<|startoftext|>` (%d) and `<|endoftext|>` (%d, the largest id, as 49407"
        % (clip["batch"]["pad_id"] - 1, clip["batch"]["pad_id"]),
        "  is in the real vocabulary); `text_config.eos_token_id` is that id, so every EOS rule",
        "  pools the same row. Model: vision 24x24, patches 6x6 (17 positions), hidden 32 = 4",
        "  heads of 8, 2 layers, quick_gelu; text hidden 32 = 4 heads of 8, 2 layers,",
        "  %d positions; projection_dim 16." % CLIP_MAX_POSITIONS,
        "- `clip/model.safetensors`: `python3 tools/vkfuse_export.py from-hf tests/data/e2e/clip/hf"
        " tests/data/e2e/clip/model.safetensors`",
        "  (it carries `vkfuse.tokenizer` and `vkfuse.image_preprocess`).",
        "- `clip/pictures/`: %s, and `%s` (for the index only: see below)." % (
            ", ".join("`%s`" % n for n in clip["pictures"]),
            [n for n in clip["index"]["names"] if n not in clip["pictures"]][0]),
        "  PIL decodes them as: " + "; ".join(log) + ".",
        "- `clip/expected.json` (and the same tensors in `clip/expected.safetensors`, F32, with",
        "  `input_ids` and `attention_mask` I64 (the batch), `pixel_values` [5,3,24,24] (the",
        "  preprocessed PNGs, what vkfuse's preprocessing must give) and `index_embeddings`):",
        "  - `texts`, and `ids`: what the port of Hugging Face's slow tokenizer",
        "    (`tools/hf_tokenizers.py`, `tokenizer(text)[\"input_ids\"]`) gives for each;",
        "    `vkfuse tokenize` must print exactly these.",
        "  - `batch`: the texts padded to the longest with the pad id (`<|endoftext|>`) and the",
        "    `attention_mask`, as `tokenizer(texts, padding=True)` gives them.",
        "  - `outputs`: `tools/hf_models.CLIPModel` (Hugging Face's CLIPModel rewritten; eager",
        "    attention, eval) on that batch and the PNGs in `pictures` order (sorted file",
        "    names), each preprocessed with PIL exactly as CLIPImageProcessor does",
        "    (`tools/gen_image_cases.py`'s `preprocess`: convert(\"RGB\"), shortest side to 24",
        "    with PIL's bicubic, centre crop with the floored offset, x/255 in float64, then",
        "    (x - mean) / std in float32): `image_embeds` [5,16], `text_embeds` [3,16],",
        "    `logits_per_image` [5,3], `logits_per_text` [3,5], each `{\"shape\", \"data\"}` as",
        "    `vkfuse run` prints them. Numbers are the shortest decimals that read back as the",
        "    float32 values.",
        "  - `rankings`: for each text the PNGs by cosine similarity (text_embeds ·",
        "    image_embeds), best first, with the scores: what `vkfuse search --text` must return",
        "    over an index of the PNGs. The least gap between consecutive scores is",
        "    `min_score_gap` = %.4f (the seed was chosen so that it is > %.2f: float rounding"
        % (clip["min_score_gap"], SCORE_GAP),
        "    cannot reorder them), and no two texts rank the PNGs alike.",
        "  - `index`: what `vkfuse index` on `clip/pictures` holds (`names` sorted, the",
        "    `embeddings` rows in that order) and, per text, the search over it. The JPEG's row",
        "    and scores come from PIL's (libjpeg's) decode; vkfuse decodes JPEG with stb, whose",
        "    pixels differ by a few levels, so compare its row loosely and its rank only where",
        "    `jpeg_rank` is not null (the JPEG's score is more than %.2f from its neighbours';"
        % JPEG_MARGIN,
        "    `ranking` is then the full expected order). The PNG rows are exact to float",
        "    rounding.",
        "  - `checks`: the other computations that agree with `outputs` (a float64 forward",
        "    written by hand in `tools/gen_standard_cases.py`, the layers rebuilt as",
        "    `torch.nn.TransformerEncoderLayer`, each text and each tower alone).",
        "- `bert/hf/`: a small BERT checkpoint folder: `config.json` (transformers 4.30's keys),",
        "  `pytorch_model.bin` (`torch.save` of the state dict with a `bert.` prefix on every",
        "  key, as BertForPreTraining / BertForMaskedLM checkpoints name them, and the",
        "  `bert.embeddings.position_ids` buffer that transformers saved before 4.31), `vocab.txt`, `tokenizer_config.json` (`BertTokenizer`, `do_lower_case` true,",
        "  `strip_accents` null: accents stripped), `special_tokens_map.json`. The vocabulary is",
        "  `tests/data/tokenizer/hf/bert`'s %d tokens and %d more. Model: hidden 32 = 4 heads of"
        % (len(BERT_VOCAB) - 10, 10),
        "  8, 2 layers, gelu, pooler, %d positions." % BERT_MAX_POSITIONS,
        "- `bert/model.safetensors`: `python3 tools/vkfuse_export.py from-hf tests/data/e2e/bert/hf"
        " tests/data/e2e/bert/model.safetensors`.",
        "- `bert/expected.json` (and `bert/expected.safetensors`, with `compare_mask` U8 and the",
        "  batch's `input_ids`, `attention_mask` I64): `texts` (accents that",
        "  lower-casing strips; `unaffable` split into `un ##aff ##able`, `friendly` into",
        "  `friend ##ly`; `xyzzy` unknown), the WordPiece `tokens` and `ids` of the port, the",
        "  padded `batch` (pad id 0) and `tools/hf_models.BertModel`'s `last_hidden_state`",
        "  [3,T,32] (rows where `compare_mask` is 0, padding, zeroed: not compared),",
        "  `pooler_output` [3,32] and `sentence_embedding` [3,32] (masked mean, L2-normalized).",
        "",
        "Weights: every parameter redrawn as `tools/gen_standard_cases.py` does (LayerNorm weight",
        "1+0.3·N(0,1), bias 0.3·N(0,1), every bias 0.3·N(0,1), weights N(0,1/fan_in),",
        "token/word/type embeddings N(0,1), position and class embeddings 0.5·N(0,1),",
        "`logit_scale` log(1/0.07)+0.3·N(0,1)); bert seed %d; clip seed %d, the first from %d"
        % (bert_seed, clip_seed, CLIP_SEED_SEARCHED_FROM),
        "on whose PNG rankings have gaps > %.2f between consecutive scores, differ from text to"
        % SCORE_GAP,
        "text, and rank the JPEG for at least one text. The expected values are a fresh module"
        " loading the",
        "**converted** `model.safetensors` (the converter changes no bit: the original module",
        "gives the same bits).",
        "",
        "## Checking with the CLI",
        "",
        "```sh",
        "vkfuse tokenize tests/data/e2e/clip/model.safetensors \"TEXT1\" \"TEXT2\" \"TEXT3\"   # == ids",
        "vkfuse run tests/data/e2e/clip/model.safetensors --text T1 --text T2 --text T3 \\",
        "    --image tests/data/e2e/clip/pictures/<each PNG, sorted> [--cpu]           # == outputs",
        "vkfuse index tests/data/e2e/clip/model.safetensors --images tests/data/e2e/clip/pictures"
        " --out idx.safetensors",
        "vkfuse search tests/data/e2e/clip/model.safetensors idx.safetensors --text T1 --top 3 --json",
        "vkfuse run tests/data/e2e/bert/model.safetensors --text T1 --text T2 --text T3 [--cpu]",
        "```",
        "",
        "`/usr/bin/python3 tools/check_e2e_cli.py [--vkfuse build/vkfuse] [--cpu-only]` runs all of",
        "these (GPU and `--cpu`) and compares: outputs to a relative error below 3e-4",
        "(max |a - b| / max |b| per tensor; bert's `last_hidden_state` on the rows `compare_mask`",
        "marks), ids exactly, index names and PNG rows, search names exactly (the JPEG left out",
        "where its rank is undefined) and scores.",
        "",
        "## Checks made when generating",
        "",
    ]
    for k, o in (("clip", clip), ("bert", bert)):
        for c in o["checks"]:
            L.append("- %s: %s" % (k, c))
        for c in o["converter_said"]:
            L.append("- %s, the converter said: %s" % (k, c))
    L += ["", "## Files", "", "| file | bytes |", "|---|---|"]
    for rel, n in rows:
        L.append("| `%s` | %d |" % (rel, n))
    L += ["", "Total: %d bytes (README.md not counted). sha256 over the files (path, NUL, "
          "bytes): `%s`." % (total, digest), ""]
    write_text(os.path.join(OUT, "README.md"), "\n".join(L))
    return total, digest


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    torch.set_num_threads(1)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    clip = None
    for clip_seed in range(CLIP_SEED_FROM, CLIP_SEED_FROM + 1000):
        log = []
        clip, gap = make_clip(clip_seed, log)
        if clip is not None:
            break
        print("clip seed %d: least score gap %.4f (needs > %.2f), %d different rankings (needs "
              "%d), %d texts rank the JPEG (needs 1): next seed"
              % (clip_seed, gap[0], SCORE_GAP, gap[1], len(CLIP_TEXTS), gap[2]))
        shutil.rmtree(os.path.join(OUT, "clip"))
    assert clip is not None
    bert = make_bert(BERT_SEED)
    total, digest = write_readme(clip, bert, clip_seed, BERT_SEED, log)
    print("clip seed %d, least score gap %.4f" % (clip_seed, clip["min_score_gap"]))
    for s in clip["index"]["searches"]:
        print("  %r: jpeg rank %s (margin %.3f)" % (s["text"], s["jpeg_rank"], s["jpeg_margin"]))
    print("total %d bytes; sha256 %s" % (total, digest))
    assert total < MAX_TOTAL, total


if __name__ == "__main__":
    sys.exit(main())
