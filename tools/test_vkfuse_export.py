#!/usr/bin/python3
"""Tests of tools/vkfuse_export.py (and of the F16/BF16 paths of tools/safetensors_io.py).

    /usr/bin/python3 tools/test_vkfuse_export.py [-v]

With VKFUSE_BIN set to a built vkfuse program (e.g. build/vkfuse), an exported F16
vision_text_fusion model is also run by `vkfuse run --cpu` and compared with PyTorch, and so is
every case of tests/data/{vit,clip,bert} (tools/gen_standard_cases.py).

StandardConvertTest covers `from-hf` (CLIP and BERT folders as Hugging Face saves them: harmless
config keys, position_ids buffers, model.safetensors / pytorch_model.bin / shards, the `bert.`
and `model.` prefixes, BertForPreTraining heads, unsupported config values, unmappable tensors,
preprocessor_config.json) and `from-torchvision` (state dicts, old MLPBlock names, pickled
modules, recipes checked against torchvision's own tables).
"""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hm  # noqa: E402
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


# ------------------------------------------------------------------------------------------
# The standard architectures: from-hf and from-torchvision.

HARMLESS = {"_name_or_path": "someone/tiny", "torch_dtype": "float32",
            "transformers_version": "4.30.2", "initializer_range": 0.02,
            "output_hidden_states": False, "return_dict": True, "id2label": {"0": "LABEL_0"},
            "chunk_size_feed_forward": 0, "is_decoder": False, "add_cross_attention": False,
            "pruned_heads": {}, "tie_word_embeddings": True}
CLIP_HF = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 6,
           "logit_scale_init_value": 2.6592, "initializer_factor": 1.0,
           "text_config": dict(HARMLESS, model_type="clip_text_model", vocab_size=13,
                               hidden_size=8, intermediate_size=12, num_hidden_layers=1,
                               num_attention_heads=2, max_position_embeddings=7,
                               eos_token_id=12, bos_token_id=11, pad_token_id=1,
                               dropout=0.0, attention_dropout=0.0),
           "vision_config": dict(HARMLESS, model_type="clip_vision_model", hidden_size=12,
                                 intermediate_size=10, num_hidden_layers=1,
                                 num_attention_heads=3, image_size=8, patch_size=4,
                                 hidden_act="gelu")}
BERT_HF = dict(HARMLESS, architectures=["BertModel"], model_type="bert", vocab_size=15,
               hidden_size=12, num_hidden_layers=2, num_attention_heads=3, intermediate_size=10,
               max_position_embeddings=9, type_vocab_size=2, hidden_act="gelu",
               hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
               position_embedding_type="absolute", use_cache=True, pad_token_id=0)
