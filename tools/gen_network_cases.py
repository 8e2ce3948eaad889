#!/usr/bin/python3
"""Generate the network test cases under tests/data/{transformer_encoder,transformer_decoder,
vision_text_fusion}/ (docs/model-format.md, section 2).

Run from the repository root with Debian's PyTorch 1.13 (apt-get install python3-torch):

    /usr/bin/python3 tools/gen_network_cases.py

Each case is a directory tests/data/<arch>/<case>/ with three safetensors files:

  model.safetensors     the module's state_dict() under PyTorch's names (F32), with
                        __metadata__ {"vkfuse.config": <JSON config, every spec key explicit>}
  input.safetensors     the forward's inputs (names as in the spec)
  expected.safetensors  the outputs (F32) and compare_mask U8 (1 = the row is compared; 0 = a
                        padded row, whose values are arbitrary): [B,L] for the rows of output
                        (encoder/decoder), [B,T] for the rows of cross_attn_weights (fusion)

Where the expected values come from: the PyTorch modules of the spec (batch_first=True,
dropout=0, eval mode), called with grad enabled so that PyTorch 1.13 takes its ordinary
(non-"fast path") route; the fast path (torch.no_grad) is run too and compared. A float64
hand-written forward from the state_dict (manual_* below) is checked against every case, the
cross-attention weights are checked by recomputing the last layer's output from them, and a
fresh module loading the written model.safetensors must reproduce expected.safetensors
exactly. The test suite reads the files only; it does not need torch.

Everything is seeded (one seed per case), so re-running reproduces the files byte for byte
(on the same PyTorch build).
"""

import hashlib
import json
import math
import os
import re
import shutil
import sys
import warnings

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = os.path.join(ROOT, "tests", "data")
ARCHS = ("transformer_encoder", "transformer_decoder", "vision_text_fusion")
README = os.path.join(DATA_DIR, "networks-README.md")
COMMAND = "/usr/bin/python3 tools/gen_network_cases.py"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import (FROM_NAME_INV, read_safetensors, same,  # noqa: E402
                            shape_str, write_case_files)

MAX_FILE = 72 * 1024  # the largest, the bidirectional fusion model, is ~67 KB
MAX_TOTAL = 1536 * 1024

# The modules of spec section 2 (encoder_layer, ..., VisionTextFusion) live in
# tools/vkfuse_modules.py, shared with tools/train_shapes.py.
from vkfuse_modules import (VISION_TEXT_FUSION_KEYS, VisionTextFusion,  # noqa: E402
                            make_transformer_decoder, make_transformer_encoder)


def redraw(module, g):
    """Redraw every parameter: PyTorch's defaults (LayerNorm 1/0, zero attention biases,
    identical deep-copied layers, zero cls/pos embeddings) would hide bugs."""
    with torch.no_grad():
        for mname, m in module.named_modules():
            for pname, p in m.named_parameters(recurse=False):
                if isinstance(m, nn.LayerNorm):
                    p.copy_((1.0 if pname == "weight" else 0.0)
                            + 0.3 * torch.randn(p.shape, generator=g))
                elif isinstance(m, nn.Embedding):
                    p.copy_(torch.randn(p.shape, generator=g))
                elif pname in ("cls_token", "pos_embed"):
                    p.copy_(0.5 * torch.randn(p.shape, generator=g))
                elif p.dim() == 1:  # every bias (linear, in_proj, conv)
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
                else:  # weights: N(0, 1/fan_in)
                    fan_in = p[0].numel()
                    p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


# The hand-written float64 forward from the state_dict (manual_*) lives in
# tools/manual_forward.py.
from manual_forward import m_dec_layer, manual_decoder, manual_encoder, manual_fusion, to64  # noqa: E402


# --------------------------------------------------------------------------------------------
# Running the modules, with the last cross-attention captured by hooks.


