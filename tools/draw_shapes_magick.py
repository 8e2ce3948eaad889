#!/usr/bin/python3
"""Shapes pictures drawn by another program: ImageMagick's `convert -draw`, with this file's own
layout, palette and drawing rules (none of samples/shapes/scene.cpp's code), and the questions
and captions they answer. The held-out set that the flagship and the shapes CLIP are measured
on (tests/data/shapes_other) and half of the search gallery come from here.

    python3 tools/draw_shapes_magick.py --seed 7 --count 200 --out tests/data/shapes_other

writes the pictures (PNG, some JPEG), captions.tsv (file, full caption, "imagemagick"; what
samples/shapes_search's eval reads) and index.json:
    {"renderer": "ImageMagick 6.9...", "seed": 7, "pictures": [
       {"file": "other_0000.png", "width": 143, "height": 128,
        "objects": [{"color": "red", "shape": "circle", "x": 40.5, "y": 60, "size": 18.2}, ...],
        "caption": "a red circle left of a blue square",
        "questions": [{"text": "is there a red circle", "template": "exists_color_shape",
                       "answer": true}, ...]}, ...]}
x, y: the shape's centre, size: half its extent, in the picture's pixels.

Rules: pictures 80 to 240 pixels wide, height 0.8 to 1.25 times that (64 to 300); one to four shapes, each
(colour, shape) at most once, half of the scenes of two or more holding exactly two of one
shape; a shape's half extent 8% to 22% of the shorter side; circles, squares (a third with
rounded corners), upright triangles of varied width and height; filled, outlined, or filled
with a dark, grey or white outline; backgrounds white, greys, dark, cream and other pale tints,
or ImageMagick gradients between two; antialiasing off in a fifth; some blurred, some with
noise (saved as JPEG), some saved as JPEG. The answers come from this geometry, the picture squeezed to 64x64
as the flagship sees it: "left of" needs centres 4 (64x64) pixels apart in x, "the largest
shape" an area 1.4 times every other's.
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_captions as sc  # noqa: E402

COLORS = sc.COLORS
SHAPES = sc.SHAPES
PALETTE = {"red": [(225, 35, 35), (200, 30, 55), (235, 60, 40)],
           "green": [(50, 160, 70), (30, 190, 90), (70, 150, 40)],
           "blue": [(40, 90, 210), (70, 110, 240), (30, 60, 190)],
           "yellow": [(235, 200, 30), (250, 220, 70), (230, 190, 50)]}
TEMPLATES = ["exists_color_shape", "exists_color", "exists_shape", "left_of", "count_two",
             "largest_color", "right_of_any"]
LEFT_DX = 4.0  # in 64x64 pixels
LARGEST_RATIO = 1.4


def find_magick():
    """An ImageMagick `convert` (or IM7 `magick`): a program named convert that is not
    ImageMagick is skipped."""
    for cand in ("magick", "/usr/bin/convert", "convert-im6.q16", "convert"):
        path = shutil.which(cand)
        if not path:
            continue
        try:
            v = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "ImageMagick" in v:
            return path, v.splitlines()[0].replace("Version: ", "").split(" http")[0]
    raise SystemExit("ImageMagick not found (apt-get install imagemagick)")


def area(o):
    s = o["size"]
    if o["shape"] == "circle":
        return math.pi * s * s
    if o["shape"] == "square":
        c = o.get("corner", 0.0)
        return 4 * s * s - (4 - math.pi) * c * c
    return 2 * o["w"] * o["h"]


def layout(rng, W, H):
    n = rng.choice([1] + [2, 3, 4] * 3)
    pairs = [(c, s) for c in COLORS for s in SHAPES]
    if n >= 2 and rng.random() < 0.5:
        shape = rng.choice(SHAPES)
        cols = rng.sample(COLORS, 2)
        chosen = [(cols[0], shape), (cols[1], shape)]
        rest = [p for p in pairs if p[1] != shape]
        chosen += rng.sample(rest, n - 2)
    else:
        chosen = rng.sample(pairs, n)
    side = min(W, H)
    for _ in range(2000):
        objs = []
        for color, shape in chosen:
            for _ in range(200):
                s = side * rng.uniform(0.08, 0.22)
                x, y = rng.uniform(s + 2, W - s - 2), rng.uniform(s + 2, H - s - 2)
                if all(math.hypot(x - o["x"], y - o["y"]) > (s + o["size"]) * 1.42 + 0.04 * side
                       for o in objs):
                    break
            else:
                break
            o = {"color": color, "shape": shape, "x": round(x, 2), "y": round(y, 2), "size": round(s, 2)}
            if shape == "triangle":
                k = rng.random()
                o["w"] = round(s * (rng.uniform(0.45, 1.0) if k < 0.6 else 1.0), 2)
                o["h"] = round(s * (rng.uniform(0.55, 1.0) if k >= 0.6 else 1.0), 2)
            if shape == "square" and rng.random() < 0.33:
                o["corner"] = round(s * rng.uniform(0.1, 0.4), 2)
            objs.append(o)
        if len(objs) == len(chosen):
            return objs
    raise RuntimeError("no layout")


def rgb(c):
    return "rgb(%d,%d,%d)" % tuple(int(v) for v in c)


def jitter(rng, c, k):
    return tuple(min(255, max(0, v + rng.randint(-k, k))) for v in c)


def background(rng):
    kind = rng.random()
    tone = lambda: rng.choice([(255, 255, 255), (245, 245, 240), (250, 240, 220), (235, 240, 250),
                               (200, 200, 200), (128, 128, 128), (60, 60, 60), (20, 20, 25),
                               (240, 230, 240), (225, 235, 225)])
    a = jitter(rng, tone(), 8)
    if kind < 0.7:
        return "xc:" + rgb(a)
    return "gradient:%s-%s" % (rgb(a), rgb(jitter(rng, tone(), 8)))


def draw_args(rng, objs, W, H):
    args = ["-size", "%dx%d" % (W, H), background(rng)]
    if rng.random() < 0.2:
        args.append("+antialias")
    style = rng.random()
    stroke_w = max(1.0, min(W, H) * rng.uniform(0.012, 0.03))
    edge = rng.choice([(0, 0, 0), (40, 40, 40), (120, 120, 120), (255, 255, 255)])
    for o in objs:
        fill = jitter(rng, rng.choice(PALETTE[o["color"]]), 12)
        if style < 0.5:
            args += ["-fill", rgb(fill), "-stroke", "none"]
        elif style < 0.75:
            args += ["-fill", "none", "-stroke", rgb(fill), "-strokewidth", "%.1f" % stroke_w]
        else:
            args += ["-fill", rgb(fill), "-stroke", rgb(edge), "-strokewidth", "%.1f" % stroke_w]
        x, y, s = o["x"], o["y"], o["size"]
        if o["shape"] == "circle":
            prim = "circle %.2f,%.2f %.2f,%.2f" % (x, y, x + s, y)
        elif o["shape"] == "square":
            c = o.get("corner", 0)
            prim = ("roundrectangle %.2f,%.2f %.2f,%.2f %.2f,%.2f" % (x - s, y - s, x + s, y + s, c, c)
                    if c else "rectangle %.2f,%.2f %.2f,%.2f" % (x - s, y - s, x + s, y + s))
        else:
            w, h = o["w"], o["h"]
            prim = "polygon %.2f,%.2f %.2f,%.2f %.2f,%.2f" % (x, y - h, x + w, y + h, x - w, y + h)
        args += ["-draw", prim]
    if rng.random() < 0.25:
        args += ["-blur", "0x%.2f" % rng.uniform(0.5, 1.2)]
    noisy = rng.random() < 0.2
    if noisy:  # ImageMagick's noise is seeded from ours, so the set is reproducible
        args += ["-seed", str(rng.randint(1, 2 ** 31 - 1)), "-attenuate", "%.2f" % rng.uniform(0.1, 0.3), "+noise", "Gaussian"]
    return args, noisy


def candidates(objs, W, t, yes):
    """Questions of template t whose answer is `yes`, from the geometry (x in 64x64 pixels)."""
    has = sorted((o["color"], o["shape"]) for o in objs)  # a list: a set's order varies per run
    x64 = {(o["color"], o["shape"]): o["x"] * 64.0 / W for o in objs}
    out = []
    if t == "exists_color_shape":
        out = ["is there a %s %s" % p for p in ((c, s) for c in COLORS for s in SHAPES)
               if (p in has) == yes]
    elif t == "exists_color":
        out = ["is there a %s shape" % c for c in COLORS
               if any(o["color"] == c for o in objs) == yes]
    elif t == "exists_shape":
        out = ["is there a %s" % s for s in SHAPES if any(o["shape"] == s for o in objs) == yes]
    elif t == "left_of":
        for a in has:
            for b in has:
                dx = x64[b] - x64[a]
                if a != b and abs(dx) >= LEFT_DX and (dx > 0) == yes:
                    out.append("is the %s %s left of the %s %s" % (a + b))
    elif t == "count_two":
        for s, pl in zip(SHAPES, sc.PLURALS):
            if (sum(1 for o in objs if o["shape"] == s) == 2) == yes:
                out.append("are there two " + pl)
    elif t == "largest_color":
        big = max(objs, key=area)
        if all(o is big or area(o) * LARGEST_RATIO <= area(big) for o in objs):
            out = ["is the largest shape " + c for c in COLORS if (big["color"] == c) == yes]
    elif t == "right_of_any":
        for a in has:
            others = [x64[b] - x64[a] for b in has if b != a]
            if all(abs(d) >= LEFT_DX for d in others) and any(d > 0 for d in others) == yes:
                out.append("is there a shape right of the %s %s" % a)
    return out


def questions(rng, objs, W, state, count):
    """count distinct questions: (template, answer) cells dealt from shuffled decks of all
    fourteen; a cell this picture cannot serve waits (at most 50 wait) and is served first by a
    later picture that can, so templates and answers stay balanced over the set."""
    deck, waiting = state
    picked = []
    asked = set()

    def open_(cell):
        return [q for q in candidates(objs, W, *cell) if q not in asked]

    while len(picked) < count:
        cell = next((c for c in waiting if open_(c)), None)
        if cell is not None:
            waiting.remove(cell)
        else:
            if not any(open_((t, a)) for t in TEMPLATES for a in (True, False)):
                break
            while True:
                if not deck:
                    deck.extend((t, a) for t in TEMPLATES for a in (True, False))
                    rng.shuffle(deck)
                c = deck.pop()
                if open_(c):
                    cell = c
                    break
                waiting.append(c)
                del waiting[:-50]
        text = rng.choice(open_(cell))
        asked.add(text)
        picked.append({"text": text, "template": cell[0], "answer": cell[1]})
    return picked


def caption(objs, W):
    rows = [(COLORS.index(o["color"]), SHAPES.index(o["shape"]), round(o["x"] * 64.0 / W * 8))
            for o in objs]
    return sc.full_caption(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--questions", type=int, default=4)
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", default="other_")
    p.add_argument("--append-captions", action="store_true",
                   help="add to the folder's captions.tsv instead of writing it anew")
    a = p.parse_args()
    magick, version = find_magick()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    state, pictures = ([], []), []
    for i in range(a.count):
        W = rng.randint(80, 240)
        H = max(64, min(300, int(W * rng.uniform(0.8, 1.25))))
        objs = layout(rng, W, H)
        args, noisy = draw_args(rng, objs, W, H)
        jpeg = noisy or rng.random() < 0.25  # noise is what a camera or a JPEG gives (and PNG keeps it large)
        name = "%s%04d.%s" % (a.prefix, i, "jpg" if jpeg else "png")
        # No dates in the files (ImageMagick writes them into PNG and JPEG): the set is reproducible.
        out = ["-strip", "-define", "png:exclude-chunks=date,time"]
        out += ["-quality", str(rng.randint(50, 90))] if jpeg else ["-depth", "8"]
        subprocess.run([magick] + args + out + [os.path.join(a.out, name)], check=True)
        pictures.append({"file": name, "width": W, "height": H, "objects": objs,
                         "caption": caption(objs, W),
                         "questions": questions(rng, objs, W, state, a.questions)})
        if (i + 1) % 100 == 0 or i + 1 == a.count:
            print("draw_shapes_magick: %d/%d pictures" % (i + 1, a.count), file=sys.stderr, flush=True)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"renderer": version, "seed": a.seed, "pictures": pictures}, f, indent=0)
    with open(os.path.join(a.out, "captions.tsv"), "a" if a.append_captions else "w") as f:
        f.write("".join("%s\t%s\timagemagick\n" % (p["file"], p["caption"]) for p in pictures))
    n_q = sum(len(p["questions"]) for p in pictures)
    print("draw_shapes_magick: %d pictures, %d questions in %s (%s)" % (len(pictures), n_q, a.out, version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
