#!/usr/bin/python3
"""Train the "shapes" question-answering model (vkfuse's flagship sample) and export it.

Data: the files of build/shapes_dataset (samples/shapes/README.md, "Dataset file"):
`images` U8 [N,64,64,3], `input_ids` I64 [Q,12], `scene` I64 [Q], `labels` U8 [Q], `template`
I64 [Q], `objects` I64 [N,4,5] (needed by --aux-weight only), metadata `vkfuse.vocab` and
`shapes.templates`.

Model: arch vision_text_fusion of the vkfuse model-format spec, built from
tools/vkfuse_modules.py (the module vkfuse's forward matches), one sigmoid output = P(yes).
Trained with AdamW (weight decay only on matrices), linear warm-up then cosine decay,
BCEWithLogits on the logits. Batches are whole scenes (--batch-scenes scenes with all their
questions), so the vision tower runs once per scene (VisionTextFusion's image_index).
--aux-weight adds training-only heads (AuxScene, never exported) on the vision tower's
output: every patch token predicts which (colour, shape) pairs cover it and the class token
what the scene holds, from the objects' exact geometry (scene_targets).
The text is passed as input_ids only (padded with 0 = pad_token_id), so PyTorch derives the
padding exactly as vkfuse does.

Then: validation accuracy per template (float32), export with F16 weights (tools/
vkfuse_export.py) holding the config, the vocabulary, `vkfuse.image_preprocess`,
`vkfuse.trained_with` (this command line and the seed) and `vkfuse.validation_accuracy`;
the written file is loaded back into a fresh module and evaluated again. --fixture writes a
small reference file for the C++ tests from that reloaded F16 model.

    /usr/bin/python3 tools/train_shapes.py --train /work/shapes-data/train.safetensors \\
        --val /work/shapes-data/val.safetensors --out models/shapes_qa.safetensors \\
        --fixture tests/data/shapes/reference.safetensors

--eval-only skips training and evaluates (and writes the fixture from) the model in --out.
Reproducible: seeded (--seed). Threads: 1 torch (OpenMP) thread and --threads (default 2)
OpenBLAS threads: Debian's torch calls whatever libblas.so.3 is, and the reference BLAS is
~8x slower than OpenBLAS (`apt-get install libopenblas0-pthread` makes OpenBLAS libblas.so.3).
"""

import argparse
import hashlib
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from shapes_aux import AuxScene, scene_targets  # noqa: E402
from vkfuse_export import export_model, load_model  # noqa: E402
from vkfuse_modules import (VISION_TEXT_FUSION_KEYS, VisionTextFusion,  # noqa: E402
                            forward_with_cross_attn)

IMAGE_PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
TEXT_LEN = 12