PP = {"crop_size": {"height": 8, "width": 8}, "do_center_crop": True, "do_convert_rgb": True,
      "do_normalize": True, "do_rescale": True, "do_resize": True,
      "image_mean": [0.48145466, 0.4578275, 0.40821073],
      "image_processor_type": "CLIPImageProcessor",
      "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
      "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 8}}


def randomize(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return m.eval()


def write_hf(d, config, sd, kind="safetensors", pp=None):
    os.makedirs(d, exist_ok=True)
    if config is not None:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
    if kind == "safetensors":
        write_safetensors(os.path.join(d, "model.safetensors"), list(sd.items()),
                          {"format": "pt"})
    else:
        torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    if pp is not None:
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(pp, f)


def vit_model(seed=0, **kw):
    import torchvision
    cfg = dict(image_size=8, patch_size=4, num_layers=2, num_heads=3, hidden_dim=12, mlp_dim=10,
               num_classes=5)
    cfg.update(kw)
    torch.manual_seed(seed)
    return randomize(torchvision.models.VisionTransformer(**cfg), seed), cfg


class StandardConvertTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.hf = os.path.join(self.dir.name, "hf")
        self.out = os.path.join(self.dir.name, "m.safetensors")
        self.notes = []

    def tearDown(self):
        self.dir.cleanup()

    def log(self, msg):
        self.notes.append(msg)

    def convert(self, **kw):
        return ve.convert_hf(self.hf, self.out, log=self.log, **kw)

    def refused(self, text, fn=None, **kw):
        with self.assertRaises(ve.ExportError) as cm:
            (fn or self.convert)(**kw)
        self.assertIn(text, str(cm.exception))
        self.assertFalse(os.path.exists(self.out))
        return str(cm.exception)

    def clip(self, seed=0, cfg=CLIP_HF):
        torch.manual_seed(seed)
        return randomize(hm.CLIPModel(hm.clip_config(cfg)), seed)  # persistent position_ids

    def bert(self, seed=0, cfg=BERT_HF, pooler=True):
        torch.manual_seed(seed)
        return randomize(hm.BertModel(hm.bert_config(cfg), add_pooling_layer=pooler), seed)

    def test_clip_both_weight_kinds(self):
        m = self.clip()
        sd = m.state_dict()
        self.assertIn("text_model.embeddings.position_ids", sd)
        self.assertIn("vision_model.embeddings.position_ids", sd)
        ids = torch.tensor([[11, 3, 12, 0, 0], [11, 5, 6, 7, 12]])
        am = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
        px = torch.randn(2, 3, 8, 8)
        with torch.no_grad():
            want = m(input_ids=ids, pixel_values=px, attention_mask=am)
        for kind in ("safetensors", "bin"):
            shutil.rmtree(self.hf, ignore_errors=True)
            write_hf(self.hf, CLIP_HF, sd, kind, PP)
            info = self.convert()
            back = ve.load_model(self.out)
            self.assertEqual(back.config, dict({"arch": "clip"}, **CLIP_HF))
            self.assertEqual(list(back.config)[0], "arch")
            self.assertEqual([k for k in back.state_dict],
                             [k for k in sd if not k.endswith("position_ids")])
            for k, v in back.state_dict.items():
                self.assertTrue(torch.equal(v, sd[k]), k)
            self.assertEqual(json.loads(back.metadata["vkfuse.image_preprocess"]),
                             {"shortest_edge": 8, "crop": [8, 8], "resample": "bicubic",
                              "rescale_factor": 1 / 255, "mean": PP["image_mean"],
                              "std": PP["image_std"]})
            self.assertNotIn("vkfuse.tokenizer", back.metadata)
            self.assertEqual(info["tensors"], len(back.state_dict))
            m2 = hm.CLIPModel(hm.clip_config(back.config), persistent_position_ids=False).eval()
            m2.load_state_dict(back.state_dict)
            with torch.no_grad():
                got = m2(input_ids=ids, pixel_values=px, attention_mask=am)
            for k in want:
                self.assertTrue(torch.equal(got[k], want[k]), k)
        self.assertTrue(any("dropped buffers" in n and "position_ids" in n for n in self.notes))

    def test_clip_legacy_config_dict_folded(self):
        cfg = json.loads(json.dumps(CLIP_HF))
        cfg["text_config"]["hidden_act"] = "relu"  # stale: text_config_dict wins
        cfg["text_config_dict"] = {"hidden_act": "gelu", "eos_token_id": 2}
        cfg["vision_config_dict"] = None
        m = self.clip(cfg=cfg)
        write_hf(self.hf, cfg, m.state_dict(), "bin")
        self.convert()
        back = ve.load_model(self.out)
        self.assertNotIn("text_config_dict", back.config)
        self.assertNotIn("vision_config_dict", back.config)
        self.assertEqual(back.config["text_config"]["hidden_act"], "gelu")
        self.assertEqual(back.config["text_config"]["eos_token_id"], 2)
        self.assertEqual(back.config["text_config"]["vocab_size"], 13)

    def test_clip_eos_rules(self):
        ids = torch.tensor([[5, 2, 9, 7, 2], [5, 9, 9, 2, 1]])
        self.assertEqual(hm.clip_pooled_positions(ids, 2).tolist(), [2, 1])  # argmax, first max
        self.assertEqual(hm.clip_pooled_positions(ids, 2, "max_49407").tolist(), [1, 3])
        self.assertEqual(hm.clip_pooled_positions(ids, 7).tolist(), [3, 0])  # no 7: position 0
        # Real CLIP rows (every row's largest id is 49407): the rules agree for eos 49407 and
        # for the legacy eos 2; they differ for another eos id.
        big = torch.tensor([[49406, 10, 49407, 49407], [49406, 49407, 3, 3]])
        for rule in hm.EOS_RULES:
            self.assertEqual(hm.clip_pooled_positions(big, 49407, rule).tolist(), [2, 1])
            self.assertEqual(hm.clip_pooled_positions(big, 2, rule).tolist(), [2, 1])
        self.assertEqual(hm.clip_pooled_positions(big, 10, "eos_token_id_2").tolist(), [1, 0])
        self.assertEqual(hm.clip_pooled_positions(big, 10, "max_49407").tolist(), [2, 1])
        self.assertEqual(hm.clip_pooled_positions(ids, 2, "either").tolist(), [2, 1])

    def test_bert_prefix_heads_and_buffers(self):
        m = self.bert()
        sd = collections.OrderedDict(("bert." + k, v) for k, v in m.state_dict().items())
        sd["bert.embeddings.token_type_ids"] = torch.zeros(1, 9, dtype=torch.long)
        sd["cls.predictions.bias"] = torch.zeros(15)
        sd["cls.predictions.decoder.weight"] = torch.zeros(15, 12)
        sd["cls.seq_relationship.weight"] = torch.zeros(2, 12)
        write_hf(self.hf, dict(BERT_HF, architectures=["BertForPreTraining"]), sd)
        self.convert(dtype="BF16")
        back = ve.load_model(self.out)
        self.assertEqual(list(back.state_dict), [k for k in m.state_dict()
                                                 if not k.endswith("position_ids")])
        for k, v in back.state_dict.items():
            self.assertTrue(torch.equal(v, m.state_dict()[k].to(torch.bfloat16)), k)
        self.assertEqual(back.config["arch"], "bert")
        self.assertTrue(any("cls.predictions.bias" in n for n in self.notes))
        self.assertTrue(any("embeddings.token_type_ids" in n for n in self.notes))

    def test_bert_without_pooler(self):
        m = self.bert(pooler=False)
        write_hf(self.hf, BERT_HF, m.state_dict(), "bin")
        self.convert()
        back = ve.load_model(self.out)
        self.assertFalse(any(k.startswith("pooler.") for k in back.state_dict))
        self.assertTrue(any("no pooler_output" in n for n in self.notes))
        sd = dict(self.bert().state_dict())
        del sd["pooler.dense.bias"]  # half a pooler is an error
        shutil.rmtree(self.hf)
        write_hf(self.hf, BERT_HF, sd)
        os.remove(self.out)
        self.refused("'pooler.dense.bias' is missing")

    def test_unsupported_config_values(self):
        sd = self.bert().state_dict()
        for key, value, text in (
                ("hidden_act", "silu", "hidden_act \"silu\" is not implemented"),
                ("hidden_act", "gelu_pytorch_tanh", "hidden_act \"gelu_pytorch_tanh\""),
                ("position_embedding_type", "relative_key",
                 "position_embedding_type \"relative_key\" is not implemented"),
                ("is_decoder", True, "is_decoder true"),
                ("add_cross_attention", True, "add_cross_attention true"),
                ("pruned_heads", {"0": [1]}, "pruned_heads"),
                ("num_attention_heads", 5, "hidden_size 12 is not a multiple of "
                 "num_attention_heads 5")):
            shutil.rmtree(self.hf, ignore_errors=True)
            write_hf(self.hf, dict(BERT_HF, **{key: value}), sd)
            self.refused(text)
        csd = self.clip().state_dict()
        for sub, key, value, text in (
                ("text_config", "hidden_act", "relu", "text_config.hidden_act \"relu\""),
                ("vision_config", "hidden_act", "gelu_new", "vision_config.hidden_act"),
                ("vision_config", "num_channels", 1, "vision_config.num_channels 1"),
                ("vision_config", "patch_size", 3, "image_size 8 is not a multiple of "
                 "vision_config.patch_size 3")):
            cfg = json.loads(json.dumps(CLIP_HF))
            cfg[sub][key] = value
            shutil.rmtree(self.hf, ignore_errors=True)
            write_hf(self.hf, cfg, csd)
            self.refused(text)
        # A key vkfuse does not know is reported, not silently ignored.
        shutil.rmtree(self.hf)
        write_hf(self.hf, dict(BERT_HF, my_new_flag=3), sd)
        self.convert()
        self.assertTrue(any("my_new_flag" in n for n in self.notes))

    def test_unmappable_missing_misshapen_tensors(self):
        sd = collections.OrderedDict(self.bert().state_dict())
        for extra in ("classifier.weight", "encoder.layer.0.attention.self.extra",
                      "bert.pooler.other"):
            s2 = collections.OrderedDict(sd)
            s2[extra] = torch.zeros(2)
            shutil.rmtree(self.hf, ignore_errors=True)
            write_hf(self.hf, BERT_HF, s2)
            self.refused("cannot map tensor %r" % extra)
        s2 = collections.OrderedDict(sd)
        del s2["encoder.layer.1.output.dense.weight"]
        shutil.rmtree(self.hf)
        write_hf(self.hf, BERT_HF, s2)
        self.refused("'encoder.layer.1.output.dense.weight' is missing")
        s2 = collections.OrderedDict(sd)
        s2["embeddings.word_embeddings.weight"] = torch.zeros(16, 12)
        shutil.rmtree(self.hf)
        write_hf(self.hf, BERT_HF, s2, "bin")
        self.refused("'embeddings.word_embeddings.weight' has shape [16, 12], but the config "
                     "implies [15, 12]")
        s2 = collections.OrderedDict(("bert." + k, v) for k, v in sd.items())
        s2["embeddings.LayerNorm.bias"] = sd["embeddings.LayerNorm.bias"]
        shutil.rmtree(self.hf)
        write_hf(self.hf, BERT_HF, s2)
        self.refused("both map to 'embeddings.LayerNorm.bias'")
        csd = collections.OrderedDict(("model." + k, v) for k, v in self.clip().state_dict().items())
        csd["model.text_model.embeddings.extra"] = torch.zeros(1)
        shutil.rmtree(self.hf)
        write_hf(self.hf, CLIP_HF, csd)
        self.refused("cannot map tensor 'model.text_model.embeddings.extra'")
        del csd["model.text_model.embeddings.extra"]
        shutil.rmtree(self.hf)
        write_hf(self.hf, CLIP_HF, csd)
        self.convert()  # model. stripped

    def test_folder_errors(self):
        self.refused("not a folder")
        sd = self.bert().state_dict()
        write_hf(self.hf, None, sd)
        self.refused("no config.json")
        write_hf(self.hf, dict(BERT_HF, model_type="roberta"), sd)
        self.refused("model_type \"roberta\"")
        write_hf(self.hf, dict(CLIP_HF, model_type="clip_text_model"), sd)
        self.refused("model_type \"clip_text_model\"")
        os.remove(os.path.join(self.hf, "model.safetensors"))
        write_hf(self.hf, BERT_HF, {}, "bin")
        os.remove(os.path.join(self.hf, "pytorch_model.bin"))
        self.refused("no weights: expected one of model.safetensors")
        with open(os.path.join(self.hf, "model.safetensors"), "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
        self.refused("not a valid safetensors file")
        os.remove(os.path.join(self.hf, "model.safetensors"))
        torch.save({"a": [1, 2]}, os.path.join(self.hf, "pytorch_model.bin"))
        self.refused("pytorch_model.bin")

    def test_sharded_checkpoint(self):
        sd = collections.OrderedDict(self.bert().state_dict())
        names = list(sd)
        os.makedirs(self.hf)
        with open(os.path.join(self.hf, "config.json"), "w") as f:
            json.dump(BERT_HF, f)
        half = len(names) // 2
        shards = {"model-00001-of-00002.safetensors": names[:half],
                  "model-00002-of-00002.safetensors": names[half:]}
        for fn, ns in shards.items():
            write_safetensors(os.path.join(self.hf, fn), [(n, sd[n]) for n in ns])
        with open(os.path.join(self.hf, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": {n: fn for fn, ns in shards.items()
                                                      for n in ns}}, f)
        self.convert()
        self.assertEqual(len(ve.load_model(self.out).state_dict), len(names) - 1)

    def test_image_preprocess_from_hf(self):
        f = ve.image_preprocess_from_hf
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
        self.assertEqual(f({})[0], {"shortest_edge": 224, "crop": [224, 224],
                                    "resample": "bicubic", "rescale_factor": 1 / 255,
                                    "mean": mean, "std": std})
        old = {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
               "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.5] * 3,
               "image_std": [0.25] * 3, "resample": 3, "size": 256}
        self.assertEqual(f(old, 224)[0], {"shortest_edge": 256, "crop": [224, 224],
                                          "resample": "bicubic", "rescale_factor": 1 / 255,
                                          "mean": [0.5] * 3, "std": [0.25] * 3})
        self.assertEqual(f(dict(old, resample=2))[0]["resample"], "bilinear")
        self.assertEqual(f(dict(old, do_resize=False))[0],
                         {"crop": [224, 224], "rescale_factor": 1 / 255, "mean": [0.5] * 3,
                          "std": [0.25] * 3})
        self.assertEqual(f(dict(old, do_center_crop=False, crop_size=None))[0],
                         {"shortest_edge": 256, "resample": "bicubic", "rescale_factor": 1 / 255,
                          "mean": [0.5] * 3, "std": [0.25] * 3})
        self.assertEqual(f(dict(old, crop_size={"height": 200, "width": 180}))[0]["crop"],
                         [200, 180])
        self.assertEqual(f(dict(old, do_rescale=False))[0]["rescale_factor"], 1.0)
        self.assertEqual(f(dict(old, rescale_factor=0.5))[0]["rescale_factor"], 0.5)
        n = f(dict(old, do_normalize=False, image_mean=None))[0]
        self.assertEqual((n["mean"], n["std"]), ([0.0] * 3, [1.0] * 3))
        self.assertEqual(f(dict(old, image_mean=0.5, image_std=0.5))[0]["std"], [0.5] * 3)
        self.assertTrue(f(dict(old, do_convert_rgb=False))[1])  # a note
        for pp, text in ((dict(old, resample=0), "resample 0 (PIL nearest)"),
                         (dict(old, resample=1), "resample 1 (PIL lanczos)"),
                         (dict(old, feature_extractor_type="ViTFeatureExtractor"),
                          "image_processor_type \"ViTFeatureExtractor\""),
                         ({"image_processor_type": "SiglipImageProcessor"},
                          "image_processor_type \"SiglipImageProcessor\""),
                         (dict(old, size={"height": 224, "width": 224}), "size {"),
                         (dict(old, size={"shortest_edge": 224, "longest_edge": 300}), "size {"),
                         (dict(old, crop_pct=0.9), "key 'crop_pct'"),
                         (dict(old, image_mean=[0.5, 0.5]), "image_mean [0.5, 0.5]"),
                         (dict(old, image_std=[0.5, 0.0, 0.5]), "std [0.5, 0.0, 0.5]"),
                         (dict(old, rescale_factor=0), "rescale_factor 0"),
                         (dict(old, data_format="channels_last"), "data_format"),
                         (dict(old, crop_size=200), "crop_size 200: the vision tower's "
                          "image_size is 224")):
            with self.assertRaises(ve.ExportError) as cm:
                f(pp, 224)
            self.assertIn(text, str(cm.exception))
        # ... and in a folder: a bad preprocessor_config.json stops the conversion.
        write_hf(self.hf, CLIP_HF, self.clip().state_dict(), pp=dict(PP, resample=0))
        self.refused("resample 0")

    def test_check_image_preprocess(self):
        ok = ve.check_image_preprocess
        ok({"mean": [0.5] * 3, "std": [0.5] * 3})  # the shapes models' form
        ok({"shortest_edge": 256, "crop": [224, 224], "resample": "bilinear",
            "rescale_factor": 1 / 255, "mean": [0.4] * 3, "std": [0.2] * 3})
        for p, text in (({"std": [1] * 3}, "mean must be"),
                        ({"mean": [0] * 3, "std": [1] * 3, "size": 3}, "unknown key 'size'"),
                        ({"mean": [0] * 3, "std": [1] * 3, "shortest_edge": 8}, "resample"),
                        ({"mean": [0] * 3, "std": [1] * 3, "shortest_edge": 8,
                          "resample": "lanczos"}, "resample \"lanczos\""),
                        ({"mean": [0] * 3, "std": [1] * 3, "resample": "bicubic"},
                         "without shortest_edge"),
                        ({"mean": [0] * 3, "std": [1] * 3, "crop": [8]}, "crop [8]")):
            with self.assertRaises(ve.ExportError) as cm:
                ok(p)
            self.assertIn(text, str(cm.exception))
        # export_model checks the key too.
        with self.assertRaises(ve.ExportError):
            ve.export_model(self.out, {"w": torch.ones(1)}, {"arch": "x"},
                            metadata={"vkfuse.image_preprocess": {"mean": [0.5]}})

    def test_export_checks_standard_archs(self):
        sd = dict(self.clip().state_dict())
        cfg = dict({"arch": "clip"}, **CLIP_HF)
        self.refused("unexpected", ve.export_model, path=self.out, state_dict=sd, config=cfg)
        sd = {k: v for k, v in sd.items() if not k.endswith("position_ids")}
        ve.export_model(self.out, sd, cfg)
        os.remove(self.out)
        bad = json.loads(json.dumps(cfg))
        bad["text_config"]["hidden_act"] = "relu"
        self.refused("text_config.hidden_act", ve.export_model, path=self.out, state_dict=sd,
                     config=bad)

    @unittest.skipUnless(os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "hf_tokenizers.py")), "no hf_tokenizers")
    def test_tokenizer_metadata(self):
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "dog", "the", "##s",
                 "photo", "of", ".", "!", "x"]
        write_hf(self.hf, BERT_HF, self.bert().state_dict())
        with open(os.path.join(self.hf, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
        self.convert()
        tok = json.loads(ve.load_model(self.out).metadata["vkfuse.tokenizer"])
        self.assertEqual(tok["type"], "wordpiece")
        self.assertEqual(tok["vocab"], vocab)
        os.remove(self.out)
        with open(os.path.join(self.hf, "vocab.txt"), "a") as f:
            f.write("extra\n")  # 16 tokens, vocab_size 15
        self.refused("16 tokens, but the model's vocab_size is 15")

    # ---- torchvision

    def tv(self, src, **kw):
        return ve.convert_torchvision(src, self.out, log=self.log, **kw)

    def test_torchvision_state_dict(self):
        m, cfg = vit_model()
        pth = os.path.join(self.dir.name, "vit.pth")
        torch.save(m.state_dict(), pth)
        self.refused("--arch NAME", self.tv, src=pth)  # no head count in a state dict
        info = self.tv(pth, num_heads=3, dtype="F16")
        back = ve.load_model(self.out)
        self.assertEqual(back.config, dict({"arch": "vit"}, **cfg, representation_size=None,
                                           layer_norm_eps=1e-6))
        self.assertEqual(list(back.config), ve.VIT_KEYS)
        self.assertEqual(list(back.state_dict), list(m.state_dict()))
        self.assertNotIn("vkfuse.image_preprocess", back.metadata)
        self.assertEqual(info["parameters"], sum(p.numel() for p in m.parameters()))
        os.remove(self.out)
        # Old MLPBlock names (torchvision < 0.13) are mapped.
        old = collections.OrderedDict(
            (k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2."), v)
            for k, v in m.state_dict().items())
        self.assertIn("encoder.layers.encoder_layer_1.mlp.linear_2.bias", old)
        torch.save(old, pth)
        self.tv(pth, num_heads=3)
        back = ve.load_model(self.out)
        for k, v in m.state_dict().items():
            self.assertTrue(torch.equal(back.state_dict[k], v), k)
        self.assertTrue(any("mlp.linear_1/2" in n for n in self.notes))
        import torchvision
        m2 = torchvision.models.VisionTransformer(**{k: back.config[k] for k in cfg}).eval()
        m2.load_state_dict(back.state_dict)
        x = torch.randn(2, 3, 8, 8)
        with torch.no_grad():
            self.assertTrue(torch.equal(m2(x), m(x)))
        os.remove(self.out)
        # Refusals: a tensor it cannot map, a missing one, a wrong builder, no weights file.
        s2 = dict(m.state_dict(), **{"heads.extra.weight": torch.zeros(1)})
        torch.save(s2, pth)
        self.refused("cannot map tensor 'heads.extra.weight'", self.tv, src=pth, num_heads=3)
        s2 = dict(m.state_dict())
        del s2["encoder.layers.encoder_layer_0.ln_2.bias"]
        torch.save(s2, pth)
        self.refused("'encoder.layers.encoder_layer_0.ln_2.bias' is missing", self.tv, src=pth,
                     num_heads=3)
        torch.save(m.state_dict(), pth)
        self.refused("patch_size is 4 in these weights, but 16 in torchvision's vit_b_16",
                     self.tv, src=pth, arch="vit_b_16")
        self.refused("pass --weights FILE.pth", self.tv, src="vit_b_16")
        self.refused("patch_size is 4", self.tv, src="vit_l_16", weights=pth)
        self.refused("not a multiple of num_heads", self.tv, src=pth, num_heads=5)

    def test_torchvision_pickled_module_and_pre_logits(self):
        m, cfg = vit_model(1, representation_size=7, num_classes=4)
        pt = os.path.join(self.dir.name, "vit.pt")
        torch.save(m, pt)
        self.refused("--unsafe-pickle", self.tv, src=pt)
        self.refused("--num-heads 4, but the module has 3", self.tv, src=pt, unsafe_pickle=True,
                     num_heads=4)
        pre = {"shortest_edge": 9, "crop": [8, 8], "resample": "bilinear",
               "rescale_factor": 1 / 255, "mean": ve.IMAGENET_MEAN, "std": ve.IMAGENET_STD}
        self.tv(pt, unsafe_pickle=True, preprocess=pre)
        back = ve.load_model(self.out)
        self.assertEqual(back.config["representation_size"], 7)
        self.assertEqual(back.config["num_heads"], 3)
        self.assertEqual(json.loads(back.metadata["vkfuse.image_preprocess"]), pre)
        self.assertIn("heads.pre_logits.weight", back.state_dict)
        os.remove(self.out)
        self.refused("crop [7, 7], but the model's image_size is 8", self.tv, src=pt,
                     unsafe_pickle=True, preprocess=dict(pre, crop=[7, 7]))

    def test_torchvision_recipes(self):
        pre, crop = ve.torchvision_recipe("vit_b_16", "IMAGENET1K_V1")
        self.assertEqual(pre, {"shortest_edge": 256, "crop": [224, 224], "crop_offset": "round",
                               "resample": "bilinear",
                               "rescale_factor": 1 / 255, "mean": [0.485, 0.456, 0.406],
                               "std": [0.229, 0.224, 0.225]})
        self.assertEqual(ve.torchvision_recipe("vit_h_14", "IMAGENET1K_SWAG_E2E_V1")[0]
                         ["shortest_edge"], 518)
        with self.assertRaises(ve.ExportError):
            ve.torchvision_recipe("vit_b_32", "IMAGENET1K_SWAG_E2E_V1")
        try:
            import torchvision.models.vision_transformer as tvv
        except ImportError:
            return
        # The table is torchvision's (builder parameters and every weights' transforms).
        for name, params in ve.TORCHVISION_VITS.items():
            enum = getattr(tvv, "ViT_%s_Weights" % name[4:].upper())
            rows = ve.TORCHVISION_RECIPES[name]
            self.assertEqual([w.name for w in enum], [r[0] for r in rows])
            self.assertEqual(enum.DEFAULT.name, rows[0][0])
            for w, (wname, fname, crop, resize, interp) in zip(enum, rows):
                t = w.transforms()
                self.assertEqual(w.url.split("/")[-1], fname)
                self.assertEqual((t.crop_size, t.resize_size), ([crop], [resize]))
                self.assertEqual(t.interpolation.value, interp)
                self.assertEqual((t.mean, t.std), (ve.IMAGENET_MEAN, ve.IMAGENET_STD))
                self.assertEqual(w.meta["min_size"], (crop, crop))
        with open(tvv.__file__) as f:
            src = f.read()
        for name, p in ve.TORCHVISION_VITS.items():
            block = src[src.index("def %s(" % name):]
            block = block[:block.index("**kwargs,\n    )")]
            for k, v in p.items():
                self.assertIn("%s=%d," % (k, v), block, (name, k))

    def test_torchvision_crop_offset_round(self):
        """torchvision's CenterCrop places the crop at int(round((size - crop) / 2)) (half to
        even), Hugging Face's at the floor: they differ when size - crop is 3 modulo 4. Every
        from-torchvision recipe says "crop_offset": "round", and the vkfuse.image_preprocess
        steps it describes give torchvision's own ImageClassification pixels."""
        from unittest import mock
        import numpy as np
        from PIL import Image
        try:
            import torchvision.transforms as T
            from torchvision.transforms._presets import ImageClassification
        except ImportError:
            self.skipTest("no torchvision")
        for arch, rows in ve.TORCHVISION_RECIPES.items():
            for r in rows:
                self.assertEqual(ve.torchvision_recipe(arch, r[0])[0]["crop_offset"], "round")

        def vkfuse_pixels(img, p):  # the steps of docs/standard-models.md, in numpy
            img = img.convert("RGB")
            w, h = img.size
            s, l = (w, h) if w <= h else (h, w)
            if s != p["shortest_edge"]:
                nl = int(p["shortest_edge"] * l / s)
                size = (p["shortest_edge"], nl) if w <= h else (nl, p["shortest_edge"])
                img = img.resize(size, {"bilinear": Image.BILINEAR,
                                        "bicubic": Image.BICUBIC}[p["resample"]])
            a = np.array(img)
            (ch, cw), (H, W) = p["crop"], a.shape[:2]
            off = ((lambda d: int(round(d / 2))) if p.get("crop_offset") == "round"
                   else (lambda d: d // 2))
            a = a[off(H - ch):off(H - ch) + ch, off(W - cw):off(W - cw) + cw]
            a = (a.astype(np.float64) * p["rescale_factor"]).astype(np.float32)
            a = (a - np.float32(p["mean"])) / np.float32(p["std"])
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))

        g = np.random.default_rng(3)
        pre, crop = ve.torchvision_recipe("vit_b_16", "IMAGENET1K_V1")  # 256 -> 224, bilinear
        tv = ImageClassification(crop_size=crop, resize_size=pre["shortest_edge"],
                                 interpolation=T.InterpolationMode.BILINEAR)
        # 259x256: no resize, width - crop = 35 (3 mod 4): round 18, floor 17; 203x200: resized
        # to 259x256 first; 300x240: resized to 320x256, 96 = 0 mod 4, where both agree.
        for w, h, differs in ((259, 256, True), (256, 259, True), (203, 200, True),
                              (300, 240, False)):
            img = Image.fromarray(g.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
            want = tv(img)
            got = vkfuse_pixels(img, pre)
            self.assertEqual(got.shape, want.shape)
            self.assertLess((got - want).abs().max().item(), 1e-5, (w, h))
            floor = vkfuse_pixels(img, dict(pre, crop_offset="floor"))
            self.assertEqual((floor - want).abs().max().item() > 0.1, differs, (w, h))
        # convert_torchvision writes the recipe's crop_offset (a small builder stands in for
        # vit_b_16 so that the test needs no 330 MB state dict).
        m, cfg = vit_model()
        pth = os.path.join(self.dir.name, "vit.pth")
        torch.save(m.state_dict(), pth)
        small = {k: cfg[k] for k in ("patch_size", "num_layers", "num_heads", "hidden_dim",
                                     "mlp_dim")}
        with mock.patch.dict(ve.TORCHVISION_VITS, {"vit_tiny_test": small}), \
                mock.patch.dict(ve.TORCHVISION_RECIPES, {"vit_tiny_test": [
                    ("IMAGENET1K_V1", "vit_tiny_test-0.pth", 8, 11, "bilinear")]}):
            self.tv(pth, arch="vit_tiny_test")
        got = json.loads(ve.load_model(self.out).metadata["vkfuse.image_preprocess"])
        self.assertEqual(got, {"shortest_edge": 11, "crop": [8, 8], "crop_offset": "round",
                               "resample": "bilinear", "rescale_factor": 1 / 255,
                               "mean": ve.IMAGENET_MEAN, "std": ve.IMAGENET_STD})
        os.remove(self.out)
        # An explicit --preprocess is written as given (its crop_offset, or none: floor).
        for p in ({"shortest_edge": 9, "crop": [8, 8], "resample": "bicubic",
                   "mean": [0.5] * 3, "std": [0.5] * 3},
                  {"shortest_edge": 9, "crop": [8, 8], "crop_offset": "floor",
                   "resample": "bicubic", "mean": [0.5] * 3, "std": [0.5] * 3}):
            self.tv(pth, num_heads=3, preprocess=p)
            self.assertEqual(json.loads(ve.load_model(self.out).metadata[
                "vkfuse.image_preprocess"]), p)
            os.remove(self.out)
        # check_image_preprocess: "floor" or "round", and only with a crop.
        ok = ve.check_image_preprocess
        base = {"mean": [0] * 3, "std": [1] * 3, "crop": [4, 4]}
        ok(dict(base, crop_offset="round"))
        ok(dict(base, crop_offset="floor"))
        for p, text in ((dict(base, crop_offset="ceil"), "crop_offset \"ceil\""),
                        (dict(base, crop_offset=1), "crop_offset 1"),
                        ({"mean": [0] * 3, "std": [1] * 3, "crop_offset": "round"},
                         "crop_offset without crop")):
            with self.assertRaises(ve.ExportError) as cm:
                ok(p)
            self.assertIn(text, str(cm.exception))

    def test_cli(self):
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vkfuse_export.py")
        write_hf(self.hf, CLIP_HF, self.clip().state_dict(), "bin", PP)
        r = subprocess.run([sys.executable, tool, "from-hf", self.hf, self.out, "--dtype", "F16"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("vkfuse.image_preprocess", r.stdout)
        self.assertEqual(ve.load_model(self.out).state_dict["logit_scale"].dtype, torch.float16)
        r = subprocess.run([sys.executable, tool, "from-hf", self.dir.name, self.out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("vkfuse_export: error: ", r.stderr)
        self.assertIn("no config.json", r.stderr)
        m, _ = vit_model()
        pth = os.path.join(self.dir.name, "vit.pth")
        torch.save(m.state_dict(), pth)
        out2 = os.path.join(self.dir.name, "vit.safetensors")
        pre = json.dumps({"mean": [0.5] * 3, "std": [0.5] * 3})
        r = subprocess.run([sys.executable, tool, "from-torchvision", pth, out2, "--num-heads",
                            "3", "--preprocess", pre], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(ve.load_model(out2).config["num_heads"], 3)
        r = subprocess.run([sys.executable, tool, "from-torchvision", "vit_b_16", out2],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--weights", r.stderr)


STANDARD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


@unittest.skipUnless(os.environ.get("VKFUSE_BIN"), "VKFUSE_BIN not set")
class StandardCasesRunTest(unittest.TestCase):
    """vkfuse run --cpu on every tests/data/{vit,clip,bert} case, against expected.safetensors
    (rows compare_mask marks 0 skipped)."""

    def test_cases(self):
        for arch in ("vit", "clip", "bert"):
            root = os.path.join(STANDARD_DIR, arch)
            for name in sorted(os.listdir(root)):
                d = os.path.join(root, name)
                with self.subTest(case=arch + "/" + name), tempfile.TemporaryDirectory() as t:
                    out = os.path.join(t, "out.safetensors")
                    r = subprocess.run([os.environ["VKFUSE_BIN"], "run",
                                        os.path.join(d, "model.safetensors"), "--input",
                                        os.path.join(d, "input.safetensors"), "--output", out,
                                        "--cpu"], capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    got, _ = read_safetensors(out)
                    want, _ = read_safetensors(os.path.join(d, "expected.safetensors"))
                    mask = want.pop("compare_mask", None)
                    self.assertEqual(sorted(got), sorted(want))
                    for k, v in want.items():
                        a, b = got[k], v
                        if mask is not None and k == "last_hidden_state":
                            a, b = a[mask.bool()], b[mask.bool()]
                        self.assertLess((a - b).abs().max().item(), 1e-4, k)


if __name__ == "__main__":
    unittest.main()
