#!/usr/bin/python3
"""Run the vkfuse command line on tests/data/e2e/ (tools/gen_e2e_cases.py) and compare with the
expected values: `tokenize` (ids exactly), `run --text/--image` on the GPU and with --cpu
(relative error: max |got - want| / max |want| per tensor, < 3e-4; bert's last_hidden_state
on the rows compare_mask marks), `index` on the pictures folder (names, PNG rows; the JPEG
row loosely), `search --json --top 3` (names exactly where the expected order is defined,
scores to 3e-4 absolute).

    XDG_RUNTIME_DIR=/tmp /usr/bin/python3 tools/check_e2e_cli.py [--vkfuse build/vkfuse]
        [--cpu-only] [-v]

Reads safetensors with tools/safetensors_io.py (torch). Prints every command, one line per comparison, and exits 1 when
one fails.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
E2E = os.path.join(ROOT, "tests", "data", "e2e")
REL = 3e-4

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Checker:
    def __init__(self, exe, verbose):
        self.exe = exe
        self.verbose = verbose
        self.failures = []

    def run(self, args, want_json=True):
        cmd = [self.exe] + args
        def show(x):
            if os.path.isabs(x) and x.startswith(ROOT + os.sep):
                return os.path.relpath(x, ROOT)
            return x
        print("$ " + " ".join(shlex.quote(show(x)) for x in cmd), flush=True)
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            self.fail("exit status %d: %s" % (r.returncode, r.stderr.strip()[-2000:]))
            return None
        if self.verbose and r.stderr.strip():
            print("  stderr: " + r.stderr.strip().replace("\n", "\n  stderr: "))
        if not want_json:
            return r
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            self.fail("stdout is not JSON (%s): %r" % (e, r.stdout[:500]))
            return None

    def ok(self, what, cond, detail):
        print("  %s %s: %s" % ("ok  " if cond else "FAIL", what, detail), flush=True)
        if not cond:
            self.failures.append("%s: %s" % (what, detail))

    def fail(self, msg):
        print("  FAIL " + msg, flush=True)
        self.failures.append(msg)

    def tensors(self, what, got, want, rows=None):
        """got: {name: {"shape", "data"}} from vkfuse run; want: the same from expected.json."""
        self.ok(what + " output names", sorted(got) == sorted(want),
                "got %s, want %s" % (sorted(got), sorted(want)))
        for k, w in want.items():
            if k not in got:
                continue
            g = got[k]
            if list(g["shape"]) != list(w["shape"]):
                self.ok("%s %s shape" % (what, k), False, "got %s, want %s" % (g["shape"],
                                                                               w["shape"]))
                continue
            a = np.array(g["data"], np.float64).reshape(g["shape"])
            b = np.array(w["data"], np.float64).reshape(w["shape"])
            if rows is not None and k == "last_hidden_state":
                m = np.array(rows, bool)
                a, b = a[m], b[m]
            err = np.abs(a - b)
            rel = err.max() / np.abs(b).max()
            i = np.unravel_index(err.argmax(), err.shape)
            self.ok("%s %s %s" % (what, k, list(w["shape"])), rel < REL,
                    "relative error %.2e (max abs %.2e at %s: got %.8g, want %.8g)"
                    % (rel, err.max(), list(i), a[i], b[i]))


def read_index(path):
    from safetensors_io import read_safetensors
    t, meta = read_safetensors(path)
    return t, meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vkfuse", default=os.path.join(ROOT, "build", "vkfuse"))
    ap.add_argument("--cpu-only", action="store_true", help="skip the GPU runs")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    c = Checker(a.vkfuse, a.verbose)
    modes = [["--cpu"]] if a.cpu_only else [[], ["--cpu"]]

    # ---- clip
    d = os.path.join(E2E, "clip")
    ex = json.load(open(os.path.join(d, "expected.json"), encoding="utf-8"))
    model = os.path.join(d, "model.safetensors")
    got = c.run(["tokenize", model] + ex["texts"])
    if got is not None:
        c.ok("clip tokenize ids", got == ex["ids"], "got %s, want %s" % (got, ex["ids"]))
    images = [os.path.join(d, "pictures", n) for n in ex["pictures"]]
    for mode in modes:
        tag = "clip run " + ("--cpu" if mode else "gpu")
        args = ["run", model] + sum([["--text", t] for t in ex["texts"]], [])
        args += sum([["--image", p] for p in images], []) + mode
        got = c.run(args)
        if got is not None:
            c.tensors(tag, got, ex["outputs"])
        # each tower alone
        got = c.run(["run", model] + sum([["--image", p] for p in images], []) + mode)
        if got is not None:
            c.tensors(tag + " (images only)", got, {"image_embeds": ex["outputs"]["image_embeds"]})
        got = c.run(["run", model] + sum([["--text", t] for t in ex["texts"]], []) + mode)
        if got is not None:
            c.tensors(tag + " (texts only)", got, {"text_embeds": ex["outputs"]["text_embeds"]})
        # --output writes the same
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "out.safetensors")
            r = c.run(args + ["--output", out], want_json=False)
            if r is not None:
                ts, _ = read_index(out)
                got = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()}
                       for k, v in ts.items()}
                c.tensors(tag + " --output", got, ex["outputs"])

    names = ex["index"]["names"]
    want_idx = np.array(ex["index"]["embeddings"]["data"]).reshape(ex["index"]["embeddings"]
                                                                    ["shape"])
    approx = set(ex["index"]["approximate_rows"])
    for mode in modes:
        tag = "clip index " + ("--cpu" if mode else "gpu")
        with tempfile.TemporaryDirectory() as t:
            idx = os.path.join(t, "pictures.safetensors")
            r = c.run(["index", model, "--images", os.path.join(d, "pictures"), "--out", idx]
                      + mode, want_json=False)
            if r is None:
                continue
            ts, meta = read_index(idx)
            got_names = json.loads((meta or {}).get("vkfuse.names", "null"))
            c.ok(tag + " names", got_names == names, "got %s, want %s" % (got_names, names))
            e = ts.get("embeddings")
            if e is None or list(e.shape) != list(want_idx.shape):
                c.fail("%s embeddings: %s" % (tag, None if e is None else list(e.shape)))
                continue
            e = e.numpy().astype(np.float64)
            exact = [i for i in range(len(names)) if i not in approx]
            err = np.abs(e[exact] - want_idx[exact]).max() / np.abs(want_idx[exact]).max()
            c.ok(tag + " PNG rows", err < REL, "relative error %.2e" % err)
            for i in approx:
                cos = float(e[i] @ want_idx[i] / np.linalg.norm(e[i]) / np.linalg.norm(want_idx[i]))
                dd = np.abs(e[i] - want_idx[i]).max()
                c.ok(tag + " JPEG row %s (stb vs PIL decode, loose)" % names[i], cos > 0.99,
                     "cosine with PIL's %.5f, max abs diff %.2e" % (cos, dd))
            for s, rk in zip(ex["index"]["searches"], ex["rankings"]):
                got = c.run(["search", model, idx, "--text", s["text"], "--top", "3", "--json"]
                            + mode)
                if got is None:
                    continue
                full = s["ranking"]
                jpg = names[list(approx)[0]]
                if full is not None:
                    want = full[:3]
                    gn = [x["name"] for x in got]
                else:  # JPEG's rank undefined: compare the PNGs' order among the results
                    gn = [x["name"] for x in got if x["name"] != jpg]
                    want = rk["ranking"][:len(gn)]
                wn = [x["name"] for x in want]
                c.ok("%s search %r names" % (tag, s["text"]), gn == wn and len(got) == 3,
                     "got %s, want %s%s" % ([x["name"] for x in got], wn,
                                            "" if full is not None else " (the JPEG's rank "
                                            "is undefined: left out of the comparison)"))
                ws = {x["name"]: x["score"] for x in (full or rk["ranking"])}
                ws[jpg] = s["jpeg_score_pil"]
                de = max(abs(x["score"] - ws[x["name"]]) for x in got if x["name"] in ws
                         and x["name"] != jpg) if any(x["name"] != jpg for x in got) else 0
                dj = [abs(x["score"] - ws[jpg]) for x in got if x["name"] == jpg]
                c.ok("%s search %r scores" % (tag, s["text"]), de < REL,
                     "max abs diff %.2e on the PNGs%s" % (
                         de, "; JPEG %.2e (stb vs PIL)" % dj[0] if dj else ""))

    # ---- bert
    d = os.path.join(E2E, "bert")
    ex = json.load(open(os.path.join(d, "expected.json"), encoding="utf-8"))
    model = os.path.join(d, "model.safetensors")
    got = c.run(["tokenize", model] + ex["texts"])
    if got is not None:
        c.ok("bert tokenize ids", got == ex["ids"], "got %s, want %s" % (got, ex["ids"]))
    for mode in modes:
        tag = "bert run " + ("--cpu" if mode else "gpu")
        got = c.run(["run", model] + sum([["--text", t] for t in ex["texts"]], []) + mode)
        if got is not None:
            c.tensors(tag, got, ex["outputs"], rows=ex["compare_mask"])
        for i, t in enumerate(ex["texts"]):  # one text alone: no padding
            got = c.run(["run", model, "--text", t] + mode)
            if got is None:
                continue
            n = len(ex["ids"][i])
            H = ex["outputs"]["pooler_output"]["shape"][1]
            T = ex["outputs"]["last_hidden_state"]["shape"][1]
            lhs = np.array(ex["outputs"]["last_hidden_state"]["data"]).reshape(-1, T, H)[i, :n]
            one = {"last_hidden_state": {"shape": [1, n, H], "data": lhs.reshape(-1).tolist()}}
            for k in ("pooler_output", "sentence_embedding"):
                one[k] = {"shape": [1, H], "data": np.array(ex["outputs"][k]["data"])
                          .reshape(-1, H)[i].tolist()}
            c.tensors("%s text %d alone" % (tag, i), got, one)

    print()
    if c.failures:
        print("%d check(s) failed:" % len(c.failures))
        for f in c.failures:
            print("  " + f)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
