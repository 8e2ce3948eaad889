#!/usr/bin/python3
"""Train the shapes CLIP: a small CLIPModel in Hugging Face's layout, contrastively, on shapes
scenes and their captions (tools/shapes_captions.py), then save it as a Hugging Face checkpoint
folder and convert that with the project's own converter (vkfuse_export.convert_hf, what
`vkfuse_export.py from-hf` runs), so arch `clip` and the same code paths serve it.

    build/shapes_dataset --look varied --seed 21 --scenes 100000 --out /work/shapes-data/clip_train.safetensors
    build/shapes_dataset --look varied --seed 22 --scenes 1000 --out /work/shapes-data/clip_val.safetensors
    /usr/bin/python3 tools/train_shapes_clip.py --train /work/shapes-data/clip_train.safetensors \\
        --val /work/shapes-data/clip_val.safetensors --hf-dir /work/runs/shapes_clip_hf \\
        --out models/shapes_clip.safetensors

Tokenizer: CLIP's byte-level BPE (vocab.json, merges.txt), with merges learned here on the
captions' words (standard BPE: the most frequent adjacent pair merged until every word is one
symbol), so every caption word is one token. Loss: symmetric InfoNCE over a batch of scenes
with the learned temperature (logit_scale, clamped at ln 100 as CLIP does); captions of the
batch that are equal count as positives of each other. A scene's caption is its full caption
(70%) or one of its partial captions.
Reproducible: seeded (--seed); 1 torch thread.
"""

import argparse
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hm  # noqa: E402
import hf_tokenizers as ht  # noqa: E402
import shapes_captions as sc  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402
from train_shapes import Dataset, blas_library  # noqa: E402
from vkfuse_export import convert_hf  # noqa: E402

MAX_LEN = 24


def learn_bpe(words):
    """Merges (pairs in order) that make every word of `words` one symbol ('</w>' ends a
    word, as CLIP's vocabulary spells it). Ties go to the lexicographically first pair."""
    b2u = ht.bytes_to_unicode()
    seqs = {w: [b2u[b] for b in w.encode()] for w in words}
    for w in seqs:
        seqs[w][-1] += "</w>"
    merges = []
    while True:
        counts = {}
        for s in seqs.values():
            for p in zip(s, s[1:]):
                counts[p] = counts.get(p, 0) + 1
        if not counts:
            return merges
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        for w, s in seqs.items():
            seqs[w] = ht.merge_pair(s, best)


def write_tokenizer(folder):
    """vocab.json, merges.txt, tokenizer_config.json as CLIPTokenizer saves them: the 256 byte
    symbols, the same with '</w>', the merged symbols, then the two specials (the end-of-text
    token last, so pooling at the largest id and at the first end token agree)."""
    b2u = ht.bytes_to_unicode()
    base = [b2u[b] for b in range(256)]
    vocab = base + [t + "</w>" for t in base]
    merges = learn_bpe(sc.WORDS)
    vocab += [a + b for a, b in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": MAX_LEN,
                   "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                   "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, f, indent=1)
    return len(vocab)


def hf_config(a, vocab_size):
    act = "quick_gelu"
    # A vision tower started from the flagship's is shaped like it: GELU, its feed-forward width.
    vact, vff = ("gelu", a.init_vision_ff) if a.init_vision else (act, 4 * a.dim)
    return {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": a.dim,
        "logit_scale_init_value": 2.6592,
        "text_config": {"vocab_size": vocab_size, "hidden_size": a.dim,
                        "intermediate_size": 4 * a.dim, "projection_dim": a.dim,
                        "num_hidden_layers": a.text_layers, "num_attention_heads": a.heads,
                        "max_position_embeddings": MAX_LEN, "hidden_act": act,
                        "bos_token_id": vocab_size - 2, "eos_token_id": vocab_size - 1,
                        "pad_token_id": vocab_size - 1},
        "vision_config": {"hidden_size": a.dim, "intermediate_size": vff,
                          "projection_dim": a.dim, "num_hidden_layers": a.vision_layers,
                          "num_attention_heads": a.heads, "num_channels": 3, "image_size": 64,
                          "patch_size": 8, "hidden_act": vact}}


PREPROCESSOR = {"image_processor_type": "CLIPImageProcessor", "do_resize": True,
                "size": {"shortest_edge": 64}, "resample": 3, "do_center_crop": True,
                "crop_size": {"height": 64, "width": 64}, "do_rescale": True,
                "rescale_factor": 1 / 255, "do_normalize": True,
                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                "do_convert_rgb": True}


