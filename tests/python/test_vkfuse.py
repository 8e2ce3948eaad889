"""Tests of the Python module (`import vkfuse`; python/vkfuse_module.cpp), numpy only.

    VKFUSE_PYTHONPATH=build/python VKFUSE_BIN=build/vkfuse python3 tests/python/test_vkfuse.py

VKFUSE_PYTHONPATH: the folder holding the built module (without it, the installed one is
imported). VKFUSE_BIN: the built command line, whose `vkfuse run` the module's outputs are
compared with (skipped without it; the CPU reference is compared in any case).

The flagship shapes model (models/shapes_qa.safetensors) on samples/data/shapes_example.png
as samples/embed.cpp feeds it, and the CLIP model of tests/data/e2e/clip through its own
tokenizer and image preprocessing against what Hugging Face gave (expected.json).
"""

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
import zlib

import numpy as np

if os.environ.get("VKFUSE_PYTHONPATH"):
    sys.path.insert(0, os.environ["VKFUSE_PYTHONPATH"])
import vkfuse  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPES = os.path.join(ROOT, "models", "shapes_qa.safetensors")
SHAPES_PNG = os.path.join(ROOT, "samples", "data", "shapes_example.png")
CLIP_DIR = os.path.join(ROOT, "tests", "data", "e2e", "clip")
CLIP = os.path.join(CLIP_DIR, "model.safetensors")
PLAIN = os.path.join(ROOT, "tests", "data", "attention", "self_attn", "model.safetensors")  # no preprocessing
VKFUSE_BIN = os.environ.get("VKFUSE_BIN")


# --- numpy-only helpers: safetensors in and out, 8-bit PNG decoding ------------------------

_ST_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "u1"}


def write_safetensors(path, tensors):
    names = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64", np.dtype("<i4"): "I32"}
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=_ST_DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def read_png_rgb(path):
    """An 8-bit, non-interlaced RGB or RGBA PNG as uint8 [H, W, 3] (alpha dropped)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, path
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    ch = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        ftype, line = raw[y * (stride + 1)], np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8)
        cur = line.astype(np.int32)
        if ftype == 2:
            cur = (cur + prev) & 255
        elif ftype in (1, 3, 4):  # these depend on the pixel to the left: one byte at a time
            cur = cur.copy()
            for x in range(stride):
                a = cur[x - ch] if x >= ch else 0
                b, c = prev[x], prev[x - ch] if x >= ch else 0
                if ftype == 1:
                    pred = a
                elif ftype == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + pred) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, ch)[:, :, :3].astype(np.uint8)


def shapes_ids(vocab, question, max_len):
    """samples/shapes/vocab.cpp's tokenizer: <cls>, lower-cased words without ?,. , <pad>."""
    index = {w: i for i, w in enumerate(vocab)}
    words = re.sub(r"[?,.]", "", question.lower()).split()
    ids = [index["<cls>"]] + [index.get(w, index["<unk>"]) for w in words]
    return ids + [index["<pad>"]] * (max_len - len(ids))


