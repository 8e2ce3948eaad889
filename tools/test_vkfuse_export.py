#!/usr/bin/python3
"""Tests of tools/vkfuse_export.py (and of the F16/BF16 paths of tools/safetensors_io.py).

    /usr/bin/python3 tools/test_vkfuse_export.py [-v]

With VKFUSE_BIN set to a built vkfuse program (e.g. build/vkfuse), an exported F16
vision_text_fusion model is also run by `vkfuse run --cpu` and compared with PyTorch.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vkfuse_export as ve  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from vkfuse_modules import VisionTextFusion, make_transformer_encoder  # noqa: E402

CFG = {"arch": "vision_text_fusion", "d_model": 16, "nhead": 2, "dim_feedforward": 32,
       "activation": "gelu", "layer_norm_eps": 1e-5, "norm_first": True, "in_channels": 3,
       "image_size": 16, "patch_size": 8, "use_cls_token": True, "vision_layers": 1,
       "vocab_size": 10, "max_text_len": 6, "text_layers": 1, "pad_token_id": 0,
       "fusion_layers": 1, "fusion_mode": "bidirectional", "joint_layers": 1,
       "pooling": "cls", "num_outputs": 1, "output_activation": "sigmoid"}
VOCAB = ["<pad>", "<unk>", "<cls>", "a", "b", "c", "d", "e", "f", "g"]


def model(seed=0):
    torch.manual_seed(seed)
    m = VisionTextFusion(CFG)
    with torch.no_grad():  # non-default values everywhere (cls/pos are zeros by default)
        for p in m.parameters():
            p.add_(0.1 * torch.randn(p.shape))
    return m.eval()


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(3, 3, 16, 16, generator=g)
    ids = torch.tensor([[2, 3, 4, 5, 0, 0], [2, 9, 8, 7, 6, 5], [2, 1, 0, 0, 0, 0]])
    return image, ids


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "m.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_f32_round_trip_is_exact(self):
        m = model()
        info = ve.export_model(self.path, m.state_dict(), CFG, VOCAB,
                               {"note": "hi", "pre": {"mean": [0.5]}})
        back = ve.load_model(self.path)
        self.assertEqual(list(back.state_dict), list(m.state_dict()))  # PyTorch's order
        for k, v in m.state_dict().items():
            self.assertTrue(torch.equal(back.state_dict[k], v), k)
        self.assertEqual(back.config, CFG)
        self.assertEqual(list(back.config), list(CFG))  # key order kept
        self.assertEqual(back.vocab, VOCAB)
        self.assertEqual(back.metadata["note"], "hi")
        self.assertEqual(json.loads(back.metadata["pre"]), {"mean": [0.5]})
        self.assertEqual(info["parameters"], sum(p.numel() for p in m.parameters()))
        self.assertEqual(info["bytes"], os.path.getsize(self.path))

    def test_f16_bf16(self):
        m = model()
        image, ids = inputs()
        for name, dt in (("F16", torch.float16), ("BF16", torch.bfloat16)):
            ve.export_model(self.path, m.state_dict(), CFG, VOCAB, dtype=name)
            back = ve.load_model(self.path)
            for k, v in m.state_dict().items():
                self.assertEqual(back.state_dict[k].dtype, dt)
                self.assertTrue(torch.equal(back.state_dict[k], v.to(dt)), k)
            m2 = VisionTextFusion(back.config).eval()
            m2.load_state_dict(back.state_dict)
            m3 = model().eval()
            with torch.no_grad():
                for p in m3.parameters():
                    p.copy_(p.to(dt).float())
                a, b = m2(image, ids)[0], m3(image, ids)[0]
            self.assertTrue(torch.equal(a, b), name)
            self.assertLess((a - m(image, ids)[0]).abs().max().item(), 0.05)
        back32 = ve.load_model(self.path, float32=True)
        self.assertTrue(all(v.dtype == torch.float32 for v in back32.state_dict.values()))

    def test_integer_buffers_kept(self):
        cfg = {"arch": "my_arch"}  # unknown to the name check: written as given
        sd = {"w": torch.ones(2, 2, dtype=torch.float64), "ids": torch.arange(3),
              "i32": torch.arange(2, dtype=torch.int32), "m": torch.tensor([True, False]),
              "u": torch.tensor([7], dtype=torch.uint8)}
        ve.export_model(self.path, sd, cfg, dtype="F16")
        raw, meta = read_safetensors(self.path)
        self.assertEqual(raw["w"].dtype, torch.float16)
        for k in ("ids", "i32", "m", "u"):
            self.assertTrue(torch.equal(raw[k], sd[k]), k)
        self.assertEqual(json.loads(meta["vkfuse.config"]), cfg)
        self.assertNotIn("vkfuse.vocab", meta)

    def assertRefused(self, text, *args, **kw):
        with self.assertRaises(ve.ExportError) as cm:
            ve.export_model(self.path, *args, **kw)
        self.assertIn(text, str(cm.exception))
        self.assertFalse(os.path.exists(self.path))

    def test_refusals(self):
        sd = model().state_dict()
        enc = {"arch": "x"}
        self.assertRefused("not contiguous", {"w": torch.ones(3, 4).t()}, enc)
        self.assertRefused("dtype torch.int16", {"w": torch.ones(3, dtype=torch.int16)}, enc)
        self.assertRefused("dtype torch.complex64", {"w": torch.ones(3, dtype=torch.cfloat)},
                           enc)
        self.assertRefused("NaN", {"w": torch.tensor([1.0, float("nan")])}, enc)
        self.assertRefused("overflows F16", {"w": torch.tensor([1e5])}, enc, dtype="F16")
        ve.export_model(self.path, {"w": torch.tensor([1e5])}, enc, dtype="BF16")  # fits
        os.remove(self.path)
        self.assertRefused("dtype 'F64'", sd, CFG, dtype="F64")
        self.assertRefused("\"arch\"", sd, {"d_model": 16})
        self.assertRefused("config must be a dict", sd, "vision_text_fusion")
        self.assertRefused("vocab_size is 10", sd, CFG, VOCAB[:5])
        self.assertRefused("repeated", sd, CFG, VOCAB[:9] + ["a"])
        self.assertRefused("may not set vkfuse.config", sd, CFG, None, {"vkfuse.config": "{}"})
        extra = dict(sd)
        extra["head.extra"] = torch.zeros(1)
        self.assertRefused("unexpected ['head.extra']", extra, CFG)
        missing = dict(sd)
        del missing["vision.cls_token"]
        self.assertRefused("missing ['vision.cls_token']", missing, CFG)
        self.assertRefused("wrong shape: head.weight [1, 32] (expected [2, 32])", sd,
                           dict(CFG, num_outputs=2))
        self.assertRefused("does not describe", sd, {"arch": "vision_text_fusion"})
        ve.export_model(self.path, extra, CFG, check=False)  # the check can be skipped

    def test_other_archs_checked(self):
        cfg = {"arch": "transformer_encoder", "d_model": 8, "nhead": 2, "dim_feedforward": 16,
               "num_layers": 2, "activation": "relu"}
        full = dict(cfg, layer_norm_eps=1e-5, norm_first=False, final_norm=False)
        ve.export_model(self.path, make_transformer_encoder(full).state_dict(), cfg)
        mha = torch.nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True)
        cfg = {"arch": "multihead_attention", "embed_dim": 8, "num_heads": 2, "kdim": 4,
               "vdim": 6}
        ve.export_model(self.path, mha.state_dict(), cfg)
        os.remove(self.path)
        self.assertRefused("unexpected", mha.state_dict(), dict(cfg, bias=False))

    def test_cli(self):
        m = model()
        pt = os.path.join(self.dir.name, "sd.pt")
        torch.save(m.state_dict(), pt)
        cfgf = os.path.join(self.dir.name, "cfg.json")
        with open(cfgf, "w") as f:
            json.dump(CFG, f)
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vkfuse_export.py")
        r = subprocess.run([sys.executable, tool, "export", pt, self.path, "--config", cfgf,
                            "--vocab", json.dumps(VOCAB), "--meta", "a=b=c", "--dtype", "F16"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        back = ve.load_model(self.path)
        self.assertEqual(back.metadata["a"], "b=c")
        self.assertEqual(back.vocab, VOCAB)
        self.assertEqual(back.state_dict["head.weight"].dtype, torch.float16)
        # A model file converted to BF16 keeps its config, vocab and metadata.
        out2 = os.path.join(self.dir.name, "m2.safetensors")
        r = subprocess.run([sys.executable, tool, "export", self.path, out2, "--dtype", "BF16"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        b2 = ve.load_model(out2)
        self.assertEqual((b2.config, b2.vocab, b2.metadata), (back.config, back.vocab,
                                                              back.metadata))
        r = subprocess.run([sys.executable, tool, "info", out2], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("head.weight", r.stdout)
        self.assertIn("BF16", r.stdout)
        r = subprocess.run([sys.executable, tool, "export", pt, out2, "--config",
                            json.dumps(dict(CFG, d_model=8))], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("vkfuse_export: error: state_dict does not match", r.stderr)

    @unittest.skipUnless(os.environ.get("VKFUSE_BIN"), "VKFUSE_BIN not set")
    def test_vkfuse_runs_the_f16_export(self):
        m = model()
        ve.export_model(self.path, m.state_dict(), CFG, VOCAB, dtype="F16")
        back = ve.load_model(self.path)
        m2 = VisionTextFusion(back.config).eval()
        m2.load_state_dict(back.state_dict)
        image, ids = inputs()
        inp = os.path.join(self.dir.name, "in.safetensors")
        out = os.path.join(self.dir.name, "out.safetensors")
        write_safetensors(inp, [("image", image), ("input_ids", ids)])
        r = subprocess.run([os.environ["VKFUSE_BIN"], "run", self.path, "--input", inp,
                            "--output", out, "--cpu"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        got, _ = read_safetensors(out)
        with torch.no_grad():
            logits, probs = m2(image, ids)
        self.assertLess((got["logits"] - logits).abs().max().item(), 1e-4)
        self.assertLess((got["probs"] - probs).abs().max().item(), 1e-4)


if __name__ == "__main__":
    unittest.main()
