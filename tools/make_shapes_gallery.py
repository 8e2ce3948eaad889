#!/usr/bin/python3
"""A search gallery for samples/shapes_search eval: pictures from the project's generator (a
dataset file of build/shapes_dataset, written out as PNG) and as many drawn by ImageMagick
(tools/draw_shapes_magick.py), with captions.tsv (file, full caption, source).

    build/shapes_dataset --look varied --seed 31 --scenes 500 --out /tmp/gallery_gen.safetensors
    python3 tools/make_shapes_gallery.py --dataset /tmp/gallery_gen.safetensors \\
        --magick 500 --magick-seed 32 --out /tmp/gallery
    build/shapes_search eval /tmp/gallery
"""

import argparse
import os
import subprocess
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_captions as sc  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="a shapes_dataset file (its images and objects)")
    p.add_argument("--magick", type=int, default=0, help="pictures to draw with ImageMagick")
    p.add_argument("--magick-seed", type=int, default=32)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    t, meta = read_safetensors(a.dataset)
    images, objects = t["images"].numpy(), t["objects"].numpy()
    os.makedirs(a.out, exist_ok=True)
    look = (meta or {}).get("shapes.look", "classic")
    rows = []
    for i in range(images.shape[0]):
        name = "gen_%04d.png" % i
        Image.fromarray(images[i]).save(os.path.join(a.out, name))
        rows.append("%s\t%s\tgenerator_%s\n" % (name, sc.full_caption(objects[i]), look))
    with open(os.path.join(a.out, "captions.tsv"), "w") as f:
        f.write("".join(rows))
    print("make_shapes_gallery: %d generator pictures (%s look) in %s" % (len(rows), look, a.out))
    if a.magick:
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "draw_shapes_magick.py")
        subprocess.run([sys.executable, tool, "--seed", str(a.magick_seed), "--count", str(a.magick),
                        "--out", a.out, "--append-captions"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
