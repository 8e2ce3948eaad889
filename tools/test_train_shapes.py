#!/usr/bin/python3
"""Plumbing test of tools/train_shapes.py on a tiny fake dataset in the format of
samples/shapes/README.md (random images and answers: nothing is learnt; this checks reading,
batching, training with and without the auxiliary heads, export, the reload, and the
fixture), and of the auxiliary targets on hand-placed objects.

    /usr/bin/python3 tools/test_train_shapes.py [--keep DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from vkfuse_export import load_model  # noqa: E402
from vkfuse_modules import VisionTextFusion  # noqa: E402

VOCAB = ["<pad>", "<unk>", "<cls>", "is", "there", "a", "the", "of", "left", "are", "two",
         "shape", "red", "green", "blue", "yellow", "circle", "square", "triangle", "circles",
         "squares", "triangles"]
TEMPLATES = ["exists_color_shape", "exists_color", "exists_shape", "left_of", "count_two"]
COLORS = ["red", "green", "blue", "yellow"]
SHAPES = ["circle", "square", "triangle"]


def fake_dataset(path, seed, scenes, per_scene=4):
    g = torch.Generator().manual_seed(seed)

    def pick(xs):
        return xs[int(torch.randint(len(xs), (1,), generator=g))]

    images = torch.randint(0, 256, (scenes, 64, 64, 3), generator=g, dtype=torch.uint8)
    ids, scene, labels, template = [], [], [], []
    for s in range(scenes):
        for k in range(per_scene):
            t = int(torch.randint(5, (1,), generator=g))
            c, sh, c2, s2 = pick(COLORS), pick(SHAPES), pick(COLORS), pick(SHAPES)
            text = ["is there a %s %s" % (c, sh), "is there a %s shape" % c,
                    "is there a %s" % sh, "is the %s %s left of the %s %s" % (c, sh, c2, s2),
                    "are there two %ss" % sh][t]
            tok = [2] + [VOCAB.index(w) for w in text.split()]
            ids.append(tok + [0] * (12 - len(tok)))
            scene.append(s)
            labels.append(int(torch.randint(2, (1,), generator=g)))
            template.append(t)
    # Objects: 1 to 4 random rows (the plumbing only; they need not match the images).
    objects = torch.full((scenes, 4, 5), -1, dtype=torch.int64)
    for s in range(scenes):
        for k in range(int(torch.randint(1, 5, (1,), generator=g))):
            objects[s, k] = torch.tensor([k, int(torch.randint(3, (1,), generator=g)),
                                          int(torch.randint(80, 432, (1,), generator=g)),
                                          int(torch.randint(80, 432, (1,), generator=g)),
                                          int(torch.randint(48, 97, (1,), generator=g))])
    # Scene order shuffled, to check the grouping does not rely on it.
    perm = torch.randperm(len(ids), generator=g)
    write_safetensors(path, [
        ("images", images), ("input_ids", torch.tensor(ids)[perm]),
        ("scene", torch.tensor(scene)[perm]), ("labels", torch.tensor(labels, dtype=torch.uint8)[perm]),
        ("template", torch.tensor(template)[perm]), ("objects", objects)],
        {"vkfuse.vocab": json.dumps(VOCAB), "shapes.templates": json.dumps(TEMPLATES),
         "shapes.seed": str(seed), "shapes.scenes": str(scenes),
         "shapes.questions_per_scene": str(per_scene)})


def run(args):
    r = subprocess.run([sys.executable, os.path.join(HERE, "train_shapes.py")] + args,
                       capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("train_shapes.py failed")
    return r.stdout


def check_scene_targets():
    """The auxiliary targets of one hand-placed scene, worked out on paper from pixel
    centres (x + 0.5, y + 0.5) and the generator's shapes; patch p = 8 * row + column."""
    from shapes_aux import scene_targets
    px = 8  # 1/8 px units
    objects = torch.full((1, 4, 5), -1, dtype=torch.int64)
    objects[0, 0] = torch.tensor([0, 1, 16 * px, 16 * px, 8 * px])  # red square, x and y 8..24
    objects[0, 1] = torch.tensor([1, 0, 44 * px, 44 * px, 6 * px])  # green circle r 6
    objects[0, 2] = torch.tensor([2, 0, 52 * px, 12 * px, 6 * px])  # blue circle r 6
    objects[0, 3] = torch.tensor([3, 2, 20 * px, 44 * px, 8 * px])  # yellow triangle, apex y 36
    patches, scene = scene_targets(objects)
    assert patches.shape == (1, 64, 12) and scene.shape == (1, 15)
    want = {
        1: {9, 10, 17, 18},  # the square fills four patches exactly
        # the circle's own patch and its four neighbours (>= 4 pixel centres each), no corner
        3: {45, 37, 53, 44, 46},
        6: {14, 6, 22, 13, 15},
        # apex patch (8 centres), the row below in full width, the side patches of row 5
        # only from y >= 45.5 (4 centres each), three patches of the base row
        11: {34, 41, 42, 43, 49, 50, 51},
    }
    for pair in range(12):
        got = set(torch.nonzero(patches[0, :, pair])[:, 0].tolist())
        assert got == want.get(pair, set()), (pair, sorted(got))
    assert scene[0].tolist() == [0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1] + [1, 0, 0], scene[0]
    print("scene_targets: hand-placed scene OK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="work in this directory and keep it")
    a = ap.parse_args()
    tmp = None if a.keep else tempfile.TemporaryDirectory()
    d = a.keep or tmp.name
    os.makedirs(d, exist_ok=True)
    train, val = os.path.join(d, "train.safetensors"), os.path.join(d, "val.safetensors")
    fake_dataset(train, 1, 40)
    fake_dataset(val, 2, 15)
    out, fix = os.path.join(d, "model.safetensors"), os.path.join(d, "fixture.safetensors")
    common = ["--train", train, "--val", val, "--out", out, "--d-model", "32", "--ff", "64",
              "--steps", "6", "--batch-scenes", "8", "--warmup", "2", "--log-every", "2"]
    check_scene_targets()
    log_aux = run(common + ["--aux-weight", "0.5"])
    assert "aux targets" in log_aux and " aux " in log_aux
    log1 = run(common + ["--fixture", fix, "--fixture-count", "12"])
    assert "F16 file" in log1 and "fixture" in log1

    m = load_model(out)
    assert all(v.dtype == torch.float16 for v in m.state_dict.values())
    assert m.vocab == VOCAB and m.config["vocab_size"] == len(VOCAB)
    assert json.loads(m.metadata["vkfuse.image_preprocess"]) == {"mean": [0.5] * 3,
                                                                 "std": [0.5] * 3}
    assert "train_shapes.py" in m.metadata["vkfuse.trained_with"]
    assert "seed 0" in m.metadata["vkfuse.trained_with"]
    acc = json.loads(m.metadata["vkfuse.validation_accuracy"])
    assert set(acc["per_template"]) == set(TEMPLATES)

    f, fm = read_safetensors(fix)
    B, nv = 12, 65
    shapes = {"image": [B, 3, 64, 64], "input_ids": [B, 12], "labels": [B],
              "logits": [B, 1], "probs": [B, 1], "cross_attn_weights": [B, 12, nv],
              "compare_mask": [B, 12], "template": [B]}
    for k, s in shapes.items():
        assert list(f[k].shape) == s, (k, f[k].shape)
    assert f["image"].dtype == torch.float32 and f["input_ids"].dtype == torch.int64
    assert f["labels"].dtype == torch.uint8 and f["image"].abs().max() <= 1.0
    assert set(f["template"].tolist()) == set(range(5)) and set(f["labels"].tolist()) == {0, 1}
    # The fixture's outputs are the reloaded F16 model's.
    model = VisionTextFusion(m.config)
    model.load_state_dict(m.state_dict)
    model.eval()
    with torch.no_grad():
        logits, probs = model(f["image"], f["input_ids"])
    assert (logits - f["logits"]).abs().max() < 1e-5
    assert torch.allclose(f["cross_attn_weights"].sum(-1), torch.ones(B, 12), atol=1e-5)

    # Reproducible: the same command gives the same file.
    with open(out, "rb") as fh:
        first = fh.read()
    log2 = run(common + ["--fixture", fix, "--fixture-count", "12"])
    with open(out, "rb") as fh:
        second = fh.read()
    strip = [line for line in log1.splitlines() if "elapsed" not in line and "time" not in line]
    strip2 = [line for line in log2.splitlines() if "elapsed" not in line and "time" not in line]
    same_losses = [line.split(" lr")[0] for line in strip if line.startswith("epoch")] == \
        [line.split(" lr")[0] for line in strip2 if line.startswith("epoch")]
    m2 = load_model(out)
    assert same_losses, "the loss curve differs between two runs"
    assert all(torch.equal(m.state_dict[k], m2.state_dict[k]) for k in m.state_dict)
    print("eval-only:")
    run(["--val", val, "--out", out, "--eval-only"])
    assert first == second, "the same command wrote a different model file"
    print("OK (%d bytes model, %d bytes fixture; the model file is byte-reproducible)"
          % (len(first), os.path.getsize(fix)))


if __name__ == "__main__":
    main()