class Dataset:
    """One dataset file, checked against the contract."""

    def __init__(self, path):
        t, meta = read_safetensors(path)
        meta = meta or {}
        need = {"images": torch.uint8, "input_ids": torch.int64, "scene": torch.int64,
                "labels": torch.uint8, "template": torch.int64}
        for k, dt in need.items():
            if k not in t:
                raise SystemExit("%s: no tensor %s" % (path, k))
            if t[k].dtype != dt:
                raise SystemExit("%s: %s is %s, expected %s" % (path, k, t[k].dtype, dt))
        self.images = t["images"]
        N = self.images.shape[0]
        if tuple(self.images.shape[1:]) != (64, 64, 3):
            raise SystemExit("%s: images %s, expected [N,64,64,3]" % (path, list(self.images.shape)))
        self.input_ids = t["input_ids"]
        Q = self.input_ids.shape[0]
        if tuple(self.input_ids.shape) != (Q, TEXT_LEN):
            raise SystemExit("%s: input_ids %s, expected [Q,%d]" % (path, list(self.input_ids.shape),
                                                                   TEXT_LEN))
        self.scene, self.labels, self.template = t["scene"], t["labels"], t["template"]
        for k in ("scene", "labels", "template"):
            if tuple(t[k].shape) != (Q,):
                raise SystemExit("%s: %s %s, expected [%d]" % (path, k, list(t[k].shape), Q))
        self.objects = t.get("objects")  # I64 [N, 4, 5], optional (older files lack it)
        if self.objects is not None and (self.objects.dtype != torch.int64
                                         or tuple(self.objects.shape) != (N, 4, 5)):
            raise SystemExit("%s: objects %s %s, expected I64 [%d,4,5]"
                             % (path, self.objects.dtype, list(self.objects.shape), N))
        self.vocab = json.loads(meta["vkfuse.vocab"])
        self.templates = json.loads(meta["shapes.templates"])
        self.meta = meta
        self._index(path)

    @classmethod
    def concat(cls, parts):
        """Several files as one (scene indices offset): their vocabularies must be equal and
        each file's templates a prefix of the longest list (a classic file's five are the
        varied look's first five)."""
        if len(parts) == 1:
            return parts[0]
        d = cls.__new__(cls)
        d.vocab, d.meta = parts[0].vocab, parts[0].meta
        d.templates = max((p.templates for p in parts), key=len)
        for p in parts:
            if p.vocab != d.vocab or p.templates != d.templates[:len(p.templates)]:
                raise SystemExit("%s: vocabulary or templates differ from %s"
                                 % (p.path, parts[0].path))
        offsets = np.cumsum([0] + [p.N for p in parts[:-1]])
        d.images = torch.cat([p.images for p in parts])
        d.input_ids = torch.cat([p.input_ids for p in parts])
        d.scene = torch.cat([p.scene + int(o) for p, o in zip(parts, offsets)])
        d.labels = torch.cat([p.labels for p in parts])
        d.template = torch.cat([p.template for p in parts])
        have = all(p.objects is not None for p in parts)
        d.objects = torch.cat([p.objects for p in parts]) if have else None
        d._index(" + ".join(p.path for p in parts))
        return d

    def _index(self, path):
        N, Q = self.images.shape[0], self.input_ids.shape[0]
        assert int(self.scene.min()) >= 0 and int(self.scene.max()) < N, "scene index"
        assert int(self.input_ids.min()) >= 0 and int(self.input_ids.max()) < len(self.vocab)
        assert int(self.labels.max()) <= 1
        assert int(self.template.min()) >= 0 and int(self.template.max()) < len(self.templates)
        assert bool((self.input_ids[:, 0] == self.vocab.index("<cls>")).all()), "<cls> first"
        # Questions grouped by scene: order[starts[s]:starts[s+1]] are scene s's questions.
        self.order = torch.argsort(self.scene, stable=True)
        counts = torch.bincount(self.scene, minlength=N)
        self.starts = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
        self.path, self.N, self.Q = path, N, Q

    def batches(self, scene_order, batch_scenes):
        """Yields (scenes [S], question indices [B], image_index [B])."""
        so = self.order.numpy()
        st = self.starts.numpy()
        for i in range(0, len(scene_order), batch_scenes):
            scenes = scene_order[i:i + batch_scenes]
            qs, ii = [], []
            for j, s in enumerate(scenes.tolist()):
                q = so[st[s]:st[s + 1]]
                qs.append(q)
                ii.append(np.full(len(q), j, dtype=np.int64))
            yield (scenes, torch.from_numpy(np.concatenate(qs)),
                   torch.from_numpy(np.concatenate(ii)))

    def image(self, scenes):
        """The model input: (pixel / 255 - 0.5) / 0.5, F32 [S,3,64,64]."""
        x = self.images[scenes].permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return (x - 0.5) / 0.5

    def question(self, q):
        return " ".join(self.vocab[i] for i in self.input_ids[q].tolist() if i != 0)