class CrossCapture:
    """Hooks on a TransformerDecoderLayer: its input and output, and the inputs its
    multihead_attn (the cross-attention) sees (1.13 hooks get positional args only: the layer
    is called as layer(x, memory, **masks), multihead_attn as (x, mem, mem, **masks))."""

    def __init__(self, layer):
        self.layer = layer
        self.handles = [
            layer.register_forward_pre_hook(self._layer_pre),
            layer.register_forward_hook(self._layer_out),
            layer.multihead_attn.register_forward_hook(self._ca_out)]

    def _layer_pre(self, mod, args):
        self.layer_in = args[0].detach().clone()

    def _layer_out(self, mod, args, out):
        self.layer_out = out.detach().clone()

    def _ca_out(self, mod, args, out):
        self.ca_query = args[0].detach().clone()
        self.ca_mem = args[1].detach().clone()
        assert args[2] is args[1]
        self.ca_out = out[0].detach().clone()

    def remove(self):
        for h in self.handles:
            h.remove()

    def weights(self, cfg, memory_mask=None, mkpm=None, tgt_mask=None, tkpm=None):
        """cross_attn_weights [B,L,S] (averaged over heads), verified by recomputing the
        layer's output from the per-head weights."""
        mha = self.layer.multihead_attn
        with torch.no_grad():
            out_h, w_heads = mha(self.ca_query, self.ca_mem, self.ca_mem, attn_mask=memory_mask,
                                 key_padding_mask=mkpm, need_weights=True,
                                 average_attn_weights=False)
            out_a, w_avg = mha(self.ca_query, self.ca_mem, self.ca_mem, attn_mask=memory_mask,
                               key_padding_mask=mkpm, need_weights=True)
        assert torch.allclose(out_h, self.ca_out, atol=1e-6, rtol=0)
        assert torch.equal(out_h, out_a)
        assert torch.allclose(w_avg, w_heads.mean(1), atol=1e-7, rtol=0)
        # Recompute the whole layer (float64) with the cross-attention taken from w_heads.
        sd = to64({k: v.detach() for k, v in self.layer.state_dict().items()})
        x = self.layer_in.double()
        mem = self.ca_mem.double()
        rec, _ = m_dec_layer(sd, "", cfg, x, mem, tgt_mask, memory_mask, tkpm, mkpm,
                             cross_p=w_heads.double())
        d = (rec - self.layer_out.double()).abs().max().item()
        assert d < 1e-4, d
        # ...and the query it saw is what norm_first says it is.
        free, p_free = m_dec_layer(sd, "", cfg, x, mem, tgt_mask, memory_mask, tkpm, mkpm)
        assert (p_free.mean(1) - w_avg.double()).abs().max().item() < 1e-5
        return w_avg.detach(), d


def run_transformer_encoder(model, cfg, inp, capture=True):
    out = model(inp["src"], mask=inp.get("mask"),
                src_key_padding_mask=inp.get("src_key_padding_mask"))
    return {"output": out.detach()}, []


def run_transformer_decoder(model, cfg, inp, capture=True):
    cap = CrossCapture(model.layers[-1])
    try:
        out = model(inp["tgt"], inp["memory"], tgt_mask=inp.get("tgt_mask"),
                    memory_mask=inp.get("memory_mask"),
                    tgt_key_padding_mask=inp.get("tgt_key_padding_mask"),
                    memory_key_padding_mask=inp.get("memory_key_padding_mask"))
    finally:
        cap.remove()
    w, d = cap.weights(cfg, inp.get("memory_mask"), inp.get("memory_key_padding_mask"),
                       inp.get("tgt_mask"), inp.get("tgt_key_padding_mask"))
    return ({"output": out.detach(), "cross_attn_weights": w},
            ["cross_attn_weights verified: last layer recomputed from them, max diff %.1e" % d])


def run_vision_text_fusion(model, cfg, inp, capture=True):
    cap = CrossCapture(model.fusion.layers[-1].text_to_image)
    am = inp.get("attention_mask")
    try:
        logits, probs = model(inp["image"], inp["input_ids"], am)
    finally:
        cap.remove()
    pad = (am == 0) if am is not None else inp["input_ids"] == cfg["pad_token_id"]
    w, d = cap.weights(cfg, tkpm=pad)
    return ({"logits": logits.detach(), "probs": probs.detach(), "cross_attn_weights": w},
            ["cross_attn_weights verified: last text_to_image layer recomputed, max diff %.1e"
             % d])


BUILD = {"transformer_encoder": make_transformer_encoder,
         "transformer_decoder": make_transformer_decoder,
         "vision_text_fusion": VisionTextFusion}
