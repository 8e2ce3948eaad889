#!/usr/bin/env python3
"""Writes tests/data/onnx/: small ONNX models as torch.onnx.export and onnx.helper write them,
each with inputs and PyTorch's (or numpy's) outputs, for tests/test_onnx_models.cpp; and
tests/data/onnx_hostile/: malformed and hostile files with the error each must give.

    /usr/bin/python3 tools/gen_onnx_cases.py

Fixed seeds, one thread: the files are the same on every run. The test suite only reads them.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_zoo import randomize  # noqa: E402  (the zoo's weight draw: activations O(1))
from safetensors_io import write_safetensors  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
OUT = os.path.join(ROOT, "onnx")
HOSTILE = os.path.join(ROOT, "onnx_hostile")


def case(name, model, inputs, input_names, output_names, opset=14, dynamic_axes=None, folding=True, seed=0, note="",
         training=torch.onnx.TrainingMode.EVAL):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    randomize(model, seed)
    model.eval()
    with torch.no_grad():
        outs = model(*inputs)
    if not isinstance(outs, (tuple, list)):
        outs = (outs,)
    # Grad enabled: nn.MultiheadAttention's fast path (taken without grad) does not export.
    with torch.enable_grad():
        torch.onnx.export(model, tuple(inputs), os.path.join(d, "model.onnx"), input_names=input_names,
                          output_names=output_names, opset_version=opset, dynamic_axes=dynamic_axes,
                          do_constant_folding=folding, training=training)
    write_safetensors(os.path.join(d, "input.safetensors"), list(zip(input_names, inputs)))
    write_safetensors(os.path.join(d, "expected.safetensors"), [(n, o.contiguous()) for n, o in zip(output_names, outs)])
    with open(os.path.join(d, "README"), "w") as f:
        f.write(note.strip() + "\n")


class ConvNet(torch.nn.Module):
    """Conv, BatchNorm, Relu, MaxPool, a grouped and a depthwise conv, a residual Add, global
    pooling and a Linear: the CNN staples, exported with TrainingMode.PRESERVE on the model in
    eval mode, so the batch norms stay as inference BatchNormalization nodes (an EVAL export
    folds them into the convolutions itself, even without constant folding); graph/fuse.cpp
    folds them."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.b1 = torch.nn.BatchNorm2d(16)
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.c2 = torch.nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.b2 = torch.nn.BatchNorm2d(16)
        self.dw = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        y = self.pool(torch.relu(self.b1(self.c1(x))))
        z = torch.nn.functional.hardswish(self.b2(self.c2(y)))
        z = self.dw(z) + y
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(z, 1), 1))


class Attention(torch.nn.Module):
    """nn.MultiheadAttention, self-attention with a key padding mask (bool input)."""

    def __init__(self):
        super().__init__()
        self.mha = torch.nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x, pad):
        return self.mha(x, x, x, key_padding_mask=pad, need_weights=False)[0]


class HeadsAttention(torch.nn.Module):
    """Self-attention written as Hugging Face's BERT and CLIP write it: q, k, v split into heads
    [B, H, L, D] by view and permute, scores q·kᵀ / √D, a causal mask shared by the batch
    ([L, L], as CLIP's text tower adds) and a key padding mask per batch entry ([B, 1, 1, L],
    BERT's extended mask (1 - m) · -10000), softmax, ·v, heads merged; with `bias`, a learned
    bias per head ([1, H, L, L], as Swin adds) in place of the causal mask, which the fused
    kernel does not take."""

    def __init__(self, bias=False):
        super().__init__()
        self.qkv = torch.nn.Linear(24, 72)
        self.out = torch.nn.Linear(24, 24)
        self.bias = torch.nn.Parameter(torch.zeros(1, 3, 6, 6)) if bias else None

    def forward(self, x, keep):
        b, n, _ = x.shape
        q, k, v = (t.view(b, n, 3, 8).permute(0, 2, 1, 3) for t in self.qkv(x).chunk(3, -1))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(8)
        s = s + (self.bias if self.bias is not None else torch.full((n, n), -1e9).triu(1))
        s = s + (1.0 - keep[:, None, None, :]) * -10000.0
        o = torch.matmul(torch.softmax(s, -1), v)
        return self.out(o.permute(0, 2, 1, 3).reshape(b, n, 24))


