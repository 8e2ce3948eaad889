#!/usr/bin/python3
"""Tests of the shapes CLIP's tools: captions (tools/shapes_captions.py), the tokenizer the
trainer writes (every caption word one token, through the HF-exact port), the answers of the
ImageMagick renderer's questions on hand-placed shapes (tools/draw_shapes_magick.py; no
ImageMagick needed), and a few training steps of tools/train_shapes_clip.py on a tiny fake
dataset, started from a flagship checkpoint's vision tower, converted by the project's
converter and run by `vkfuse run` against PyTorch (VKFUSE_BIN: the vkfuse command line).

    VKFUSE_BIN=build/vkfuse /usr/bin/python3 tools/test_train_shapes_clip.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import draw_shapes_magick as dm  # noqa: E402
import hf_models as hm  # noqa: E402
import hf_tokenizers as ht  # noqa: E402
import shapes_captions as sc  # noqa: E402
import train_shapes_clip as tc  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402
from test_train_shapes import fake_dataset  # noqa: E402
from vkfuse_export import load_model  # noqa: E402


def row(color, shape, x):
    return [sc.COLORS.index(color), sc.SHAPES.index(shape), x, 256, 64]


class Captions(unittest.TestCase):
    def test_full_caption_orders_as_documented(self):
        self.assertEqual(sc.full_caption([row("blue", "square", 400), [-1] * 5]), "a blue square")
        self.assertEqual(sc.full_caption([row("blue", "square", 400), row("red", "circle", 100)]),
                         "a red circle left of a blue square")
        # Centres under 4 px apart in x: neither is left of the other.
        self.assertEqual(sc.full_caption([row("blue", "square", 400), row("red", "circle", 380)]),
                         "a red circle and a blue square")
        # Three or more: colour order, then shape order, wherever they stand.
        self.assertEqual(sc.full_caption([row("yellow", "circle", 10), row("red", "triangle", 300),
                                          row("red", "circle", 200)]),
                         "a red circle, a red triangle and a yellow circle")

    def test_partial_captions(self):
        objs = [row("green", "circle", 10), row("blue", "circle", 300), row("blue", "square", 200)]
        self.assertEqual(sc.partial_captions(objs),
                         ["a green circle", "a blue circle", "a blue square", "a green shape",
                          "a blue shape", "two circles"])


class Tokenizer(unittest.TestCase):
    def test_every_word_is_one_token_and_eos_is_last(self):
        with tempfile.TemporaryDirectory() as d:
            n = tc.write_tokenizer(d)
            tok = ht.from_metadata(ht.tokenizer_metadata(d, "clip"))
            for w in sc.WORDS:
                self.assertEqual(len(tok.tokenize(w)), 1, w)
            ids = tok.encode("a red circle, a blue square and two triangles")
            self.assertEqual(len(ids), 2 + 10)
            self.assertEqual((ids[0], ids[-1]), (n - 2, n - 1))
            self.assertEqual(max(ids), n - 1)


class MagickAnswers(unittest.TestCase):
    def objs(self):
        # Picture 128 wide: x64 = x / 2. The red circle is plainly the largest.
        return [{"color": "red", "shape": "circle", "x": 20.0, "y": 50.0, "size": 20.0},
                {"color": "blue", "shape": "square", "x": 60.0, "y": 50.0, "size": 8.0},
                {"color": "blue", "shape": "triangle", "x": 100.0, "y": 50.0, "size": 8.0,
                 "w": 8.0, "h": 8.0}]

    def test_templates(self):
        o, W = self.objs(), 128
        yes = lambda t: set(dm.candidates(o, W, t, True))
        no = lambda t: set(dm.candidates(o, W, t, False))
        self.assertIn("is there a blue square", yes("exists_color_shape"))
        self.assertIn("is there a red square", no("exists_color_shape"))
        self.assertEqual(yes("exists_color"), {"is there a red shape", "is there a blue shape"})
        self.assertEqual(no("exists_shape"), set())
        self.assertIn("is the red circle left of the blue square", yes("left_of"))
        self.assertIn("is the blue triangle left of the red circle", no("left_of"))
        self.assertEqual(yes("count_two"), set())
        self.assertEqual(yes("largest_color"), {"is the largest shape red"})
        self.assertEqual(yes("right_of_any"), {"is there a shape right of the red circle",
                                               "is there a shape right of the blue square"})
        self.assertEqual(no("right_of_any"), {"is there a shape right of the blue triangle"})

    def test_unclear_cases_are_not_asked(self):
        o, W = self.objs(), 128
        o[1]["x"] = 24.0  # 2 px (64x64) right of the red circle: neither left nor right
        self.assertNotIn("is the red circle left of the blue square",
                         dm.candidates(o, W, "left_of", True))
        self.assertNotIn("is there a shape right of the red circle",
                         dm.candidates(o, W, "right_of_any", True))
        o[1]["size"] = 19.0  # about as large as the circle: no "largest" question
        self.assertEqual(dm.candidates(o, W, "largest_color", True), [])


class Training(unittest.TestCase):
    def test_a_few_steps_export_and_run(self):
        with tempfile.TemporaryDirectory() as d:
            train, val = os.path.join(d, "train.safetensors"), os.path.join(d, "val.safetensors")
            fake_dataset(train, 1, 48)
            fake_dataset(val, 2, 16)
            # A flagship checkpoint to start the vision tower from.
            sys.path.insert(0, HERE)
            from vkfuse_modules import VisionTextFusion
            from train_shapes import make_config, init_weights
            args = type("A", (), dict(d_model=32, nhead=2, ff=64, patch_size=8, vision_layers=2,
                                      text_layers=1, fusion_layers=1, fusion_mode="bidirectional",
                                      joint_layers=1))()
            qa = VisionTextFusion(make_config(args, 22))
            init_weights(qa)
            ckpt = os.path.join(d, "qa.pt")
            torch.save(qa.state_dict(), ckpt)
            hf, out, fix = os.path.join(d, "hf"), os.path.join(d, "clip.safetensors"), os.path.join(d, "fix.safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "train_shapes_clip.py"), "--train", train,
                            "--val", val, "--hf-dir", hf, "--out", out, "--steps", "3", "--batch", "8",
                            "--dim", "32", "--heads", "2", "--text-layers", "1", "--eval-every", "3",
                            "--log-every", "1", "--init-vision", ckpt, "--fixture", fix],
                           check=True, capture_output=True)
            m = load_model(out)
            self.assertEqual(m.config["arch"], "clip")
            self.assertEqual(m.config["vision_config"]["hidden_act"], "gelu")
            self.assertEqual(m.config["vision_config"]["intermediate_size"], 64)
            meta = m.metadata
            self.assertIn("train_shapes_clip.py", meta["vkfuse.trained_with"])
            self.assertIn("t2i@5", json.loads(meta["vkfuse.validation_retrieval"])
                          if isinstance(meta["vkfuse.validation_retrieval"], str)
                          else meta["vkfuse.validation_retrieval"])
            # The exported text tower against PyTorch, through vkfuse's own tokenizer.
            with open(os.path.join(hf, "config.json")) as f:
                cfg = json.load(f)
            ref = hm.CLIPModel(hm.clip_config(cfg), persistent_position_ids=False)
            ref.load_state_dict(m.state_dict)
            ref.eval()
            texts = tc.Texts(hf)
            ids, mask = texts(["a red circle left of a blue square"])
            with torch.no_grad():
                want = torch.nn.functional.normalize(ref.get_text_features(ids, mask), dim=-1)[0]
            vk = os.environ.get("VKFUSE_BIN")
            self.assertTrue(vk, "VKFUSE_BIN must name the vkfuse command line")
            r = subprocess.run([vk, "run", out, "--text", "a red circle left of a blue square"],
                               capture_output=True, text=True, env=dict(os.environ, XDG_RUNTIME_DIR="/tmp"))
            self.assertEqual(r.returncode, 0, r.stderr)
            got = torch.tensor(json.loads(r.stdout)["text_embeds"]["data"])
            self.assertLess((got - want).abs().max().item(), 1e-4)
            self.assertTrue(os.path.exists(fix))


if __name__ == "__main__":
    unittest.main(verbosity=1)