RUN = {"transformer_encoder": run_transformer_encoder,
       "transformer_decoder": run_transformer_decoder,
       "vision_text_fusion": run_vision_text_fusion}
MANUAL = {"transformer_encoder": manual_encoder,
          "transformer_decoder": manual_decoder,
          "vision_text_fusion": manual_fusion}


# --------------------------------------------------------------------------------------------
# Cases.

ENC_KEYS = ["arch", "d_model", "nhead", "dim_feedforward", "num_layers", "activation",
            "layer_norm_eps", "norm_first", "final_norm"]
FUSION_KEYS = VISION_TEXT_FUSION_KEYS

CASES = []


def case(arch, name, about, cfg, inputs):
    assert re.fullmatch(r"[A-Za-z0-9_]+", name), "a gtest-safe case name"
    """inputs: function (generator, cfg) -> list of (name, tensor), in file order."""
    keys = FUSION_KEYS if arch == "vision_text_fusion" else ENC_KEYS
    cfg = dict(arch=arch, **cfg)
    assert sorted(cfg) == sorted(keys), (name, sorted(set(cfg) ^ set(keys)))
    cfg = {k: cfg[k] for k in keys}  # spec order
    CASES.append(dict(arch=arch, name=name, about=about, cfg=cfg, inputs=inputs))


def enc(d_model, nhead, ff, layers, act, norm_first=False, final=False, eps=1e-5):
    return dict(d_model=d_model, nhead=nhead, dim_feedforward=ff, num_layers=layers,
                activation=act, layer_norm_eps=eps, norm_first=norm_first, final_norm=final)


def causal_f32(L):
    return torch.full((L, L), float("-inf")).triu(1)


def tail_padding(B, L, pads):
    """BOOL [B,L], True on the last pads[b] positions of row b."""
    m = torch.zeros(B, L, dtype=torch.bool)
    for b, n in enumerate(pads):
        if n:
            m[b, L - n:] = True
    return m


case("transformer_encoder", "post_norm_relu",
     "2 post-norm layers, relu, no masks",
     enc(16, 2, 32, 2, "relu"),
     lambda g, c: [("src", torch.randn(2, 5, 16, generator=g))])
case("transformer_encoder", "pre_norm_gelu_padding",
     "1 norm_first layer, gelu, final norm, 5 heads of 8; BOOL src_key_padding_mask pads the "
     "last 3 positions of batch row 1",
     enc(40, 5, 24, 1, "gelu", norm_first=True, final=True),
     lambda g, c: [("src", torch.randn(2, 7, 40, generator=g)),
                   ("src_key_padding_mask", tail_padding(2, 7, [0, 3]))])
case("transformer_encoder", "causal_eps1e_6",
     "3 post-norm layers, gelu, 6 heads of 4, F32 causal mask (-inf above the diagonal), "
     "layer_norm_eps 1e-6",
     enc(24, 6, 48, 3, "gelu", eps=1e-6),
     lambda g, c: [("src", torch.randn(1, 6, 24, generator=g)), ("mask", causal_f32(6))])

case("transformer_decoder", "post_norm_relu",
     "2 post-norm layers, relu, no masks",
     enc(16, 2, 32, 2, "relu"),
     lambda g, c: [("tgt", torch.randn(2, 4, 16, generator=g)),
                   ("memory", torch.randn(2, 6, 16, generator=g))])
case("transformer_decoder", "pre_norm_gelu_masks",
     "1 norm_first layer, gelu, final norm; BOOL tgt_key_padding_mask (row 1: last 2 padded), "
     "BOOL memory_key_padding_mask (row 0: last 1, row 1: first 2 padded), F32 causal "
     "tgt_mask, BOOL memory_mask (no row fully masked, also with the padding)",
     enc(24, 3, 40, 1, "gelu", norm_first=True, final=True),
     lambda g, c: [
         ("tgt", torch.randn(2, 5, 24, generator=g)),
         ("memory", torch.randn(2, 7, 24, generator=g)),
         ("tgt_mask", causal_f32(5)),
         ("memory_mask", torch.tensor([[0, 1, 0, 0, 0, 1, 0],
                                       [1, 1, 0, 1, 0, 0, 0],
                                       [0, 0, 0, 0, 0, 0, 0],
                                       [0, 0, 1, 1, 1, 1, 0],
                                       [1, 0, 1, 0, 1, 0, 1]], dtype=torch.bool)),
         ("tgt_key_padding_mask", tail_padding(2, 5, [0, 2])),
         ("memory_key_padding_mask", torch.tensor([[0, 0, 0, 0, 0, 0, 1],
                                                   [1, 1, 0, 0, 0, 0, 0]], dtype=torch.bool))])