def worst_relative(got, want):
    """The largest difference over the largest magnitude of the expected tensor."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


class ModuleTest(unittest.TestCase):
    def test_version_and_commit(self):
        self.assertIsInstance(vkfuse.__version__, str)
        self.assertRegex(vkfuse.__version__, r"^\d+\.\d+\.\d+$")
        self.assertIsInstance(vkfuse.__commit__, str)
        self.assertTrue(vkfuse.__commit__)

    def test_error_is_a_runtime_error(self):
        self.assertTrue(issubclass(vkfuse.Error, RuntimeError))

    def test_devices(self):
        devices = vkfuse.devices()
        self.assertGreaterEqual(len(devices), 1)
        for d in devices:
            self.assertIsInstance(d["name"], str)
            self.assertTrue(d["name"])
            for key in ("type", "vendor", "driver_name", "api_version"):
                self.assertIsInstance(d[key], str)
            self.assertGreater(d["limits"]["max_workgroup_invocations"], 0)
            self.assertGreater(d["limits"]["max_storage_buffer_range_bytes"], 0)
        self.assertEqual(sum(d["selected"] for d in devices), 1)

    @unittest.skipUnless(VKFUSE_BIN, "VKFUSE_BIN not set")
    def test_devices_as_the_command_line_lists_them(self):
        r = subprocess.run([VKFUSE_BIN, "devices", "--json"], capture_output=True, text=True, check=True)
        cli = json.loads(r.stdout)["devices"]
        ours = vkfuse.devices()
        self.assertEqual(len(ours), len(cli))
        for a, b in zip(ours, cli):
            a, b = json.loads(json.dumps(a)), dict(b)  # tuples as lists
            la, lb = a.pop("limits"), b.pop("limits")
            self.assertEqual(a, b)
            self.assertAlmostEqual(la.pop("timestamp_period_ns"), lb.pop("timestamp_period_ns"), places=4)
            self.assertEqual(la, lb)

    def test_missing_file(self):
        path = os.path.join(tempfile.gettempdir(), "vkfuse-no-such-model.safetensors")
        with self.assertRaises(vkfuse.Error) as cm:
            vkfuse.Session(path, cpu=True)
        msg = str(cm.exception)
        self.assertIn(path, msg)
        self.assertNotIn("\n", msg)

    def test_not_a_model(self):
        with self.assertRaises(vkfuse.Error) as cm:
            vkfuse.Session(SHAPES_PNG, cpu=True)
        self.assertIn(SHAPES_PNG, str(cm.exception))

    def test_no_preprocessing(self):
        s = vkfuse.Session(PLAIN, cpu=True)
        self.assertFalse(s.has_tokenizer)
        self.assertFalse(s.has_image_preprocess)
        with self.assertRaises(vkfuse.Error) as cm:
            s.tokenize(["a red circle"])
        self.assertIn("tokenizer", str(cm.exception))
        with self.assertRaises(vkfuse.Error) as cm:
            s.preprocess_image(SHAPES_PNG)
        self.assertIn("image preprocessing", str(cm.exception))
        with self.assertRaises(vkfuse.Error):
            s.inputs(texts=["a red circle"])
        self.assertEqual(s.inputs(), {})

    def test_unknown_device(self):
        with self.assertRaises(vkfuse.Error):
            vkfuse.Session(SHAPES, device="no such device, surely")
        with self.assertRaises(ValueError):
            vkfuse.Session(SHAPES, device=0, cpu=True)


class ShapesTest(unittest.TestCase):
    """The flagship vision-text fusion model, inputs built as samples/embed.cpp builds them."""

    QUESTIONS = ["is there a red circle", "is there a green square", "is the blue square left of the yellow triangle"]

    @classmethod
    def setUpClass(cls):
        cls.gpu = vkfuse.Session(SHAPES)
        cls.cpu = vkfuse.Session(SHAPES, cpu=True)
        cfg = cls.gpu.config
        cls.side, cls.len = cfg["image_size"], cfg["max_text_len"]
        vocab = json.loads(cls.gpu.metadata["vkfuse.vocab"])
        cls.ids = np.array([shapes_ids(vocab, q, cls.len) for q in cls.QUESTIONS], dtype=np.int64)
        cls.image = cls.gpu.preprocess_image(SHAPES_PNG)
        cls.inputs = {"image": np.stack([cls.image] * len(cls.QUESTIONS)), "input_ids": cls.ids}

    def test_session(self):
        self.assertEqual(self.gpu.arch, "vision_text_fusion")
        self.assertEqual(self.gpu.path, SHAPES)
        self.assertIsInstance(self.gpu.device["name"], str)
        self.assertIsNone(self.cpu.device)
        self.assertIn("vision_text_fusion", repr(self.gpu))
        self.assertTrue(self.gpu.has_image_preprocess)

    def test_preprocess_image(self):
        # The file's vkfuse.image_preprocess is mean 0.5, std 0.5, no resize (the picture is 64x64).
        self.assertEqual(self.image.dtype, np.float32)
        self.assertEqual(self.image.shape, (3, self.side, self.side))
        rgb = read_png_rgb(SHAPES_PNG)
        want = ((rgb.astype(np.float32) * np.float32(1 / 255) - 0.5) / 0.5).transpose(2, 0, 1)
        np.testing.assert_allclose(self.image, want, atol=1e-6)
        np.testing.assert_array_equal(self.gpu.preprocess_image(rgb), self.image)

    def test_gpu_matches_cpu_reference(self):
        gpu, cpu = self.gpu.run(self.inputs), self.cpu.run(self.inputs)
        self.assertEqual(sorted(gpu), ["logits", "probs"])
        self.assertEqual(sorted(cpu), sorted(gpu))
        for name in gpu:
            self.assertEqual(gpu[name].dtype, np.float32)
            self.assertEqual(gpu[name].shape, (len(self.QUESTIONS), 1))
            np.testing.assert_allclose(gpu[name], cpu[name], atol=1e-4, rtol=0, err_msg=name)
        # The example picture holds a red circle (yes), no green square (no).
        self.assertGreater(gpu["probs"][0, 0], 0.5)
        self.assertLess(gpu["probs"][1, 0], 0.5)

    def test_own_preprocessing(self):
        # The file's vkfuse.vocab is its tokenizer, and its picture input is "image".
        self.assertTrue(self.gpu.has_tokenizer)
        self.assertEqual(self.gpu.tokenize(self.QUESTIONS), [[t for t in row if t != 0] for row in self.ids.tolist()])
        inputs = self.gpu.inputs(texts=self.QUESTIONS, images=[SHAPES_PNG] * len(self.QUESTIONS))
        self.assertEqual(sorted(inputs), ["attention_mask", "image", "input_ids"])
        np.testing.assert_array_equal(inputs["image"], self.inputs["image"])
        want = self.cpu.run(self.inputs)["probs"]
        np.testing.assert_allclose(self.gpu.run(inputs)["probs"], want, atol=1e-4, rtol=0)

    @unittest.skipUnless(VKFUSE_BIN, "VKFUSE_BIN not set")
    def test_matches_vkfuse_run(self):
        with tempfile.TemporaryDirectory() as d:
            inp, outp = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
            write_safetensors(inp, self.inputs)
            subprocess.run([VKFUSE_BIN, "run", SHAPES, "--input", inp, "--output", outp], check=True)
            want = read_safetensors(outp)
        got = self.gpu.run(self.inputs)
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-4, rtol=0, err_msg=name)

    def test_dtypes_and_layouts(self):
        want = self.gpu.run(self.inputs)["probs"]
        wide = np.zeros((len(self.QUESTIONS), 3, self.side, 2 * self.side), np.float32)
        wide[..., ::2] = self.inputs["image"]
        variants = {
            "int32 ids": {"image": self.inputs["image"], "input_ids": self.ids.astype(np.int32)},
            "uint16 ids, float64 image": {"image": self.inputs["image"].astype(np.float64),
                                          "input_ids": self.ids.astype(np.uint16)},
            "big-endian": {"image": self.inputs["image"].astype(">f4"), "input_ids": self.ids.astype(">i8")},
            "strided image": {"image": wide[..., ::2], "input_ids": self.ids},
            "lists": {"image": self.inputs["image"].tolist(), "input_ids": self.ids.tolist()},
        }
        for what, inputs in variants.items():
            np.testing.assert_allclose(self.gpu.run(inputs)["probs"], want, atol=1e-6, rtol=0, err_msg=what)
        # float16 pictures: the same within float16's rounding of the input.
        half = {"image": self.inputs["image"].astype(np.float16), "input_ids": self.ids}
        np.testing.assert_allclose(self.gpu.run(half)["probs"], self.cpu.run(half)["probs"], atol=1e-4, rtol=0)

    def test_attention_mask_as_bool_and_uint8(self):
        mask = self.ids != 0
        want = self.cpu.run({**self.inputs, "attention_mask": mask})["probs"]
        for m in (mask, mask.astype(np.uint8)):
            got = self.gpu.run({**self.inputs, "attention_mask": m})["probs"]
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)

    def test_other_batch_sizes_rerecord(self):
        want = self.gpu.run(self.inputs)["probs"]
        one = self.gpu.run({"image": self.inputs["image"][1:2], "input_ids": self.ids[1:2]})["probs"]
        np.testing.assert_allclose(one, want[1:2], atol=1e-5, rtol=0)
        np.testing.assert_allclose(self.gpu.run(self.inputs)["probs"], want, atol=0, rtol=0)

    def test_need_weights(self):
        s = vkfuse.Session(SHAPES, need_weights=True)
        out = s.run(self.inputs)
        w = out["cross_attn_weights"]
        self.assertEqual(w.shape[:2], (len(self.QUESTIONS), self.len))
        ref = vkfuse.Session(SHAPES, need_weights=True, cpu=True).run(self.inputs)["cross_attn_weights"]
        np.testing.assert_allclose(w, ref, atol=1e-4, rtol=0)

    def test_threads_share_a_session(self):
        want = self.gpu.run(self.inputs)["probs"]
        got, errors = [], []

        def work():
            try:
                for _ in range(3):
                    got.append(self.gpu.run(self.inputs)["probs"])
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(got), 9)
        for g in got:
            np.testing.assert_array_equal(g, want)

    def test_bad_inputs_raise_the_library_message(self):
        cases = {
            "wrong shape": {"image": np.zeros((1, 3, 32, 32), np.float32), "input_ids": self.ids[:1]},
            "batch mismatch": {"image": self.inputs["image"][:1], "input_ids": self.ids},
            "missing input": {"image": self.inputs["image"]},
            "unknown input": {**self.inputs, "pixels": self.inputs["image"]},
            "token out of range": {"image": self.inputs["image"][:1], "input_ids": np.full((1, self.len), 99)},
            "float ids": {"image": self.inputs["image"][:1], "input_ids": self.ids[:1].astype(np.float32)},
            "complex": {"image": self.inputs["image"].astype(np.complex64), "input_ids": self.ids},
            "strings": {"image": self.inputs["image"], "input_ids": np.array([["a"] * self.len])},
        }
        for session in (self.gpu, self.cpu):
            for what, inputs in cases.items():
                with self.assertRaises(vkfuse.Error, msg=what) as cm:
                    session.run(inputs)
                msg = str(cm.exception)
                self.assertTrue(msg, what)
                self.assertNotIn("\n", msg, what)
        with self.assertRaises(vkfuse.Error) as cm:
            self.gpu.run({"image": np.zeros((1, 3, 32, 32), np.float32), "input_ids": self.ids[:1]})
        self.assertIn("image", str(cm.exception))
        with self.assertRaises(TypeError):
            self.gpu.run({1: self.ids})
        # The session still runs after every one of them.
        np.testing.assert_allclose(self.gpu.run(self.inputs)["probs"], self.cpu.run(self.inputs)["probs"], atol=1e-4)

    def test_bad_picture(self):
        with self.assertRaises(vkfuse.Error):
            self.gpu.preprocess_image(os.path.join(tempfile.gettempdir(), "vkfuse-no-such-picture.png"))
        with self.assertRaises(vkfuse.Error):
            self.gpu.preprocess_image(SHAPES)  # not a picture
        with self.assertRaises(vkfuse.Error):
            self.gpu.preprocess_image(np.zeros((4, 4), np.uint8))

    def test_close(self):
        with vkfuse.Session(SHAPES) as s:
            s.run(self.inputs)
        with self.assertRaises(vkfuse.Error):
            s.run(self.inputs)
        self.assertIn("closed", repr(s))


class ClipTest(unittest.TestCase):
    """A CLIP converted from a Hugging Face folder, its tokenizer and preprocessing inside."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(CLIP_DIR, "expected.json")) as f:
            cls.e = json.load(f)
        cls.pictures = [os.path.join(CLIP_DIR, "pictures", p) for p in cls.e["pictures"]]
        cls.gpu = vkfuse.Session(CLIP)

    def test_tokenize_matches_hugging_face(self):
        self.assertTrue(self.gpu.has_tokenizer)
        self.assertEqual(self.gpu.tokenize(self.e["texts"]), self.e["ids"])
        self.assertEqual(self.gpu.tokenize([]), [])

    def test_inputs_match_hugging_face(self):
        inputs = self.gpu.inputs(texts=self.e["texts"], images=self.pictures)
        self.assertEqual(sorted(inputs), ["attention_mask", "input_ids", "pixel_values"])
        self.assertEqual(inputs["input_ids"].dtype, np.int64)
        self.assertEqual(inputs["input_ids"].tolist(), self.e["batch"]["input_ids"])
        self.assertEqual(inputs["attention_mask"].tolist(), self.e["batch"]["attention_mask"])
        self.assertEqual(list(inputs["pixel_values"].shape), self.e["pixel_values_shape"])
        want = read_safetensors(os.path.join(CLIP_DIR, "expected.safetensors"))["pixel_values"]
        self.assertLess(worst_relative(inputs["pixel_values"], want), 1e-6)
        one = self.gpu.preprocess_image(self.pictures[0])
        np.testing.assert_array_equal(one, inputs["pixel_values"][0])
        self.assertEqual(sorted(self.gpu.inputs(texts=self.e["texts"][:1])), ["attention_mask", "input_ids"])

    def test_run_matches_hugging_face(self):
        inputs = self.gpu.inputs(texts=self.e["texts"], images=self.pictures)
        for session in (self.gpu, vkfuse.Session(CLIP, cpu=True)):
            out = session.run(inputs)
            for name, want in self.e["outputs"].items():
                got = out[name]
                self.assertEqual(list(got.shape), want["shape"], name)
                w = np.array(want["data"], np.float32).reshape(want["shape"])
                self.assertLess(worst_relative(got, w), 3e-4, "%s %s" % (name, "cpu" if session.cpu else "gpu"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