def init_weights(model, std=0.02):
    """CLIP's scheme, simplified: N(0, std) embeddings and matrices, LayerNorms and biases as
    PyTorch makes them."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n == "logit_scale":
                continue
            if p.dim() >= 2 or n.endswith("class_embedding"):
                torch.nn.init.normal_(p, std=std)


def flagship_vision(path):
    """The vision tower of a flagship (vision_text_fusion) model file or trainer checkpoint
    (a state_dict saved by tools/train_shapes.py) as CLIP vision weights. The two compute the
    same tower except that CLIP normalizes the embeddings once more (pre_layrnorm, left at
    PyTorch's initial 1, 0): nn.MultiheadAttention's stacked in_proj split into q, k, v;
    the patch embedding's bias (CLIP's has none) folded into the patches' position
    embeddings; the final LayerNorm as post_layernorm (CLIP applies it to the class token
    only, the flagship to every token, so the class token's value is the same)."""
    if path.endswith(".pt"):
        sd = torch.load(path, map_location="cpu")
    else:
        from vkfuse_export import load_model
        sd = load_model(path).state_dict
    sd = {k: v.float() for k, v in sd.items() if k.startswith("vision.")}
    E = sd["vision.cls_token"].shape[-1]
    out = {}
    pe = "vision_model.embeddings."
    out[pe + "class_embedding"] = sd["vision.cls_token"].reshape(E)
    out[pe + "patch_embedding.weight"] = sd["vision.patch_embed.weight"]
    pos = sd["vision.pos_embed"][0].clone()
    pos[1:] += sd["vision.patch_embed.bias"]
    out[pe + "position_embedding.weight"] = pos
    n = 1 + max(int(k.split(".")[3]) for k in sd if k.startswith("vision.encoder.layers."))
    for i in range(n):
        src, dst = "vision.encoder.layers.%d." % i, "vision_model.encoder.layers.%d." % i
        w, b = sd[src + "self_attn.in_proj_weight"], sd[src + "self_attn.in_proj_bias"]
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            out[dst + "self_attn.%s.weight" % name] = w[j * E:(j + 1) * E]
            out[dst + "self_attn.%s.bias" % name] = b[j * E:(j + 1) * E]
        for a_, b_ in (("self_attn.out_proj", "self_attn.out_proj"), ("linear1", "mlp.fc1"),
                       ("linear2", "mlp.fc2"), ("norm1", "layer_norm1"), ("norm2", "layer_norm2")):
            out[dst + b_ + ".weight"] = sd[src + a_ + ".weight"]
            out[dst + b_ + ".bias"] = sd[src + a_ + ".bias"]
    out["vision_model.post_layernorm.weight"] = sd["vision.norm.weight"]
    out["vision_model.post_layernorm.bias"] = sd["vision.norm.bias"]
    return out, n, sd["vision.encoder.layers.0.linear1.weight"].shape[0]


class Texts:
    """Captions to padded input_ids / attention_mask with the exported tokenizer (the port of
    HF's CLIPTokenizer that vkfuse's C++ tokenizer is tested against), cached per caption."""

    def __init__(self, folder):
        self.tok = ht.from_metadata(ht.tokenizer_metadata(folder, "clip"))
        self.cache = {}

    def __call__(self, captions):
        rows = []
        for c in captions:
            if c not in self.cache:
                self.cache[c] = self.tok.encode(c)
            rows.append(self.cache[c])
        T = max(len(r) for r in rows)
        ids = torch.full((len(rows), T), self.tok.pad_id, dtype=torch.int64)
        mask = torch.zeros((len(rows), T), dtype=torch.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
            mask[i, :len(r)] = 1
        return ids, mask


def embed_images(model, ds, idx, batch=256):
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            out.append(F.normalize(model.get_image_features(ds.image(idx[i:i + batch])), dim=-1))
    return torch.cat(out)


def embed_texts(model, texts, captions, batch=256):
    out = []
    with torch.no_grad():
        for i in range(0, len(captions), batch):
            ids, mask = texts(captions[i:i + batch])
            out.append(F.normalize(model.get_text_features(ids, mask), dim=-1))
    return torch.cat(out)


def retrieval_metrics(img, txt_unique, captions, unique, ks=(1, 5, 10)):
    """Text to image: for each distinct caption, a hit at k when a picture it fully describes
    is among the k best; image to text: a hit when the picture's own caption is among the k
    best of all distinct captions."""
    cap_index = {c: i for i, c in enumerate(unique)}
    own = torch.tensor([cap_index[c] for c in captions])
    sim = txt_unique @ img.t()  # [U, N]
    order = sim.argsort(dim=1, descending=True)
    fits = own[order] == torch.arange(len(unique))[:, None]  # [U, N] in rank order
    r = {}
    for k in ks:
        r["t2i@%d" % k] = fits[:, :k].any(1).float().mean().item()
    order_i = sim.t().argsort(dim=1, descending=True)  # [N, U]
    for k in ks:
        r["i2t@%d" % k] = (order_i[:, :k] == own[:, None]).any(1).float().mean().item()
    return r


def evaluate(model, texts, ds):
    model.eval()
    objs = ds.objects
    captions = [sc.full_caption(objs[i]) for i in range(ds.N)]
    unique = sorted(set(captions))
    img = embed_images(model, ds, torch.arange(ds.N))
    txt = embed_texts(model, texts, unique)
    r = retrieval_metrics(img, txt, captions, unique)
    # Zero-shot: single-object scenes against the twelve single-object captions.
    single = [i for i in range(ds.N) if len(sc.present(objs[i])) == 1]
    if single:
        classes = sc.zero_shot_classes()
        ct = embed_texts(model, texts, classes)
        pred = (img[single] @ ct.t()).argmax(1)
        truth = torch.tensor([classes.index(captions[i]) for i in single])
        r["zero_shot"] = (pred == truth).float().mean().item()
        r["zero_shot_n"] = len(single)
    model.train()
    return r


def write_fixture(path, model_path, hf_dir, ds, count=6):
    """The reference file for the C++ tests: the F16 model file loaded back into the PyTorch
    CLIPModel (tools/hf_models.py), run on `count` validation pictures and their full captions
    (plus one partial caption each, so the texts differ in length)."""
    import hashlib
    from safetensors_io import write_safetensors as write
    from vkfuse_export import load_model
    m = load_model(model_path)
    with open(os.path.join(hf_dir, "config.json")) as f:
        cfg = json.load(f)
    model = hm.CLIPModel(hm.clip_config(cfg), persistent_position_ids=False)
    model.load_state_dict(m.state_dict)
    model.eval()
    texts = Texts(hf_dir)
    idx = torch.arange(count)
    caps = [sc.full_caption(ds.objects[i]) for i in range(count)]
    caps += [sc.partial_captions(ds.objects[i])[0] for i in range(count)]
    ids, mask = texts(caps)
    pixel_values = ds.image(idx)
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=pixel_values, attention_mask=mask)
    with open(model_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    tensors = [("pixel_values", pixel_values.contiguous()), ("input_ids", ids), ("attention_mask", mask)]
    tensors += [(k, out[k].contiguous()) for k in ("image_embeds", "text_embeds", "logits_per_image")]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write(path, tensors, {"shapes.model": os.path.basename(model_path), "shapes.model_sha256": sha,
                          "shapes.captions": json.dumps(caps),
                          "shapes.made_by": "tools/train_shapes_clip.py --fixture (PyTorch %s)" % torch.__version__})
    print("wrote %s: %d pictures, %d captions" % (path, count, len(caps)))


def fmt(r):
    return " ".join("%s %.3f" % (k, v) if isinstance(v, float) else "%s %d" % (k, v)
                    for k, v in r.items())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", nargs="+")
    p.add_argument("--val", required=True)
    p.add_argument("--hf-dir", required=True, help="the Hugging Face checkpoint folder to write")
    p.add_argument("--out", required=True, help="the vkfuse model file (F16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--vision-layers", type=int, default=3)
    p.add_argument("--text-layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--full-caption", type=float, default=0.7,
                   help="fraction of scenes captioned in full (else by a partial caption)")
    p.add_argument("--init-vision", help="start the vision tower from a flagship model file or "
                   "tools/train_shapes.py checkpoint (.pt)")
    p.add_argument("--fixture", help="write the C++ tests' reference file here (after training, or "
                   "with --fixture-only from the model in --out)")
    p.add_argument("--fixture-only", action="store_true")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="OpenBLAS threads")
    a = p.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    command = " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv)
    print("command: %s" % command)
    blas = blas_library(a.threads)
    print("torch %s, seed %d, BLAS %s" % (torch.__version__, a.seed, blas), flush=True)
    t0 = time.time()
    if a.fixture_only:
        if not a.fixture:
            raise SystemExit("--fixture-only needs --fixture")
        write_fixture(a.fixture, a.out, a.hf_dir, Dataset(a.val))
        return 0
    if not a.train:
        raise SystemExit("--train is needed (except with --fixture-only)")
    train = Dataset.concat([Dataset(t) for t in a.train])
    val = Dataset(a.val)
    if train.objects is None or val.objects is None:
        raise SystemExit("the datasets need their `objects` (captions are made from them)")
    print("train: %d scenes; val: %d scenes (loaded in %.0fs)" % (train.N, val.N, time.time() - t0))

    init_sd = None
    if a.init_vision:
        init_sd, a.vision_layers, a.init_vision_ff = flagship_vision(a.init_vision)
    os.makedirs(a.hf_dir, exist_ok=True)
    vocab_size = write_tokenizer(a.hf_dir)
    cfg = hf_config(a, vocab_size)
    with open(os.path.join(a.hf_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(a.hf_dir, "preprocessor_config.json"), "w") as f:
        json.dump(PREPROCESSOR, f, indent=1)
    texts = Texts(a.hf_dir)
    model = hm.CLIPModel(hm.clip_config(cfg), persistent_position_ids=False)
    init_weights(model)
    if init_sd is not None:
        missing = [k for k in init_sd if k not in model.state_dict()]
        assert not missing, missing
        model.load_state_dict(init_sd, strict=False)
        print("vision tower from %s (%d layers)" % (a.init_vision, a.vision_layers))
    nparam = sum(p.numel() for p in model.parameters())
    print("config: %s\nparameters: %d, vocabulary %d" % (json.dumps(cfg), nparam, vocab_size), flush=True)

    # Captions: every scene's full caption and its partial ones, computed once.
    objs = train.objects
    full = [sc.full_caption(objs[i]) for i in range(train.N)]
    partial = [sc.partial_captions(objs[i]) for i in range(train.N)]

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=a.lr)

    def lr_at(step):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        t = (step - a.warmup) / max(1, a.steps - a.warmup)
        return a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    model.train()
    order = rng.permutation(train.N)
    pos = 0
    t_train = time.time()
    history = []
    for step in range(a.steps):
        if pos + a.batch > len(order):
            order, pos = rng.permutation(train.N), 0
        idx = torch.from_numpy(order[pos:pos + a.batch])
        pos += a.batch
        caps = []
        for i in idx.tolist():
            caps.append(full[i] if rng.random() < a.full_caption else partial[i][rng.integers(len(partial[i]))])
        ids, mask = texts(caps)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        img = F.normalize(model.get_image_features(train.image(idx)), dim=-1)
        txt = F.normalize(model.get_text_features(ids, mask), dim=-1)
        scale = model.logit_scale.clamp(max=math.log(100.0)).exp()
        logits = scale * img @ txt.t()  # [B images, B texts]
        cap_id = {c: k for k, c in enumerate(dict.fromkeys(caps))}
        cid = torch.tensor([cap_id[c] for c in caps])
        same = cid[:, None] == cid[None, :]  # equal captions are positives of each other
        neg_inf = torch.finfo(logits.dtype).min

        def multi_pos(lg):
            return (torch.logsumexp(lg, 1) - torch.logsumexp(lg.masked_fill(~same, neg_inf), 1)).mean()

        loss = 0.5 * (multi_pos(logits) + multi_pos(logits.t()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % a.log_every == 0:
            print("step %d/%d loss %.4f scale %.1f lr %.2e elapsed %.0fs"
                  % (step + 1, a.steps, loss.item(), scale.item(), lr_at(step), time.time() - t_train),
                  flush=True)
        if a.eval_every and ((step + 1) % a.eval_every == 0 or step + 1 == a.steps):
            r = evaluate(model, texts, val)
            history.append(dict(step=step + 1, **r))
            print("step %d val %s" % (step + 1, fmt(r)), flush=True)
    train_s = time.time() - t_train
    print("training time: %.0fs" % train_s)

    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(a.hf_dir, "model.safetensors"), list(sd.items()))
    final = history[-1] if history else evaluate(model, texts, val)
    extra = {
        "vkfuse.trained_with": "%s (seed %d; train %s, %d scenes; torch %s, 1 thread, BLAS %s; %.0f s)"
                               % (command, a.seed, " + ".join(os.path.basename(t) for t in a.train),
                                  train.N, torch.__version__, blas, train_s),
        "vkfuse.validation_retrieval": dict(final, dataset=os.path.basename(a.val), scenes=val.N,
                                            weights="F32"),
        "shapes.task": "shapes CLIP: image_embeds and text_embeds of shapes scenes and captions "
                       "(tools/shapes_captions.py)",
    }
    info = convert_hf(a.hf_dir, a.out, dtype="F16", extra_metadata=extra)
    print("wrote %(path)s: %(tensors)d tensors, %(parameters)d parameters, %(bytes)d bytes" % info)
    if a.fixture:
        write_fixture(a.fixture, a.out, a.hf_dir, val)
    print("total time: %.0fs" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