def fusion_cfg(**kw):
    return kw


case("vision_text_fusion", "cls_bidirectional_sigmoid",
     "C=3 8x8 image, 4x4 patches (Np=4) + cls token (Nv=5), post-norm gelu, 1 bidirectional "
     "fusion layer, cls pooling, 1 sigmoid output; I64 input_ids with a U8 attention_mask "
     "padding the last 2 tokens of row 1 (the padded ids are not pad_token_id, and row 0 has "
     "pad_token_id 0 at a real position: attention_mask decides)",
     fusion_cfg(d_model=16, nhead=2, dim_feedforward=32, activation="gelu", layer_norm_eps=1e-5,
                norm_first=False, in_channels=3, image_size=8, patch_size=4, use_cls_token=True,
                vision_layers=1, vocab_size=20, max_text_len=6, text_layers=1, pad_token_id=0,
                fusion_layers=1, fusion_mode="bidirectional", joint_layers=1, pooling="cls",
                num_outputs=1, output_activation="sigmoid"),
     lambda g, c: [("image", torch.randn(2, 3, 8, 8, generator=g)),
                   ("input_ids", torch.tensor([[5, 0, 17, 3, 9], [4, 12, 7, 11, 19]],
                                              dtype=torch.int64)),
                   ("attention_mask", torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]],
                                                   dtype=torch.uint8))])
case("vision_text_fusion", "mean_text_to_image_softmax",
     "C=1 6x6 image, 3x3 patches (Nv=4, no cls), pre-norm relu, 3 heads of 4, 2 vision + 2 "
     "text layers, 2 text_to_image fusion layers, mean pooling, 3 softmax outputs; I32 "
     "input_ids, T=4 < max_text_len 6, no attention_mask: pad_token_id 1 ends the row (id 0 "
     "is a real token here)",
     fusion_cfg(d_model=12, nhead=3, dim_feedforward=24, activation="relu", layer_norm_eps=1e-5,
                norm_first=True, in_channels=1, image_size=6, patch_size=3, use_cls_token=False,
                vision_layers=2, vocab_size=16, max_text_len=6, text_layers=2, pad_token_id=1,
                fusion_layers=2, fusion_mode="text_to_image", joint_layers=1, pooling="mean",
                num_outputs=3, output_activation="softmax"),
     lambda g, c: [("image", torch.randn(1, 1, 6, 6, generator=g)),
                   ("input_ids", torch.tensor([[7, 0, 13, 1]], dtype=torch.int32))])


# --------------------------------------------------------------------------------------------


def compare_mask(arch, cfg, inp):
    if arch == "transformer_encoder":
        kpm = inp.get("src_key_padding_mask")
        B, L = inp["src"].shape[:2]
    elif arch == "transformer_decoder":
        kpm = inp.get("tgt_key_padding_mask")
        B, L = inp["tgt"].shape[:2]
    else:
        # Rows of cross_attn_weights [B,T,Nv] for padded text tokens: their queries are the
        # text encoder's padded rows, which 1.13's fast path zeroes (see the README).
        am = inp.get("attention_mask")
        kpm = (am == 0) if am is not None else inp["input_ids"] == cfg["pad_token_id"]
        return (~kpm).to(torch.uint8)
    if kpm is None:
        return torch.ones(B, L, dtype=torch.uint8)
    return (~kpm.bool()).to(torch.uint8)


