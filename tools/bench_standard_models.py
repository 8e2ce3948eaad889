#!/usr/bin/python3
"""The standard models of `vkfuse bench --standard-models` (CLIP ViT-B/32's image and text
towers, MiniLM-L6 with GELU and with ReLU) in vkfuse and in PyTorch, in the same run, and the
ratios.

    /usr/bin/python3 tools/bench_standard_models.py [--vkfuse build/vkfuse] [--reps 10]
        [--device SEL] [--threads N] [--json]

vkfuse: device time (timestamp queries summed over one replay) and wall time (host clock
around Session::run), medians of --reps replays after a warm-up, as `vkfuse bench` reports.
PyTorch: tools/hf_models.py's CLIPModel/BertModel with the same configs and random weights,
eval, torch.no_grad, batch 1, the median wall time of --reps forwards after a warm-up, with
--threads intra-op threads (default 1: Debian's OpenBLAS runs its own threads on every core,
and two levels of threads on the same cores contend; measured on 2 cores, MiniLM-L6 took
45-300 ms per forward with 2 intra-op threads and a steady 26 ms with 1). The script first checks that PyTorch runs on an
optimized BLAS (a 1024^3 torch.mm above 30 GFLOP/s; Debian: apt-get install
libopenblas0-pthread) and says so when it does not: the reference BLAS is ~60x slower and
would flatter vkfuse. Note: this PyTorch build's GELU is unusually slow, which is why MiniLM
is also timed with ReLU.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as H  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def blas_warning(gflops):
    """'' for an optimized BLAS, else a warning to print beside the figure: the reference BLAS
    runs a 1024^3 torch.mm at ~5 GFLOP/s, OpenBLAS at 90-300 on 2 cores."""
    return "" if gflops >= 30 else "  ** not an optimized BLAS: install libopenblas0-pthread before quoting these **"


def blas_gflops():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    t = []
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        t.append(time.perf_counter() - t0)
    return 2 * 1024 ** 3 / statistics.median(t) / 1e9


def timed(f, reps):
    """The median wall time of f() in ms over reps calls after a warm-up, under no_grad."""
    with torch.no_grad():
        f()
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def torch_ms(row, reps):
    cfg = dict(row["config"])
    cfg.pop("arch")
    torch.manual_seed(0)
    if row["config"]["arch"] == "clip":
        m = H.CLIPModel(H.clip_config(cfg), persistent_position_ids=False).eval()
        if row["per"] == "image":
            x = torch.randn(1, 3, 224, 224)
            f = lambda: m.get_image_features(x)  # noqa: E731
        else:
            ids = (1 + torch.arange(77) * 7919 % 30000)[None]
            ids[0, -1] = 49407
            f = lambda: m.get_text_features(ids)  # noqa: E731
    else:
        m = H.BertModel(H.bert_config(cfg), add_pooling_layer=True, persistent_position_ids=False).eval()
        ids = (1 + torch.arange(128) * 7919 % 30000)[None]
        f = lambda: m(ids)  # noqa: E731
    return timed(f, reps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vkfuse", default=os.path.join(ROOT, "build", "vkfuse"))
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--device", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gf = blas_gflops()
    cmd = [a.vkfuse, "bench", "--standard-models", "--json", "--reps", str(a.reps)]
    if a.device:
        cmd += ["--device", a.device]
    vk = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["standard_models"]
    rows = []
    for r in vk:
        t = torch_ms(r, a.reps)
        rows.append({"network": r["network"], "per": r["per"], "vkfuse_device_ms": r["device_ms"],
                     "vkfuse_wall_ms": r["wall_ms"], "torch_ms": t, "gflop": r["gflop"],
                     "torch_over_vkfuse_wall": t / r["wall_ms"]})
    if a.json:
        print(json.dumps({"torch_threads": a.threads, "torch_mm1024_gflops": gf, "rows": rows}, indent=2))
        return
    print("PyTorch %s, %d intra-op thread(s) (BLAS threads its own); torch.mm 1024^3: %.0f GFLOP/s%s" %
          (torch.__version__, a.threads, gf, blas_warning(gf)))
    print("%-46s %11s %11s %11s %9s %14s" % ("batch 1, medians of %d" % a.reps, "vk dev ms", "vk wall ms",
                                              "torch ms", "GFLOP", "torch/vk wall"))
    for r in rows:
        print("%-46s %11.2f %11.2f %11.2f %9.3f %13.2fx" % (r["network"], r["vkfuse_device_ms"], r["vkfuse_wall_ms"],
                                                         r["torch_ms"], r["gflop"], r["torch_over_vkfuse_wall"]))


if __name__ == "__main__":
    main()