class ConvBnResidual(torch.nn.Module):
    """A bias-free Conv, its BatchNorm (folded into the Conv) and a residual Add: the residual
    must not be read as the Conv's absent bias."""

    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b = torch.nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(self.b(self.c(x)) + x)


class Encoder(torch.nn.Module):
    """nn.TransformerEncoderLayer (pre-norm, GELU): LayerNorm, GELU and attention patterns."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True,
                                                      norm_first=True)

    def forward(self, x):
        return self.layer(x)


class IntOutputs(torch.nn.Module):
    """Integer and bool outputs: ArgMax, TopK (no kernel: a host step), a comparison."""

    def forward(self, x):
        v, i = torch.topk(x, 3, dim=-1)
        return torch.argmax(x, dim=1), i, v, x > 0


class Resample(torch.nn.Module):
    """Resize (bilinear, nearest), reflect and constant Pad, Concat, Slice, a Transpose view."""

    def forward(self, x):
        a = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        b = torch.nn.functional.interpolate(x, size=(10, 14), mode="nearest")
        c = torch.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect")
        d = torch.nn.functional.pad(x, (1, 1, 0, 3), value=0.5)
        return torch.cat([a[:, :, :10, :14], b], 1), c[:, :, :, :9].transpose(2, 3) * d.transpose(2, 3)


class Embed(torch.nn.Module):
    """Token ids (int64, a dynamic batch and length) into an embedding table, a mean over the
    tokens and a softmax: Gather from an input, symbolic dims."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 16)
        self.proj = torch.nn.Linear(16, 8)

    def forward(self, ids):
        return torch.softmax(self.proj(self.emb(ids).mean(1)), -1)


def gen_models():
    g = torch.Generator().manual_seed(7)
    case("conv_bn", ConvNet(), [torch.randn(2, 3, 20, 20, generator=g)], ["x"], ["y"], folding=False, seed=1,
         training=torch.onnx.TrainingMode.PRESERVE,
         note="ConvNet of tools/gen_onnx_cases.py: Conv/BatchNorm/Relu/MaxPool/grouped and depthwise Conv/HardSwish/"
              "residual Add/GlobalAveragePool/Gemm, BatchNormalization kept (TrainingMode.PRESERVE on the model in eval "
              "mode, no constant folding).")
    x = torch.randn(2, 7, 32, generator=g)
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[1, 5:] = True
    case("attention", Attention(), [x, pad], ["x", "key_padding_mask"], ["y"], seed=2,
         note="nn.MultiheadAttention(32, 4) self-attention with a key padding mask, opset 14.")
    case("encoder_opset14", Encoder(), [torch.randn(2, 9, 32, generator=g)], ["x"], ["y"], seed=3,
         note="nn.TransformerEncoderLayer(32, 4, 64, gelu, norm_first) at opset 14: LayerNorm decomposed.")
    case("encoder_opset17", Encoder(), [torch.randn(2, 9, 32, generator=g)], ["x"], ["y"], opset=17, seed=3,
         note="The same layer at opset 17: LayerNormalization.")
    case("int_outputs", IntOutputs(), [torch.randn(3, 6, generator=g)], ["x"], ["argmax", "topk_indices", "topk_values",
                                                                             "positive"],
         note="ArgMax, TopK (a host step), Greater: int64 and bool outputs.")
    case("resample", Resample(), [torch.randn(1, 2, 5, 7, generator=g)], ["x"], ["y", "z"],
         note="Resize bilinear and nearest, Pad reflect and constant, Concat, Slice, Transpose.")
    ids = torch.randint(0, 50, (3, 5), generator=g)
    case("embedding", Embed(), [ids], ["ids"], ["y"], dynamic_axes={"ids": {0: "batch", 1: "tokens"}}, seed=4,
         note="Embedding (Gather from an int64 input), dynamic batch and tokens, mean, Linear, Softmax.")
    x = torch.randn(2, 6, 24, generator=g)
    keep = torch.ones(2, 6)
    keep[1, 4:] = 0
    case("heads_attention", HeadsAttention(), [x, keep], ["x", "keep"], ["y"], seed=5,
         note="Hugging Face-style attention [B, H, L, D] with a causal [L, L] and a key padding [B, 1, 1, L] mask: "
              "one fused attention step.")
    case("head_bias_attention", HeadsAttention(bias=True), [x, keep], ["x", "keep"], ["y"], seed=6,
         note="The same with a bias per head [1, H, L, L] in place of the causal mask (Swin's relative position bias): "
              "not fused (the kernel takes no per-head mask); MatMul, Softmax, MatMul.")
    case("conv_bn_residual", ConvBnResidual(), [torch.randn(2, 8, 9, 9, generator=g)], ["x"], ["y"], folding=False,
         seed=7, training=torch.onnx.TrainingMode.PRESERVE,
         note="Conv without bias, BatchNormalization (kept, folded by vkfuse), residual Add, Relu.")