def run_case(c, seed):
    arch, name, cfg = c["arch"], c["name"], c["cfg"]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1000)
    model = BUILD[arch](cfg)
    redraw(model, g)
    model.eval()
    inputs = c["inputs"](g, cfg)
    inp = dict(inputs)
    notes = []

    # Reference: grad enabled (parameters require grad), so not the 1.13 fast path.
    assert torch.is_grad_enabled()
    outs, n = RUN[arch](model, cfg, inp)
    notes += n
    for k, v in outs.items():
        assert torch.isfinite(v).all(), (name, k)
    cm = compare_mask(arch, cfg, inp)
    rows = cm.bool() if cm is not None else None

    # The fast path (no_grad) gives the same numbers on the compared rows?
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "nested tensors are in prototype stage"
        fast, _ = RUN[arch](model, cfg, inp)
    for k in outs:
        a, b = outs[k], fast[k]
        if rows is not None and a.dim() == 3 and a.shape[:2] == rows.shape:
            pa, pb = a[~rows], b[~rows]
            a, b = a[rows], b[rows]
            if pa.numel():
                notes.append("no_grad padded rows: %s" % (
                    "zeros" if (pb == 0).all() else
                    "equal" if torch.equal(pa, pb) else
                    "differ by %.1e" % (pa - pb).abs().max().item()))
        notes.append("no_grad vs grad %s max diff %.1e" % (k, (a - b).abs().max().item()))

    # The float64 hand-written forward agrees.
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    man = MANUAL[arch](sd, cfg, inp)
    assert sorted(man) == sorted(outs)
    for k in outs:
        a, b = outs[k].double(), man[k]
        if rows is not None and a.dim() == 3 and a.shape[:2] == rows.shape:
            a, b = a[rows], b[rows]
        d = (a - b).abs().max().item()
        assert d < 2e-5, (name, k, d)
        notes.append("float64 manual vs torch %s max diff %.1e" % (k, d))

    # Write.
    expected = list(outs.items())
    if cm is not None:
        expected.append(("compare_mask", cm))
    d = os.path.join(DATA_DIR, arch, name)
    os.makedirs(d)
    meta = {"vkfuse.config": json.dumps(cfg, separators=(",", ":"))}
    model_t = [(k, sd[k].contiguous()) for k in model.state_dict()]  # PyTorch's order
    for k, t in model_t:
        assert t.dtype == torch.float32, k
    files = [("model.safetensors", model_t, meta), ("input.safetensors", inputs, None),
             ("expected.safetensors", expected, None)]
    write_case_files(d, files, MAX_FILE)

    # A fresh module loading the written files reproduces expected.safetensors exactly.
    mb, mmd = read_safetensors(os.path.join(d, "model.safetensors"))
    ib, _ = read_safetensors(os.path.join(d, "input.safetensors"))
    eb, _ = read_safetensors(os.path.join(d, "expected.safetensors"))
    rcfg = json.loads(mmd["vkfuse.config"])
    assert rcfg == cfg and list(rcfg) == list(cfg)
    torch.manual_seed(12345)  # a different init, overwritten by load_state_dict
    m2 = BUILD[arch](rcfg)
    m2.load_state_dict(mb, strict=True)
    m2.eval()
    o2, _ = RUN[arch](m2, rcfg, ib)
    assert sorted(list(o2) + (["compare_mask"] if cm is not None else [])) == sorted(eb)
    for k, v in o2.items():
        assert same(v, eb[k]), (name, k)
    return notes


