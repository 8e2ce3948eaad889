#!/usr/bin/python3
"""Generate tests/data/image/: small pictures and what PIL (Pillow 9.4, Debian) and Hugging
Face's CLIPImageProcessor steps make of them, for tests/test_image.cpp.

    /usr/bin/python3 tools/gen_image_cases.py

Writes the pictures (PNG: RGB, RGBA, grey, palette; one JPEG for decoding only) and
`expected.safetensors` holding
  resize_<name>_<filter>_<W>x<H>   U8 [H, W, 3]  PIL's Image.resize((W, H), filter) of the RGB picture
  pre_<name>_<case>                F32 [3, H, W] the preprocessing of case <case> (see CASES),
with the preprocessing JSON of each case in the metadata (key "case.<case>"). The
preprocessing follows transformers' CLIPImageProcessor.preprocess (convert_rgb, resize of
the shortest side with get_resize_output_image_size(default_to_square=False), center_crop
with zero padding, rescale in float64 then float32, normalize in float32), written out here
from its sources (image_processing_clip.py, image_transforms.py) because transformers is not
installable. Seeded: re-running rewrites the same bytes.
"""

import json
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "tests", "data", "image")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CASES = {
    # CLIP's own: shortest side 16, crop 16x16, bicubic
    "clip": {"shortest_edge": 16, "crop": [16, 16], "resample": "bicubic", "rescale_factor": 1 / 255,
             "mean": CLIP_MEAN, "std": CLIP_STD},
    # upscaling, a non-square crop
    "up": {"shortest_edge": 50, "crop": [40, 30], "resample": "bicubic", "rescale_factor": 1 / 255,
           "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
    # a crop larger than the resized picture: zero padding
    "pad": {"shortest_edge": 12, "crop": [20, 24], "resample": "bilinear", "rescale_factor": 1 / 255,
            "mean": CLIP_MEAN, "std": CLIP_STD},
    # the shapes form: no resize, no crop
    "plain": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
}


def pictures():
    g = np.random.default_rng(7)
    # A smooth gradient plus noise and hard edges: every filter tap matters.
    h, w = 23, 37
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 / (w - 1), yy * 255 / (h - 1), (xx + yy) % 7 * 36], -1)
    rgb = np.clip(rgb + g.normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)
    rgb[5:9, 10:30] = [255, 0, 0]
    out = {"rgb": Image.fromarray(rgb, "RGB")}
    rgba = np.concatenate([rgb[:19, :29], g.integers(0, 256, (19, 29, 1), dtype=np.uint8)], -1)
    out["rgba"] = Image.fromarray(rgba, "RGBA")
    out["grey"] = Image.fromarray(g.integers(0, 256, (31, 17), dtype=np.uint8), "L")
    out["palette"] = out["rgb"].convert("P", palette=Image.ADAPTIVE, colors=16)
    return out


def resize_size(w, h, short_req):
    # transformers' get_resize_output_image_size(size=short_req, default_to_square=False)
    short, long = (w, h) if w <= h else (h, w)
    if short == short_req:
        return w, h
    new_short, new_long = short_req, int(short_req * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def center_crop(a, ch, cw):
    # transformers.image_transforms.center_crop on an [H, W, C] array
    oh, ow = a.shape[:2]
    top, left = (oh - ch) // 2, (ow - cw) // 2
    bottom, right = top + ch, left + cw
    if top >= 0 and bottom <= oh and left >= 0 and right <= ow:
        return a[top:bottom, left:right]
    nh, nw = max(ch, oh), max(cw, ow)
    n = np.zeros((nh, nw) + a.shape[2:], a.dtype)
    tp, lp = math.ceil((nh - oh) / 2), math.ceil((nw - ow) / 2)
    n[tp:tp + oh, lp:lp + ow] = a
    top, bottom, left, right = top + tp, bottom + tp, left + lp, right + lp
    return n[max(0, top):min(nh, bottom), max(0, left):min(nw, right)]


def preprocess(img, c):
    img = img.convert("RGB")
    if "shortest_edge" in c:
        w, h = resize_size(img.width, img.height, c["shortest_edge"])
        img = img.resize((w, h), FILTERS[c.get("resample", "bicubic")])
    a = np.array(img)
    if "crop" in c:
        a = center_crop(a, *c["crop"])
    a = (a.astype(np.float64) * c.get("rescale_factor", 1 / 255)).astype(np.float32)
    mean = np.array(c["mean"], dtype=np.float32)
    std = np.array(c["std"], dtype=np.float32)
    a = (a - mean) / std
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def main():
    os.makedirs(OUT, exist_ok=True)
    pics = pictures()
    tensors = []
    for name, im in pics.items():
        im.save(os.path.join(OUT, name + ".png"), optimize=False)
    pics["rgb"].save(os.path.join(OUT, "rgb.jpg"), quality=95)
    rgb = pics["rgb"]
    for filt, f in FILTERS.items():
        for (w, h) in [(16, 10), (50, 31), (37, 9), (5, 40), (37, 23)]:
            a = np.array(rgb.resize((w, h), f))
            tensors.append(("resize_rgb_%s_%dx%d" % (filt, w, h), torch.from_numpy(a)))
    meta = {}
    for name in ("rgb", "rgba", "grey", "palette"):
        for case, c in CASES.items():
            tensors.append(("pre_%s_%s" % (name, case), preprocess(pics[name], c)))
    for case, c in CASES.items():
        meta["case." + case] = json.dumps(c)
    # The RGB8 pixels PIL decodes from each PNG (what read_image must give).
    for name, im in pics.items():
        tensors.append(("pixels_" + name, torch.from_numpy(np.array(im.convert("RGB")))))
    # PIL's (libjpeg's) decode of the JPEG: stb's differs by a few levels.
    jpg = Image.open(os.path.join(OUT, "rgb.jpg")).convert("RGB")
    tensors.append(("pixels_rgb_jpg", torch.from_numpy(np.array(jpg))))
    write_safetensors(os.path.join(OUT, "expected.safetensors"), tensors, metadata=meta)
    print("wrote", len(tensors), "tensors to", os.path.relpath(OUT, ROOT))


if __name__ == "__main__":
    main()