def hostile():
    """Files that must each be one clear error: file name -> a part of the message."""
    os.makedirs(HOSTILE, exist_ok=True)
    want = {}

    def save(name, model, msg, raw=None):
        path = os.path.join(HOSTILE, name)
        with open(path, "wb") as f:
            f.write(raw if raw is not None else model.SerializeToString())
        want[name] = msg

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])

    def model(nodes, inits=(), inputs=(x,), outputs=(y,), opset=14):
        g = helper.make_graph(list(nodes), "g", list(inputs), list(outputs), list(inits))
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_onnx_cases")

    good = model([helper.make_node("Relu", ["x"], ["y"], name="r")])
    save("unknown_op.onnx", model([helper.make_node("FancyOp", ["x"], ["y"], name="n1")]), "FancyOp")
    save("other_domain.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="n1", domain="com.example")]),
         "com.example")
    save("bad_attribute.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="n1", colour=3)]), "colour")
    save("cycle.onnx", model([helper.make_node("Relu", ["b"], ["a"], name="p"), helper.make_node("Relu", ["a"], ["b"], name="q"),
                              helper.make_node("Add", ["x", "b"], ["y"], name="s")]), "cycle")
    save("no_producer.onnx", model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="s")]), "nowhere")
    raw = good.SerializeToString()
    save("truncated.onnx", None, "", raw=raw[: len(raw) // 2])
    # An initializer that declares 2^40 floats and holds 8 bytes.
    big = helper.make_tensor("w", TensorProto.FLOAT, [2], vals=b"\0" * 8, raw=True)
    del big.dims[:]
    big.dims.extend([1 << 20, 1 << 20])
    save("declared_huge.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="s")], [big]), "w")
    # External data outside the model's folder, by '..' and by an absolute path.
    for fname, loc in (("external_dotdot.onnx", "../secret.bin"), ("external_absolute.onnx", "/etc/passwd")):
        t = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], vals=np.zeros(6, np.float32).tobytes(), raw=True)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", loc
        save(fname, model([helper.make_node("Add", ["x", "w"], ["y"], name="s")], [t]), loc)
    # External data whose offset and length run past its file.
    with open(os.path.join(HOSTILE, "weights.bin"), "wb") as f:
        f.write(np.arange(6, dtype=np.float32).tobytes())
    t = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], vals=np.zeros(6, np.float32).tobytes(), raw=True)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "16"), ("length", "24")):
        e = t.external_data.add()
        e.key, e.value = k, v
    save("external_past_end.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="s")], [t]), "weights.bin")
    save("opset_too_new.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")], opset=99), "99")
    save("conv_bad_group.onnx", model(
        [helper.make_node("Conv", ["x4", "w"], ["y4"], name="c", group=3)],
        [helper.make_tensor("w", TensorProto.FLOAT, [4, 2, 3, 3], np.zeros(72, np.float32))],
        inputs=[helper.make_tensor_value_info("x4", TensorProto.FLOAT, [1, 4, 8, 8])],
        outputs=[helper.make_tensor_value_info("y4", TensorProto.FLOAT, None)]), "group")
    save("not_a_model.onnx", None, "", raw=b"\x93NUMPY this is not protobuf at all \xff\xff\xff\xff")
    with open(os.path.join(HOSTILE, "expected_errors.json"), "w") as f:
        json.dump(want, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    if os.path.isdir(HOSTILE):
        shutil.rmtree(HOSTILE)
    gen_models()
    hostile()
    print("wrote", OUT, "and", HOSTILE)


if __name__ == "__main__":
    main()