def write_readme(rows, total):
    L = [
        "# Network test cases: transformer_encoder, transformer_decoder, vision_text_fusion",
        "",
        "Generated by `tools/gen_network_cases.py` with Debian's PyTorch %s. Regenerate from the"
        % torch.__version__,
        "repository root with exactly:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        "It rewrites `tests/data/{transformer_encoder,transformer_decoder,vision_text_fusion}/`",
        "and this file byte for byte (fixed seed per case, one thread). **The test suite only",
        "reads these files; it does not need torch (or Python).** The safetensors reader/writer",
        "is `tools/safetensors_io.py` (shared with `tools/gen_attention_cases.py`).",
        "",
        "## Layout",
        "",
        "`tests/data/<arch>/<case>/` holds three safetensors files (spec",
        "`docs/model-format.md`, sections 1 and 2):",
        "",
        "- `model.safetensors`: the module's `state_dict()` under PyTorch's own names, all F32,",
        "  with `__metadata__` `{\"vkfuse.config\": \"<JSON>\"}`; the JSON holds `arch` and",
        "  **every** config key of the spec explicitly (defaults included), in the spec's order.",
        "- `input.safetensors`: the inputs under the spec's names.",
        "- `expected.safetensors`: the outputs (F32), and `compare_mask` U8: 1 = compare this",
        "  row, 0 = a padded row (spec: \"rows at padded positions are not compared\"; the values",
        "  written there are what PyTorch's ordinary path computes, which are arbitrary).",
        "  transformer_encoder / transformer_decoder: `compare_mask` [B,L] applies to the rows of",
        "  `output` (and of `cross_attn_weights`). vision_text_fusion: `compare_mask` [B,T] applies",
        "  to the rows of `cross_attn_weights` [B,T,Nv] only (`logits`/`probs` are per batch and",
        "  always compared): a padded text token's row is its query, i.e. the text encoder's",
        "  padded row, which 1.13's fast path zeroes (seen: 0.17 apart in",
        "  `cls_bidirectional_sigmoid`). transformer_decoder and vision_text_fusion hold",
        "  `cross_attn_weights` (what `--need-weights` writes).",
        "",
        "## How the expected values were made and checked",
        "",
        "- Modules exactly as spec section 2: `nn.TransformerEncoder(nn.TransformerEncoderLayer(",
        "  d_model, nhead, dim_feedforward, dropout=0, activation, layer_norm_eps,",
        "  batch_first=True, norm_first), num_layers, norm=LayerNorm(d_model) if final_norm)`, the",
        "  decoder likewise, and `VisionTextFusion` in `tools/vkfuse_modules.py` (submodules",
        "  `vision.*`, `text.*`,",
        "  `fusion.layers.{i}.text_to_image/image_to_text`, `joint` = an `nn.TransformerEncoder`",
        "  so its names are `joint.layers.{i}.*`, `head`), whose forward follows the spec's",
        "  pseudo-code line by line. Eval mode.",
        "- Every parameter is redrawn (seeded): LayerNorm weight 1+0.3·N(0,1) and bias",
        "  0.3·N(0,1), every bias (linear, in_proj, conv) 0.3·N(0,1), weights N(0,1/fan_in),",
        "  embeddings N(0,1), cls_token/pos_embed 0.5·N(0,1). PyTorch's defaults (LayerNorm 1/0,",
        "  zero attention biases, zero cls/pos, and *identical* layers, since",
        "  TransformerEncoder deep-copies one layer) would hide bugs.",
        "- Expected = the module called **with grad enabled** (ordinary path, not 1.13's fused",
        "  fast path). The no_grad run is compared too (see quirks).",
        "- A float64 hand-written forward from the state_dict (in the script) agrees with every",
        "  output on the compared rows (max abs diff < 2e-5; the per-case table of diffs is",
        "  printed by the script), which also bounds what float32 rounding does here.",
        "- `cross_attn_weights` [B,L,S]: hooks capture the query/memory that the last layer's",
        "  `multihead_attn` really sees (with norm_first that is `norm2(x)`, not `x`), which is",
        "  re-run with `need_weights=True` (`average_attn_weights=True` for the file, False for",
        "  the check). The check recomputes the last layer's whole output from the per-head",
        "  weights (float64) and matches the layer's real output (< 1e-4, in practice ~1e-7).",
        "  For vision_text_fusion it is the `text_to_image` layer of the last fusion layer,",
        "  [B,T,Nv]; rows of padded text tokens are written as the ordinary path computes them",
        "  and marked 0 in `compare_mask`.",
        "- A fresh module (different seed) loading the written `model.safetensors` and run on",
        "  the read-back `input.safetensors` reproduces `expected.safetensors` bit for bit; every",
        "  file is read back and compared with what was written.",
        "",
        "## PyTorch 1.13 quirks seen",
        "",
        "- **Fast path.** With grad disabled, `nn.TransformerEncoder(Layer)` in eval mode may take",
        "  a fused native path (`torch._transformer_encoder_layer_fwd`), skipped when: norm_first",
        "  (for the encoder-level nested-tensor conversion), an odd `nhead`, a `src_mask`/`mask`,",
        "  or grad enabled with parameters requiring grad. With a `src_key_padding_mask` (and",
        "  even nhead, post-norm, no mask) the encoder converts the batch to a nested tensor and",
        "  pads back with **zeros**, so padded rows come out as 0 instead of the ordinary path's",
        "  values (checked: 0 vs values ~2). The decoder layer has no fast path in 1.13, but its",
        "  self-attention `nn.MultiheadAttention` (query is key is value) takes the native MHA",
        "  fast path under no_grad. These files use the ordinary path; the fast path agrees to",
        "  < 1e-6 on compared rows where it was taken (see the notes column).",
        "- **Padded rows** are computed normally by the ordinary path (a padded query still",
        "  attends to the real keys), so they are finite but meaningless; `compare_mask` marks",
        "  them. No case masks every key of a row (PyTorch would give NaN, the spec zeros; that",
        "  is covered by `tests/data/attention/fully_masked_*`).",
        "- **Mask dtypes.** 1.13's `nn.TransformerEncoder` and `nn.MultiheadAttention` reject a",
        "  uint8 key-padding mask (\"only bool and floating types of key_padding_mask are",
        "  supported\"); BOOL key-padding masks are used here. A float `mask`/`tgt_mask` is added",
        "  to the scores (the causal masks are 0 / -inf); a BOOL `memory_mask` is",
        "  nonzero = not allowed. Key-padding masks merge into the attention mask (OR with BOOL,",
        "  -inf into F32). The fusion model's `attention_mask` is U8 here (nonzero = real token)",
        "  and is turned into the BOOL `pad` before it reaches any PyTorch module.",
        "- `nn.TransformerEncoder(..., norm=LayerNorm(d_model))` as the spec writes it uses",
        "  eps 1e-5 whatever `layer_norm_eps` is (nn.Transformer itself passes layer_norm_eps).",
        "  The cases only use `final_norm` with layer_norm_eps 1e-5, so they do not decide",
        "  which the engine should use. `vision.norm`/`text.norm` use layer_norm_eps (1e-5 in",
        "  both fusion cases too).",
        "- 1.13 forward hooks see positional arguments only; the masks given by keyword to",
        "  `multihead_attn` are not visible to a hook, so the script passes them itself.",
        "",
        "## Cases",
        "",
        "| arch / case | covers | config | inputs | expected | bytes | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L.append("| " + " | ".join(str(x).replace("|", "/") for x in r) + " |")
    L += ["", "Total: %d bytes." % total, ""]
    with open(README, "w") as f:
        f.write("\n".join(L))


def describe(ts):
    return ", ".join("`%s` %s %s" % (n, FROM_NAME_INV[t.dtype], shape_str(t))
                     for n, t in ts.items())


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    torch.set_num_threads(1)  # deterministic reductions
    for a in ARCHS:
        p = os.path.join(DATA_DIR, a)
        if os.path.isdir(p):
            shutil.rmtree(p)
        os.makedirs(p)
    keys = [(c["arch"], c["name"]) for c in CASES]
    assert len(set(keys)) == len(keys)
    rows, total = [], 0
    digest = hashlib.sha256()
    for i, c in enumerate(CASES):
        notes = run_case(c, seed=4321 + 31 * i)
        d = os.path.join(DATA_DIR, c["arch"], c["name"])
        size = 0
        for f in ("model", "input", "expected"):
            with open(os.path.join(d, f + ".safetensors"), "rb") as fh:
                raw = fh.read()
            digest.update(raw)
            size += len(raw)
        total += size
        ib, _ = read_safetensors(os.path.join(d, "input.safetensors"))
        eb, _ = read_safetensors(os.path.join(d, "expected.safetensors"))
        nparam = sum(p.numel() for p in read_safetensors(
            os.path.join(d, "model.safetensors"))[0].values())
        cfg = {k: v for k, v in c["cfg"].items() if k != "arch"}
        rows.append(["`%s/%s`" % (c["arch"], c["name"]), c["about"],
                     "`%s` (%d parameters)" % (json.dumps(cfg, separators=(",", ":")), nparam),
                     describe(ib), describe(eb), size, "; ".join(notes)])
        print("%-50s %6d bytes  %s" % (c["arch"] + "/" + c["name"], size, "; ".join(notes)))
    write_readme(rows, total)
    print("total %d bytes in %d cases" % (total, len(CASES)))
    assert total < MAX_TOTAL
    print("sha256 of all case files: %s" % digest.hexdigest())


if __name__ == "__main__":
    sys.exit(main())
