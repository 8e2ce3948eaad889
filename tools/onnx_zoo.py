#!/usr/bin/env python3
"""torchvision's models exported to ONNX and run by vkfuse, against PyTorch.

For each model: weights drawn at random from a fixed seed (torchvision's own init zeroes some
heads and leaves deep nets' logits near 1e-15, which would compare nothing) so activations stay
O(1); torch.onnx.export at the opset given (17, the newest PyTorch 1.13 writes, where
LayerNormalization is one node; VARIANTS adds opset 13); PyTorch's output on a fixed random picture; then `vkfuse run` on the GPU (normal and
portable mode, under the validation layer) and with --cpu (the CPU references), each within
1e-3 of PyTorch (|vkfuse - torch| <= 1e-3 * max(1, max |torch|)). VARIANTS adds exports at
batch 2 and opsets 13 and 17, one with a symbolic batch axis traced at batch 1 and run at 2.

    tools/onnx_zoo.py --out build/onnx_zoo [--models resnet18,vit_b_32] [--modes gpu,portable,cpu]

Exports are kept in --out and reused when the file exists (delete the folder to redo them).
Prints one line per model and run; exits non-zero if any run is off or fails.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

# name -> (constructor, input size, opset)
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(), 224, 17),
    "resnet50": (lambda: torchvision.models.resnet50(), 224, 17),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), 224, 17),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(), 224, 17),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(), 224, 17),
    "squeezenet1_0": (lambda: torchvision.models.squeezenet1_0(), 224, 17),
    "shufflenet_v2_x1_0": (lambda: torchvision.models.shufflenet_v2_x1_0(), 224, 17),
    "regnet_y_400mf": (lambda: torchvision.models.regnet_y_400mf(), 224, 17),
    "convnext_tiny": (lambda: torchvision.models.convnext_tiny(), 224, 17),
    "densenet121": (lambda: torchvision.models.densenet121(), 224, 17),
    "mnasnet1_0": (lambda: torchvision.models.mnasnet1_0(), 224, 17),
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False), 224, 17),
    "alexnet": (lambda: torchvision.models.alexnet(), 224, 17),
    "vit_b_32": (lambda: torchvision.models.vit_b_32(), 224, 17),
    "swin_t": (lambda: torchvision.models.swin_t(), 224, 17),
    "lraspp_mobilenet_v3_large": (
        lambda: torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None), 224, 17),
    "deeplabv3_mobilenet_v3_large": (
        lambda: torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(weights_backbone=None, aux_loss=False),
        224, 17),
}

# Exports at other batches and opsets: name -> (model of MODELS, batch, opset, dynamic). A
# dynamic one is traced at batch 1 with a symbolic batch axis and run at `batch`, so the
# symbol is bound by the run's input, not by the trace.
VARIANTS = {
    "resnet18_dynamic_batch": ("resnet18", 2, 13, True),
    "mobilenet_v3_small_batch2": ("mobilenet_v3_small", 2, 13, False),
    "vit_b_32_opset13_batch2": ("vit_b_32", 2, 13, False),
}


class OutOnly(torch.nn.Module):
    """A segmentation model's 'out' tensor (they return a dict)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif name.endswith("weight") or "layer_scale" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
            elif name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))


def export(name, folder):
    base, batch, opset, dynamic = VARIANTS.get(name, (name, 1, None, False))
    make, size, default_opset = MODELS[base]
    opset = opset or default_opset
    os.makedirs(folder, exist_ok=True)
    model_path = os.path.join(folder, "model.onnx")
    if os.path.exists(model_path) and os.path.exists(os.path.join(folder, "expected.safetensors")):
        return 0.0
    torch.manual_seed(0)
    m = make()
    if base.startswith(("lraspp", "deeplab")):
        m = OutOnly(m)
    randomize(m, 1234)
    m.eval()
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        y = m(x)
    t0 = time.time()
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
    # Grad enabled: nn.MultiheadAttention's fast path (taken without grad) does not export.
    with torch.enable_grad():
        torch.onnx.export(m, x[:1] if dynamic else x, model_path, input_names=["x"], output_names=["y"],
                          opset_version=opset, dynamic_axes=axes)
    write_safetensors(os.path.join(folder, "input.safetensors"), [("x", x)])
    write_safetensors(os.path.join(folder, "expected.safetensors"), [("y", y.contiguous())])
    return time.time() - t0


def run(vkfuse, folder, mode):
    out = os.path.join(folder, "out_%s.safetensors" % mode)
    cmd = [vkfuse, "run", os.path.join(folder, "model.onnx"), "--input", os.path.join(folder, "input.safetensors"),
           "--output", out]
    env = dict(os.environ)
    if mode == "cpu":
        cmd.append("--cpu")
    else:
        cmd.append("--validation")
    if mode == "portable":
        env["VKFUSE_PORTABLE"] = "1"
    t0 = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.time() - t0
    if p.returncode != 0 or "validation" in p.stderr.lower():
        return None, took, (p.stderr.strip() or "exit %d" % p.returncode)
    got = read_safetensors(out)[0]["y"]
    want = read_safetensors(os.path.join(folder, "expected.safetensors"))[0]["y"]
    if tuple(got.shape) != tuple(want.shape):
        return None, took, "shape %s, want %s" % (tuple(got.shape), tuple(want.shape))
    err = float((got - want).abs().max())
    return err / max(1.0, float(want.abs().max())), took, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default=",".join(list(MODELS) + list(VARIANTS)))
    ap.add_argument("--modes", default="gpu,portable,cpu")
    ap.add_argument("--vkfuse", default=os.environ.get("VKFUSE_BIN", "build/vkfuse"))
    a = ap.parse_args()
    bad = 0
    for name in a.models.split(","):
        folder = os.path.join(a.out, name)
        try:
            took = export(name, folder)
        except Exception as e:  # an export that fails is a failure of the zoo, named
            print("%-30s export failed: %s" % (name, e))
            bad += 1
            continue
        line = "%-30s export %5.1f s" % (name, took)
        for mode in a.modes.split(","):
            err, secs, why = run(a.vkfuse, folder, mode)
            if err is None:
                line += " | %s FAILED (%.1f s): %s" % (mode, secs, why[-400:])
                bad += 1
            else:
                ok = err <= 1e-3
                bad += 0 if ok else 1
                line += " | %s %.1e%s %.1f s" % (mode, err, "" if ok else " OFF", secs)
        print(line, flush=True)
    print("onnx zoo: %d of %d models x modes off or failed" % (bad, len(a.models.split(","))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