def blas_library(threads):
    """The BLAS library this process has loaded (Debian's torch calls whatever libblas.so.3
    is: the reference BLAS is ~8x slower here than OpenBLAS), with OpenBLAS's thread count
    set to `threads`."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in os.path.basename(path):
                libs.add(path)
    openblas = sorted(p for p in libs if "openblas" in os.path.basename(p))
    if openblas:
        import ctypes
        try:
            ctypes.CDLL(openblas[0]).openblas_set_num_threads(threads)
        except (OSError, AttributeError):
            pass
        return os.path.basename(openblas[0])
    return ", ".join(sorted(libs)) or "unknown"


def make_config(a, vocab_size):
    cfg = {
        "arch": "vision_text_fusion", "d_model": a.d_model, "nhead": a.nhead,
        "dim_feedforward": a.ff, "activation": "gelu", "layer_norm_eps": 1e-5,
        "norm_first": True, "in_channels": 3, "image_size": 64, "patch_size": a.patch_size,
        "use_cls_token": True, "vision_layers": a.vision_layers, "vocab_size": vocab_size,
        "max_text_len": TEXT_LEN, "text_layers": a.text_layers, "pad_token_id": 0,
        "fusion_layers": a.fusion_layers, "fusion_mode": a.fusion_mode,
        "joint_layers": a.joint_layers, "pooling": "cls", "num_outputs": 1,
        "output_activation": "sigmoid"}
    assert list(cfg) == VISION_TEXT_FUSION_KEYS
    return cfg


def init_weights(model):
    """Independent draws per layer (nn.TransformerEncoder deep-copies one layer, so every
    layer would start identical): Xavier-uniform matrices (as nn.Transformer), N(0, 0.02)
    cls/position embeddings; token embeddings N(0, 1) as nn.Embedding makes them (tiny ones
    drown in the first layer's attention output: a long plateau at chance), biases and
    LayerNorms as PyTorch makes them."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "text.token_embed.weight":
                nn.init.normal_(p, std=1.0)
            elif name.endswith(("cls_token", "pos_embed")):
                nn.init.normal_(p, std=0.02)
            elif p.dim() == 2:
                nn.init.xavier_uniform_(p)
            elif p.dim() == 4:  # the patch embedding, as the [E, C*P*P] matrix it is
                nn.init.xavier_uniform_(p.view(p.shape[0], -1))


def init_from(path, vocab, vision_layers=0):
    """A model with the weights of model file `path`, its vocabulary extended to `vocab`
    (which must start with the file's words), and with vision_layers > the file's, vision
    layers added on top whose attention and feed-forward outputs start at zero (out_proj and
    linear2 weights and biases), so each starts as the identity and the model computes what
    the file does."""
    m = load_model(path)
    if vocab[:len(m.vocab)] != m.vocab:
        raise SystemExit("%s: its vocabulary is not a prefix of the dataset's" % path)
    cfg = dict(m.config, vocab_size=len(vocab))
    old_layers = cfg["vision_layers"]
    if vision_layers > old_layers:
        cfg["vision_layers"] = vision_layers
    model = VisionTextFusion(cfg)
    init_weights(model)
    sd = {k: v.float() for k, v in m.state_dict.items()}
    fresh = model.state_dict()
    for i in range(old_layers, cfg["vision_layers"]):
        pre = "vision.encoder.layers.%d." % i
        for k, v in fresh.items():
            if k.startswith(pre):
                zero = k.endswith(("out_proj.weight", "out_proj.bias", "linear2.weight", "linear2.bias"))
                sd[k] = torch.zeros_like(v) if zero else v.clone()
    emb = "text.token_embed.weight"
    grown = model.state_dict()[emb].clone()
    grown[:sd[emb].shape[0]] = sd[emb]
    sd[emb] = grown
    model.load_state_dict(sd)
    print("init: %s (%d words, now %d; %d vision layers, now %d)"
          % (path, len(m.vocab), len(vocab), old_layers, cfg["vision_layers"]), flush=True)
    return model


def sincos_table(positions, dim, temperature=100.0):
    """[len(positions), dim]: sin and cos of position * temperature^(-k / (dim/2))."""
    half = dim // 2
    omega = temperature ** (-torch.arange(half, dtype=torch.float64) / half)
    ang = torch.as_tensor(positions, dtype=torch.float64)[:, None] * omega[None]
    return torch.cat([torch.sin(ang), torch.cos(ang)], 1).float()


def init_positions_sincos(model):
    """Position embeddings start as sine/cosine tables (still trained): the vision grid's
    2-D (half the channels for the patch row, half for the column; the cls token gets 0),
    the text's 1-D. A transformer from scratch has no notion of which patches are neighbours;
    this gives it one from the first step."""
    cfg = model.cfg
    E = cfg["d_model"]
    g = cfg["image_size"] // cfg["patch_size"]
    rows = torch.arange(g).repeat_interleave(g)  # row-major patches
    cols = torch.arange(g).repeat(g)
    grid = torch.cat([sincos_table(rows, E // 2), sincos_table(cols, E - E // 2)], 1)
    with torch.no_grad():
        pe = model.vision.pos_embed
        start = 1 if cfg["use_cls_token"] else 0
        pe[0, start:] = grid
        if start:
            pe[0, 0] = 0
        model.text.pos_embed[0] = sincos_table(torch.arange(cfg["max_text_len"]), E)


def evaluate(model, ds, batch_scenes=128):
    """Predictions (prob > 0.5) for every question of ds, in question order."""
    model.eval()
    pred = torch.zeros(ds.Q, dtype=torch.uint8)
    with torch.no_grad():
        for scenes, qs, ii in ds.batches(torch.arange(ds.N), batch_scenes):
            logits, _ = model(ds.image(scenes), ds.input_ids[qs], image_index=ii)
            pred[qs] = (logits[:, 0] > 0).to(torch.uint8)
    return pred


def accuracy_table(ds, pred):
    ok = (pred == ds.labels)
    res = {"questions": ds.Q, "overall": round(ok.float().mean().item(), 5), "per_template": {}}
    for t, name in enumerate(ds.templates):
        m = ds.template == t
        res["per_template"][name] = round(ok[m].float().mean().item(), 5) if m.any() else None
    return res


def print_table(ds, results):
    """results: [(column title, accuracy_table)]."""
    print("%-22s %7s" % ("template", "count") + "".join(" %9s" % c for c, _ in results))
    for t, name in enumerate(ds.templates):
        n = int((ds.template == t).sum())
        print("%-22s %7d" % ("%d %s" % (t, name), n)
              + "".join(" %9.4f" % r["per_template"][name] for _, r in results))
    print("%-22s %7d" % ("overall", ds.Q) + "".join(" %9.4f" % r["overall"] for _, r in results))


def lr_at(step, total, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def train(a, model, train_ds, val_ds):
    aux = AuxScene(model) if a.aux_weight > 0 else None
    if aux is not None:
        if train_ds.objects is None:
            raise SystemExit("%s has no objects tensor: --aux-weight needs it (rewrite it with "
                             "build/shapes_dataset)" % train_ds.path)
        ta = time.time()
        patch_t, scene_t = scene_targets(train_ds.objects, model.cfg["patch_size"])
        print("aux targets: %.1f%% of patch labels set, in %.0fs"
              % (100.0 * patch_t.float().mean().item() * 12, time.time() - ta), flush=True)
    named = list(model.named_parameters()) + (
        [("aux." + n, p) for n, p in aux.named_parameters()] if aux else [])
    params = [p for _, p in named]
    decay = [p for n, p in named if p.dim() >= 2 and "embed" not in n and "cls_token" not in n]
    no_decay = [p for n, p in named
                if not (p.dim() >= 2 and "embed" not in n and "cls_token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    loss_fn = nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(a.seed + 1)
    per_epoch = math.ceil(train_ds.N / a.batch_scenes)
    total = a.steps if a.steps else a.epochs * per_epoch
    print("training: %d steps (%.2f epochs of %d scenes / %d questions), %d scenes per batch"
          % (total, total / per_epoch, train_ds.N, train_ds.Q, a.batch_scenes), flush=True)
    t0 = time.time()
    step = 0
    epoch = 0
    run_loss = run_ok = run_n = run_aux = run_aux_n = 0.0
    while step < total:
        epoch += 1
        model.train()
        perm = torch.randperm(train_ds.N, generator=g)
        for scenes, qs, ii in train_ds.batches(perm, a.batch_scenes):
            if step >= total:
                break
            lr = lr_at(step, total, a.lr, a.warmup, a.lr * a.lr_floor)
            for grp in opt.param_groups:
                grp["lr"] = lr
            y = train_ds.labels[qs].to(torch.float32)
            logits, _ = model(train_ds.image(scenes), train_ds.input_ids[qs], image_index=ii)
            loss = loss_fn(logits[:, 0], y)
            total_loss = loss
            if aux is not None:
                patch_logit, scene_logit = aux()
                aux_loss = (loss_fn(patch_logit, patch_t[scenes].to(torch.float32))
                            + loss_fn(scene_logit, scene_t[scenes].to(torch.float32)))
                total_loss = loss + a.aux_weight * aux_loss
                run_aux += aux_loss.item() * len(qs)
                run_aux_n += len(qs)
            opt.zero_grad(set_to_none=True)
            total_loss.backward()
            if a.clip:
                nn.utils.clip_grad_norm_(params, a.clip)
            opt.step()
            step += 1
            run_loss += loss.item() * len(qs)
            run_ok += ((logits[:, 0] > 0) == (y > 0.5)).sum().item()
            run_n += len(qs)
            if a.eval_every and step % a.eval_every == 0 and step < total:
                te = time.time()
                r = accuracy_table(val_ds, evaluate(model, val_ds))
                model.train()
                print("step %d val acc %.4f (%s) [eval %.0fs]"
                      % (step, r["overall"], " ".join("%s %.3f" % (k, v) for k, v in
                                                      r["per_template"].items()),
                         time.time() - te), flush=True)
                if a.checkpoint:
                    torch.save(model.state_dict(), a.checkpoint)
            if step % a.log_every == 0 or step == total:
                print("epoch %d step %d/%d loss %.4f acc %.4f%s lr %.2e elapsed %.0fs"
                      % (epoch, step, total, run_loss / run_n, run_ok / run_n,
                         " aux %.4f" % (run_aux / run_aux_n) if run_aux_n else "", lr,
                         time.time() - t0), flush=True)
                run_loss = run_ok = run_n = run_aux = run_aux_n = 0.0
        if a.eval_every_epoch or step >= total:
            te = time.time()
            r = accuracy_table(val_ds, evaluate(model, val_ds))
            print("epoch %d val acc %.4f (%s) [eval %.0fs] elapsed %.0fs"
                  % (epoch, r["overall"], " ".join("%s %.3f" % (k, v) for k, v in
                                                   r["per_template"].items()),
                     time.time() - te, time.time() - t0), flush=True)
    if aux is not None:
        aux.remove()
    return time.time() - t0


def fixture_indices(ds, count, seed=7):
    """count validation questions: every (template, answer) pair, as evenly as possible, in
    a seeded random pick, returned in question order."""
    cells = [(t, lab) for t in range(len(ds.templates)) for lab in (1, 0)]
    quota = {c: count // len(cells) + (1 if i < count % len(cells) else 0)
             for i, c in enumerate(cells)}
    g = torch.Generator().manual_seed(seed)
    picked = []
    for q in torch.randperm(ds.Q, generator=g).tolist():
        c = (int(ds.template[q]), int(ds.labels[q]))
        if quota.get(c, 0) > 0:
            quota[c] -= 1
            picked.append(q)
        if len(picked) == count:
            break
    assert len(picked) == count, "not enough validation questions for the fixture"
    return sorted(picked)


def write_fixture(path, model_path, ds, count):
    """The reference file for the C++ tests: the F16 model file loaded back, run by PyTorch
    (ordinary path, grad enabled, as tools/gen_network_cases.py does) on `count` validation
    questions; checked against the float64 hand-written forward of gen_network_cases.py."""
    import gen_network_cases as gnc
    m = load_model(model_path)
    cfg = m.config
    model = VisionTextFusion(cfg)
    model.load_state_dict(m.state_dict)
    model.eval()
    idx = torch.tensor(fixture_indices(ds, count))
    image = ds.image(ds.scene[idx])
    ids = ds.input_ids[idx]
    logits, probs, w = forward_with_cross_attn(model, image, ids)  # grad enabled
    logits, probs = logits.detach(), probs.detach()
    pad = ids == cfg["pad_token_id"]
    # Checks: the captured weights (recomputing the layer from them), the float64 forward.
    cap = gnc.CrossCapture(model.fusion.layers[-1].text_to_image)
    try:
        model(image, ids)
    finally:
        cap.remove()
    w2, d = cap.weights(cfg, tkpm=pad)
    assert torch.equal(w, w2)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    man = gnc.manual_fusion(sd, cfg, {"image": image, "input_ids": ids})
    rows = ~pad
    diffs = {"logits": (logits.double() - man["logits"]).abs().max().item(),
             "probs": (probs.double() - man["probs"]).abs().max().item(),
             "cross_attn_weights": (w.double()[rows] - man["cross_attn_weights"][rows])
             .abs().max().item()}
    assert max(diffs.values()) < 1e-4, diffs
    with open(model_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    tensors = [("image", image.contiguous()), ("input_ids", ids.contiguous()),
               ("labels", ds.labels[idx].contiguous()), ("template", ds.template[idx].contiguous()),
               ("logits", logits.contiguous()), ("probs", probs.contiguous()),
               ("cross_attn_weights", w.contiguous()),
               ("compare_mask", (~pad).to(torch.uint8).contiguous())]
    meta = {
        "shapes.model": os.path.basename(model_path),
        "shapes.model_sha256": sha,
        "shapes.val_questions": json.dumps(idx.tolist()),
        "shapes.questions": json.dumps([ds.question(q) for q in idx.tolist()]),
        "shapes.templates": json.dumps(ds.templates),
        "shapes.about": ("%d validation questions (%s, seed %s): image = the preprocessed "
                         "scene, labels = the true answers; logits/probs/cross_attn_weights = "
                         "PyTorch %s on the F16 model file loaded back (cross_attn_weights: "
                         "last fusion layer's text_to_image attention averaged over heads; "
                         "compare_mask [B,T] 0 = padded token row, not compared); float64 "
                         "forward agrees to %.1e"
                         % (count, os.path.basename(ds.path), ds.meta.get("shapes.seed", "?"),
                            torch.__version__, max(diffs.values()))),
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_safetensors(path, tensors, meta)
    back, back_meta = read_safetensors(path)
    for n, t in tensors:
        assert torch.equal(back[n], t), n
    pred = (logits[:, 0] > 0).to(torch.uint8)
    print("fixture %s: %d questions, %d bytes, %d/%d answered right, float64 max diffs %s, "
          "weights check %.1e" % (path, count, os.path.getsize(path),
                                  int((pred == ds.labels[idx]).sum()), count,
                                  {k: "%.1e" % v for k, v in diffs.items()}, d))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", nargs="+", default=["/work/shapes-data/train.safetensors"],
                   help="one or more dataset files (concatenated)")
    p.add_argument("--init", help="start from this model file's weights (a fine-tune): its "
                   "config is kept, the token embedding grown to the dataset's vocabulary "
                   "(the new words' rows drawn as init_weights does)")
    p.add_argument("--grow-vision-layers", type=int, default=0,
                   help="with --init: this many vision layers, the new ones starting as the identity")
    p.add_argument("--val", default="/work/shapes-data/val.safetensors")
    p.add_argument("--out", default="models/shapes_qa.safetensors")
    p.add_argument("--fixture", help="also write the C++ reference file here")
    p.add_argument("--fixture-count", type=int, default=24)
    p.add_argument("--eval-only", action="store_true",
                   help="no training: evaluate (and --fixture) the model in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="OpenBLAS threads")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch.set_num_threads (intra-op OpenMP): 1, because on a shared "
                        "2-core machine 2 OpenMP threads measured 5-7x slower")
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--nhead", type=int, default=4)
    p.add_argument("--ff", type=int, default=128)
    p.add_argument("--patch-size", type=int, default=8)
    p.add_argument("--vision-layers", type=int, default=2)
    p.add_argument("--text-layers", type=int, default=1)
    p.add_argument("--fusion-layers", type=int, default=1)
    p.add_argument("--fusion-mode", default="bidirectional",
                   choices=["bidirectional", "text_to_image"])
    p.add_argument("--joint-layers", type=int, default=1)
    p.add_argument("--pos-init", default="sincos", choices=["sincos", "normal"],
                   help="position embeddings' initial values: sine/cosine tables or N(0, 0.02)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--steps", type=int, default=0, help="total steps (overrides --epochs)")
    p.add_argument("--batch-scenes", type=int, default=32,
                   help="scenes per batch (all their questions: 4 each)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-floor", type=float, default=0.02, help="final lr / peak lr")
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--aux-weight", type=float, default=0.0,
                   help="weight of the training-only AuxScene loss (needs the dataset's "
                        "objects; 0: none)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--eval-every-epoch", action="store_true")
    p.add_argument("--eval-every", type=int, default=0,
                   help="also evaluate on --val every this many steps (0: never)")
    p.add_argument("--checkpoint", help="save the state_dict here at every --eval-every")
    a = p.parse_args()

    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(a.seed)
    command = " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv)
    print("command: %s" % command)
    blas = blas_library(a.threads)
    print("torch %s, %d torch thread(s), seed %d, BLAS %s (%d threads)"
          % (torch.__version__, a.torch_threads, a.seed, blas, a.threads), flush=True)
    if "openblas" not in blas:
        print("note: not OpenBLAS: training is much slower with the reference BLAS (see "
              "models/README.md)", flush=True)
    t0 = time.time()
    val_ds = Dataset(a.val)
    print("val: %s: %d scenes, %d questions (seed %s)" % (a.val, val_ds.N, val_ds.Q,
                                                           val_ds.meta.get("shapes.seed")))

    if a.eval_only:
        m = load_model(a.out)
        assert m.vocab == val_ds.vocab, "the model's vocabulary is not the dataset's"
        model = VisionTextFusion(m.config)
        model.load_state_dict(m.state_dict)
        r = accuracy_table(val_ds, evaluate(model, val_ds))
        print_table(val_ds, [("file", r)])
        print("stored: %s" % m.metadata.get("vkfuse.validation_accuracy"))
        if a.fixture:
            write_fixture(a.fixture, a.out, val_ds, a.fixture_count)
        return 0

    train_ds = Dataset.concat([Dataset(t) for t in a.train])
    if train_ds.vocab != val_ds.vocab or train_ds.templates != val_ds.templates:
        raise SystemExit("train and val disagree on the vocabulary or the templates")
    print("train: %s: %d scenes, %d questions (seed %s), loaded in %.0fs"
          % (a.train, train_ds.N, train_ds.Q, train_ds.meta.get("shapes.seed"), time.time() - t0))
    if a.init:
        model = init_from(a.init, train_ds.vocab, a.grow_vision_layers)
        cfg = model.cfg
    else:
        cfg = make_config(a, len(train_ds.vocab))
        model = VisionTextFusion(cfg)
        init_weights(model)
        if a.pos_init == "sincos":
            init_positions_sincos(model)
    print("config: %s" % json.dumps(cfg, separators=(",", ":")))
    nparam = sum(p.numel() for p in model.parameters())
    print("parameters: %d" % nparam, flush=True)

    train_s = train(a, model, train_ds, val_ds)
    print("training time: %.0fs" % train_s)

    acc32 = accuracy_table(val_ds, evaluate(model, val_ds))
    # The F16 accuracy goes into the file: evaluate the F16-rounded weights first.
    sd16 = {k: v.detach().to(torch.float16) for k, v in model.state_dict().items()}
    m16 = VisionTextFusion(cfg)
    m16.load_state_dict(sd16)
    pred16 = evaluate(m16, val_ds)
    acc16 = accuracy_table(val_ds, pred16)
    val_note = dict(acc16, dataset=os.path.basename(a.val),
                    seed=val_ds.meta.get("shapes.seed"), weights="F16",
                    float32_weights=acc32["overall"])
    metadata = {
        "vkfuse.image_preprocess": IMAGE_PREPROCESS,
        "vkfuse.trained_with": "%s (seed %d; train %s seed %s, %d scenes, %d questions; "
                               "torch %s, %d torch thread(s), BLAS %s with %d threads)"
                               % (command, a.seed, " + ".join(os.path.basename(t) for t in a.train),
                                  train_ds.meta.get("shapes.seed"), train_ds.N, train_ds.Q,
                                  torch.__version__, a.torch_threads, blas, a.threads),
        "vkfuse.validation_accuracy": val_note,
        "shapes.templates": train_ds.templates,
        "shapes.task": "yes/no questions about a 64x64 scene of coloured shapes: "
                       "probs[0] = P(yes); answer yes iff probs[0] > 0.5",
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    info = export_model(a.out, model.state_dict(), cfg, train_ds.vocab, metadata, dtype="F16")
    print("wrote %(path)s: %(tensors)d tensors, %(parameters)d parameters, %(bytes)d bytes"
          % info)

    # The written file, loaded back into a fresh module.
    m = load_model(a.out)
    assert m.config == cfg and m.vocab == train_ds.vocab
    fresh = VisionTextFusion(m.config)
    fresh.load_state_dict(m.state_dict)
    pred_file = evaluate(fresh, val_ds)
    acc_file = accuracy_table(val_ds, pred_file)
    print("validation accuracy (%s, %d questions):" % (a.val, val_ds.Q))
    print_table(val_ds, [("F32", acc32), ("F16", acc16), ("F16 file", acc_file)])
    assert torch.equal(pred_file, pred16), "the reloaded file predicts differently"
    if a.fixture:
        write_fixture(a.fixture, a.out, val_ds, a.fixture_count)
    print("total time: %.0fs" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
