#!/usr/bin/python3
"""ONNX models in vkfuse and in ONNX Runtime in the same run: outputs compared, times side by side.

ONNX Runtime is the second referee (PyTorch, through each case's expected.safetensors, is the
first): `npm install --ignore-scripts onnxruntime-node` brings its CPU library (the install
script only fetches GPU extras); this tool installs it into --ort when it is not there. Each
case is a folder with model.onnx and input.safetensors (and expected.safetensors from PyTorch
when there is one): tools/onnx_zoo.py's exports or tests/data/onnx/*.

    tools/compare_ort.py [--zoo build/onnx_zoo [--models a,b]] [CASE_DIR...] [--reps 5] [--vit-arch] [--json OUT]

Per case, in one process run each: ONNX Runtime (tools/ort_run.js, CPU provider, all graph
optimizations, intra-op threads = the machine's cores) gives its outputs and the median of
--reps runs after one warm-up; `vkfuse bench --model` gives device time (timestamp queries),
wall time (Session::run: inputs up, replay, outputs down), dispatches and peak device memory;
`vkfuse run` gives the outputs. Off is |vkfuse - ref| / max(1, max |ref|) over each output,
the rule of tools/onnx_zoo.py, against ONNX Runtime and against PyTorch. The device's FMA
ceiling (`vkfuse bench --peak`) is measured in the same run.

--vit-arch also writes the zoo's ViT-B/32 weights (the same seed as tools/onnx_zoo.py) as a
`vit` model file and times it beside the graph: the graph path against the arch path.

Exits non-zero when any output is off by more than 1e-3 or a run fails.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

TOL = 1e-3


def ensure_ort(folder):
    pkg = os.path.join(folder, "node_modules", "onnxruntime-node")
    if not os.path.isdir(pkg):
        os.makedirs(folder, exist_ok=True)
        print("installing onnxruntime-node into %s (npm, --ignore-scripts)" % folder, file=sys.stderr)
        subprocess.run(["npm", "install", "--prefix", folder, "--ignore-scripts", "--no-audit", "--no-fund",
                        "onnxruntime-node"], check=True, stdout=subprocess.DEVNULL)
    version = json.load(open(os.path.join(pkg, "package.json")))["version"]
    return pkg, version


def off(got, ref):
    worst = 0.0
    for name, r in ref.items():
        if name not in got:
            return float("inf")
        g = got[name].double()
        r = r.double()
        if g.shape != r.shape:
            return float("inf")
        if r.numel():
            worst = max(worst, float((g - r).abs().max()) / max(1.0, float(r.abs().max())))
    return worst


def vkfuse_json(vkfuse, args):
    p = subprocess.run([vkfuse] + args + ["--json"], capture_output=True, text=True, env=dict(os.environ, XDG_RUNTIME_DIR="/tmp"))
    if p.returncode != 0:
        raise RuntimeError("vkfuse %s: %s" % (" ".join(args), (p.stderr or p.stdout).strip().splitlines()[-1:]))
    return json.loads(p.stdout)


def run_case(name, folder, model, inputs, a, pkg, tmp):
    row = {"case": name}
    ort_out = os.path.join(tmp, name + ".ort.safetensors")
    p = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), pkg, model, inputs, ort_out, str(a.reps),
                        str(os.cpu_count())], capture_output=True, text=True)
    if p.returncode != 0:
        row["error"] = "onnxruntime: " + (p.stderr.strip().splitlines() or ["failed"])[-1]
        return row
    row["ort_ms"] = json.loads(p.stdout)["median_ms"]
    print("  %s: onnxruntime %.1f ms; vkfuse ..." % (name, row["ort_ms"]), file=sys.stderr, flush=True)
    try:
        b = vkfuse_json(a.vkfuse, ["bench", "--model", model, "--input", inputs, "--reps", str(a.reps)])["model"]
    except RuntimeError as e:
        row["error"] = str(e)
        return row
    row.update(device_ms=b["device_ms"], wall_ms=b["wall_ms"], host_ms=b["host_steps_ms"],
               dispatches=b["dispatches"], peak_mib=b["peak_device_bytes"] / 2**20)
    vk_out = os.path.join(tmp, name + ".vkfuse.safetensors")
    p = subprocess.run([a.vkfuse, "run", model, "--input", inputs, "--output", vk_out], capture_output=True, text=True,
                       env=dict(os.environ, XDG_RUNTIME_DIR="/tmp"))
    if p.returncode != 0:
        row["error"] = "vkfuse run: " + (p.stderr.strip().splitlines() or ["failed"])[-1]
        return row
    got = read_safetensors(vk_out)[0]
    row["off_ort"] = off(got, read_safetensors(ort_out)[0])
    expected = os.path.join(folder, "expected.safetensors")
    if os.path.exists(expected):
        want = read_safetensors(expected)[0]
        row["off_torch"] = off(got, want)
        row["ort_off_torch"] = off(read_safetensors(ort_out)[0], want)
    return row


def vit_arch(a, zoo, tmp):
    """The zoo's ViT-B/32 as a `vit` model file, timed as the graph is."""
    import onnx_zoo
    from vkfuse_export import export_model
    torch.manual_seed(0)
    m = onnx_zoo.MODELS["vit_b_32"][0]()
    onnx_zoo.randomize(m, 1234)
    path = os.path.join(tmp, "vit_b_32.safetensors")
    export_model(path, m.state_dict(), config={"arch": "vit", "image_size": 224, "patch_size": 32, "num_layers": 12,
                                                "num_heads": 12, "hidden_dim": 768, "mlp_dim": 3072,
                                                "num_classes": 1000})
    x = read_safetensors(os.path.join(zoo, "vit_b_32", "input.safetensors"))[0]["x"]
    pv = os.path.join(tmp, "vit_pixel_values.safetensors")
    write_safetensors(pv, [("pixel_values", x)])
    b = vkfuse_json(a.vkfuse, ["bench", "--model", path, "--input", pv, "--reps", str(a.reps)])["model"]
    out = os.path.join(tmp, "vit_arch_out.safetensors")
    subprocess.run([a.vkfuse, "run", path, "--input", pv, "--output", out], check=True, capture_output=True,
                   env=dict(os.environ, XDG_RUNTIME_DIR="/tmp"))
    logits = read_safetensors(out)[0]["logits"]
    want = read_safetensors(os.path.join(zoo, "vit_b_32", "expected.safetensors"))[0]["y"]
    return {"device_ms": b["device_ms"], "wall_ms": b["wall_ms"], "dispatches": b["dispatches"],
            "peak_mib": b["peak_device_bytes"] / 2**20, "off_torch": off({"y": logits}, {"y": want})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help="folders with model.onnx and input.safetensors")
    ap.add_argument("--zoo", help="every export folder of tools/onnx_zoo.py's --out")
    ap.add_argument("--models", help="with --zoo: only these, comma-separated (resnet18,vit_b_32)")
    ap.add_argument("--vkfuse", default=os.path.join(ROOT, "build", "vkfuse"))
    ap.add_argument("--ort", default=os.path.join(ROOT, "build", "ort"), help="where onnxruntime-node is (installed)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--vit-arch", action="store_true", help="also the zoo's ViT-B/32 as a vit model file")
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()
    folders = list(a.cases)
    if a.zoo:
        folders += sorted(os.path.join(a.zoo, d) for d in os.listdir(a.zoo)
                          if os.path.exists(os.path.join(a.zoo, d, "model.onnx"))
                          and (not a.models or d in a.models.split(",")))
    if not folders:
        ap.error("give case folders or --zoo")
    pkg, version = ensure_ort(a.ort)
    tmp = os.path.join(ROOT, "build", "compare_ort")
    os.makedirs(tmp, exist_ok=True)
    peak = vkfuse_json(a.vkfuse, ["bench", "--peak", "--reps", "5"])
    print("device: %s; FMA ceiling %.1f GFLOP/s; onnxruntime-node %s, %d threads; medians of %d runs"
          % (peak["device"], peak["peak"]["gflops"], version, os.cpu_count(), a.reps))
    rows = []
    print("%-30s %9s %10s %9s %8s %10s %9s %10s %10s" % ("model", "ORT ms", "device ms", "wall ms", "wall/ORT",
                                                         "dispatches", "peak MiB", "off ORT", "off torch"))
    bad = 0
    for f in folders:
        name = os.path.basename(os.path.normpath(f))
        r = run_case(name, f, os.path.join(f, "model.onnx"), os.path.join(f, "input.safetensors"), a, pkg, tmp)
        rows.append(r)
        if "error" in r:
            bad += 1
            print("%-30s FAILED: %s" % (name, r["error"]))
            continue
        ok = r["off_ort"] <= TOL and r.get("off_torch", 0) <= TOL
        bad += not ok
        print("%-30s %9.1f %10.1f %9.1f %8.2f %10d %9.1f %10.1e %10s%s" % (
            name, r["ort_ms"], r["device_ms"], r["wall_ms"], r["wall_ms"] / r["ort_ms"], r["dispatches"],
            r["peak_mib"], r["off_ort"], "%.1e" % r["off_torch"] if "off_torch" in r else "-", "" if ok else "  OFF"),
            flush=True)
    result = {"device": peak["device"], "ceiling_gflops": peak["peak"]["gflops"], "onnxruntime": version,
              "threads": os.cpu_count(), "reps": a.reps, "rows": rows}
    if a.vit_arch:
        if not a.zoo:
            ap.error("--vit-arch needs --zoo (the ViT-B/32 export and its input)")
        v = vit_arch(a, a.zoo, tmp)
        g = next((r for r in rows if r["case"] == "vit_b_32" and "error" not in r), None)
        result["vit_arch"] = v
        print("vit_b_32 as the vit arch: device %.1f ms, wall %.1f ms, %d dispatches, peak %.1f MiB, off torch %.1e"
              % (v["device_ms"], v["wall_ms"], v["dispatches"], v["peak_mib"], v["off_torch"]))
        if g:
            print("graph / arch: device %.3f, wall %.3f" % (g["device_ms"] / v["device_ms"], g["wall_ms"] / v["wall_ms"]))
        bad += v["off_torch"] > TOL
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    print("compare_ort: %d of %d cases off or failed" % (bad, len(folders)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
