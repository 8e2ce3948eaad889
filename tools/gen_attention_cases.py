#!/usr/bin/python3
"""Generate the multihead_attention test cases under tests/data/attention/.

Run from the repository root with Debian's PyTorch 1.13 (apt-get install python3-torch):

    /usr/bin/python3 tools/gen_attention_cases.py

Each case is a directory tests/data/attention/<case>/ with three safetensors files:

  model.safetensors     nn.MultiheadAttention.state_dict() under PyTorch's names, with
                        __metadata__ {"vkfuse.config": <JSON config string>}
  input.safetensors     query, key, value (F32); optional key_padding_mask, attn_mask
  expected.safetensors  output, attn_weights (F32; attn_weights averaged over heads)

The format is docs/model-format.md (section 2, arch multihead_attention, and
section 4, attention scores). The test suite reads these files only; it does not need torch.

Where the expected values come from:
  * score "dot": nn.MultiheadAttention(E, H, bias, kdim, vdim, batch_first=True), eval mode,
    need_weights=True, average_attn_weights=True, called with grad enabled so that PyTorch
    takes its ordinary (non-"fast path") route. A hand-written forward (manual_forward below)
    is checked against it on every such case: max abs diff < 1e-6.
  * score "neg_euclidean" / "neg_manhattan": PyTorch has no such option, so the same
    hand-written forward computes them, in float64, from the module's own weights, then the
    result is rounded to float32.
  * Rows whose keys are ALL masked (key_padding_mask and/or attn_mask): PyTorch 1.13 gives NaN
    for the whole query row (softmax of all -inf). The vkfuse spec (section 4) says such a row
    gives zeros instead. The cases "fully_masked_*" and "score_neg_manhattan_masked" therefore
    DELIBERATELY DEPART from PyTorch in those rows: the attention probabilities are zero, so
    the attention result before out_proj is zero, so output = out_proj.bias (zeros without
    bias) and attn_weights = 0 for those rows. The script asserts that PyTorch indeed gives
    NaN exactly in those rows and agrees with the written values everywhere else.

Everything is seeded (one seed per case), so re-running reproduces the files byte for byte
(on the same PyTorch build).
"""

import hashlib
import json
import math
import os
import shutil
import sys
import warnings

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT_DIR = os.path.join(ROOT, "tests", "data", "attention")
COMMAND = "/usr/bin/python3 tools/gen_attention_cases.py"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import (FROM_NAME_INV, read_safetensors,  # noqa: E402
                            shape_str, write_case_files)

# --------------------------------------------------------------------------------------------
# The hand-written forward: spec section 2 + section 4.

def manual_forward(sd, cfg, query, key, value, key_padding_mask=None, attn_mask=None,
                   dtype=torch.float32, zero_fully_masked=True):
    """Multi-head attention from the state_dict, batch_first, like PyTorch 1.13's
    F.multi_head_attention_forward (eval, no dropout). Returns (output, attn_weights averaged
    over heads, fully_masked [B,L] bool). Inputs may be rank 2 (unbatched)."""
    E, H = cfg["embed_dim"], cfg["num_heads"]
    D = E // H
    score = cfg["score"]
    unbatched = query.dim() == 2
    if unbatched:
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    sd = {k: v.to(dtype) for k, v in sd.items()}
    query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
    if "in_proj_weight" in sd:
        wq, wk, wv = sd["in_proj_weight"].chunk(3)
    else:
        wq, wk, wv = sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"]
    if cfg["bias"]:
        bq, bk, bv = sd["in_proj_bias"].chunk(3)
    else:
        bq = bk = bv = None
    q = torch.nn.functional.linear(query, wq, bq)
    k = torch.nn.functional.linear(key, wk, bk)
    v = torch.nn.functional.linear(value, wv, bv)
    B, L, _ = q.shape
    S = k.shape[1]
    # [B, H, L, D]
    q = q.reshape(B, L, H, D).transpose(1, 2)
    k = k.reshape(B, S, H, D).transpose(1, 2)
    v = v.reshape(B, S, H, D).transpose(1, 2)

    scale = 1.0 / math.sqrt(D)
    if score == "dot":
        s = torch.matmul(q / math.sqrt(D), k.transpose(-2, -1))  # as PyTorch 1.13: q / sqrt(D)
    elif score in ("neg_euclidean", "neg_manhattan"):
        diff = q.unsqueeze(-2) - k.unsqueeze(-3)  # [B, H, L, S, D]
        if score == "neg_euclidean":
            dist = diff.pow(2).sum(-1).sqrt()
        else:
            dist = diff.abs().sum(-1)
        s = -scale * dist
    else:
        raise ValueError(score)

    # Masks: bool / uint8 nonzero = not allowed (-inf); float = added.
    add = torch.zeros(B, 1, L, S, dtype=dtype)
    if attn_mask is not None:
        if attn_mask.dtype in (torch.bool, torch.uint8):
            add = add.masked_fill(attn_mask.to(torch.bool).reshape(1, 1, L, S), float("-inf"))
        else:
            add = add + attn_mask.to(dtype).reshape(1, 1, L, S)
    if key_padding_mask is not None:
        add = add.masked_fill(key_padding_mask.to(torch.bool).reshape(B, 1, 1, S), float("-inf"))
    s = s + add
    fully_masked = torch.isneginf(add).all(-1)  # [B, 1, L]
    p = torch.softmax(s, dim=-1)
    if zero_fully_masked:
        p = p.masked_fill(fully_masked.unsqueeze(-1), 0.0)
    o = torch.matmul(p, v)  # [B, H, L, D]
    o = o.transpose(1, 2).reshape(B, L, E)
    out = torch.nn.functional.linear(o, sd["out_proj.weight"], sd.get("out_proj.bias"))
    w = p.sum(dim=1) / H  # [B, L, S], as PyTorch 1.13 averages
    fm = fully_masked.reshape(B, L)
    if unbatched:
        out, w, fm = out[0], w[0], fm[0]
    return out, w, fm


# --------------------------------------------------------------------------------------------
# Cases.

CASES = []


def case(name, about, E, H, L, S, B=1, kdim=None, vdim=None, bias=True, score="dot",
         self_attn=False, kpm=None, attn_mask=None, unbatched=False):
    """kpm / attn_mask: a function (generator, B, L, S) -> tensor, or None."""
    CASES.append(dict(name=name, about=about, E=E, H=H, L=L, S=S, B=B,
                      kdim=kdim if kdim is not None else E, vdim=vdim if vdim is not None else E,
                      bias=bias, score=score, self_attn=self_attn, kpm=kpm,
                      attn_mask=attn_mask, unbatched=unbatched))


def kpm_rows(rows, dtype=torch.bool):
    """key_padding_mask from explicit rows of 0/1 (1 = padded, ignored)."""
    def make(g, B, L, S):
        t = torch.tensor(rows, dtype=torch.uint8)
        assert t.shape == (B, S)
        return t.to(dtype)
    return make


def bool_mask_rows(rows, dtype=torch.bool):
    def make(g, B, L, S):
        t = torch.tensor(rows, dtype=torch.uint8)
        assert t.shape == (L, S)
        return t.to(dtype)
    return make


def causal_bool(g, B, L, S):
    return torch.ones(L, S, dtype=torch.bool).triu(1 + S - L)


def float_mask(neg_inf=()):
    """Random additive float mask, N(0,1), with -inf at the given (l, s) positions."""
    def make(g, B, L, S):
        m = torch.randn(L, S, generator=g)
        for l, s in neg_inf:
            m[l, s] = float("-inf")
        return m
    return make


case("self_attn", "self-attention (query = key = value), packed in_proj_weight",
     E=16, H=2, L=5, S=5, B=2, self_attn=True)
case("cross_kdim_vdim", "cross-attention with kdim=10, vdim=6: separate q/k/v_proj_weight",
     E=24, H=3, L=3, S=7, B=1, kdim=10, vdim=6)
case("no_bias", "bias=False: no in_proj_bias, no out_proj.bias",
     E=16, H=4, L=4, S=6, B=2, bias=False)
case("key_padding_mask", "BOOL key_padding_mask, some keys padded in each batch row but never all",
     E=16, H=2, L=4, S=6, B=3,
     kpm=kpm_rows([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [1, 0, 1, 0, 0, 1]]))
case("fully_masked_kpm",
     "batch row 1 has every key padded: spec zeros (output = out_proj.bias, attn_weights 0); "
     "PyTorch 1.13 gives NaN there",
     E=16, H=2, L=3, S=5, B=2,
     kpm=kpm_rows([[0, 1, 0, 0, 1], [1, 1, 1, 1, 1]]))
case("fully_masked_combined",
     "BOOL attn_mask fully masks query row 0; with key_padding_mask, query row 2 of batch 0 is "
     "fully masked only by the two masks together (spec zeros; PyTorch NaN)",
     E=16, H=2, L=4, S=5, B=2,
     attn_mask=bool_mask_rows([[1, 1, 1, 1, 1], [0, 1, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]]),
     kpm=kpm_rows([[1, 1, 0, 0, 0], [0, 0, 0, 0, 1]]))
case("attn_mask_float", "F32 additive attn_mask (random values, a few -inf, no row all -inf)",
     E=16, H=2, L=5, S=6, B=2, attn_mask=float_mask(neg_inf=[(0, 1), (2, 0), (2, 5), (4, 3)]))
case("attn_mask_bool", "BOOL attn_mask (causal, nonzero = not allowed), self-attention",
     E=16, H=4, L=5, S=5, B=2, self_attn=True, attn_mask=causal_bool)
case("masks_float_and_kpm", "F32 attn_mask together with BOOL key_padding_mask",
     E=16, H=2, L=4, S=6, B=2, attn_mask=float_mask(neg_inf=[(1, 2)]),
     kpm=kpm_rows([[0, 0, 0, 0, 0, 1], [0, 1, 1, 0, 0, 0]]))
case("masks_bool_and_kpm", "BOOL attn_mask together with BOOL key_padding_mask (union)",
     E=16, H=2, L=4, S=6, B=2,
     attn_mask=bool_mask_rows([[0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0],
                               [0, 1, 1, 1, 0, 0]]),
     kpm=kpm_rows([[0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]]))
case("u8_masks", "U8 key_padding_mask and U8 attn_mask, nonzero = masked (PyTorch 1.13 "
     "rejects a uint8 key_padding_mask, so the reference ran with it as bool)",
     E=16, H=2, L=4, S=5, B=2,
     attn_mask=bool_mask_rows([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0],
                               [1, 0, 0, 1, 0]], dtype=torch.uint8),
     kpm=kpm_rows([[0, 0, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.uint8))
case("decode_l1", "L=1 query (decode-like) over S=9 keys",
     E=16, H=2, L=1, S=9, B=2)
case("head_dim8", "head_dim 8 with 3 heads (E=24, H=3), cross-attention",
     E=24, H=3, L=6, S=6, B=1)
case("head_dim12", "head_dim 12 (E=24, H=2), cross-attention",
     E=24, H=2, L=4, S=5, B=2)
case("unbatched", "rank-2 inputs [L,E], [S,E] (B=1), rank-2 outputs, with an F32 attn_mask",
     E=16, H=2, L=4, S=5, unbatched=True, attn_mask=float_mask())
case("score_neg_euclidean", "score neg_euclidean, self-attention",
     E=16, H=2, L=5, S=5, B=2, self_attn=True, score="neg_euclidean")
case("score_neg_euclidean_masked",
     "score neg_euclidean, kdim=10 vdim=6, BOOL key_padding_mask and BOOL attn_mask",
     E=24, H=3, L=3, S=7, B=2, kdim=10, vdim=6, score="neg_euclidean",
     attn_mask=bool_mask_rows([[0, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]),
     kpm=kpm_rows([[0, 0, 0, 0, 0, 1, 1], [0, 1, 0, 0, 0, 0, 0]]))
case("score_neg_manhattan", "score neg_manhattan, cross-attention",
     E=16, H=2, L=4, S=6, B=2, score="neg_manhattan")
case("score_neg_manhattan_masked",
     "score neg_manhattan, F32 attn_mask and BOOL key_padding_mask with batch row 1 fully padded "
     "(spec zeros there)",
     E=16, H=4, L=3, S=5, B=2, score="neg_manhattan", attn_mask=float_mask(neg_inf=[(0, 0)]),
     kpm=kpm_rows([[0, 0, 1, 0, 0], [1, 1, 1, 1, 1]]))


# --------------------------------------------------------------------------------------------

def build(c, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1000)
    E, H, L, S, B = c["E"], c["H"], c["L"], c["S"], c["B"]
    kdim, vdim = c["kdim"], c["vdim"]
    mha = nn.MultiheadAttention(E, H, bias=c["bias"], kdim=kdim, vdim=vdim, batch_first=True)
    with torch.no_grad():
        # PyTorch initialises the biases to zero; make them nonzero so they are tested.
        if c["bias"]:
            mha.in_proj_bias.copy_(torch.randn(3 * E, generator=g) * 0.5)
            mha.out_proj.bias.copy_(torch.randn(E, generator=g) * 0.5)
        # out_proj.weight is small by default init; use a livelier one.
        mha.out_proj.weight.copy_(torch.randn(E, E, generator=g) / math.sqrt(E))
    mha.eval()

    shape = (lambda *d: d[1:]) if c["unbatched"] else (lambda *d: d)
    query = torch.randn(*shape(B, L, E), generator=g)
    if c["self_attn"]:
        assert kdim == vdim == E and L == S
        key = value = query
    else:
        key = torch.randn(*shape(B, S, kdim), generator=g)
        value = torch.randn(*shape(B, S, vdim), generator=g)
    kpm = c["kpm"](g, B, L, S) if c["kpm"] else None
    am = c["attn_mask"](g, B, L, S) if c["attn_mask"] else None
    return mha, query, key, value, kpm, am


def run_case(c, seed):
    name = c["name"]
    mha, query, key, value, kpm, am = build(c, seed)
    E, H = c["E"], c["H"]
    cfg = {"arch": "multihead_attention", "embed_dim": E, "num_heads": H,
           "kdim": c["kdim"], "vdim": c["vdim"], "bias": c["bias"], "score": c["score"]}
    sd = {k: v.detach().clone() for k, v in mha.state_dict().items()}
    expect_names = (["in_proj_weight"] if c["kdim"] == c["vdim"] == E
                    else ["q_proj_weight", "k_proj_weight", "v_proj_weight"])
    expect_names += ["out_proj.weight"]
    if c["bias"]:
        expect_names += ["in_proj_bias", "out_proj.bias"]
    assert sorted(sd) == sorted(expect_names), (name, sorted(sd))

    # PyTorch reference (grad enabled, so not the native fast path). PyTorch 1.13's
    # nn.MultiheadAttention rejects a uint8 key_padding_mask ("only bool and floating types"),
    # while the spec reads U8 masks as nonzero = ignored: give PyTorch the same mask as bool.
    # A uint8 attn_mask it accepts (deprecated) and converts to bool itself.
    t_kpm = kpm.to(torch.bool) if kpm is not None and kpm.dtype == torch.uint8 else kpm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uint8 attn_mask deprecation warning
        t_out, t_w = mha(query, key, value, key_padding_mask=t_kpm, attn_mask=am,
                         need_weights=True, average_attn_weights=True)
    t_out, t_w = t_out.detach(), t_w.detach()

    # Hand-written path in float32 with PyTorch's semantics (NaN kept) and with spec's zeros.
    m_out_nan, m_w_nan, fm = manual_forward(sd, cfg, query, key, value, kpm, am,
                                            zero_fully_masked=False)
    m_out, m_w, fm2 = manual_forward(sd, cfg, query, key, value, kpm, am)
    assert torch.equal(fm, fm2)
    ok = ~fm  # rows not fully masked

    notes = []
    if c["score"] == "dot":
        # 1) The hand-written path reproduces nn.MultiheadAttention (NaNs included).
        assert torch.equal(torch.isnan(t_out), torch.isnan(m_out_nan)), name
        assert torch.equal(torch.isnan(t_w), torch.isnan(m_w_nan)), name
        d_out = (t_out[ok] - m_out[ok]).abs().max().item()
        d_w = (t_w[ok] - m_w[ok]).abs().max().item()
        assert d_out < 1e-6 and d_w < 1e-6, (name, d_out, d_w)
        # 2) PyTorch 1.13 gives NaN exactly in the fully masked rows, finite elsewhere.
        assert torch.isnan(t_out[fm]).all() and torch.isnan(t_w[fm]).all(), name
        assert torch.isfinite(t_out[ok]).all() and torch.isfinite(t_w[ok]).all(), name
        # 3) Expected values: PyTorch's own numbers; spec zeros in fully masked rows.
        out = t_out.clone()
        w = t_w.clone()
        if fm.any():
            out[fm] = mha.out_proj.bias.detach() if c["bias"] else 0.0
            w[fm] = 0.0
            notes.append("%d fully masked row(s): PyTorch NaN, written as spec zeros"
                         % int(fm.sum()))
            assert torch.allclose(out, m_out, atol=1e-6, rtol=0) and \
                torch.allclose(w, m_w, atol=1e-6, rtol=0)
        notes.append("manual vs torch max diff out %.1e w %.1e" % (d_out, d_w))
    else:
        # The same hand-written path, in float64, rounded to float32.
        out64, w64, fm64 = manual_forward(sd, cfg, query, key, value, kpm, am,
                                          dtype=torch.float64)
        assert torch.equal(fm64, fm)
        out, w = out64.to(torch.float32), w64.to(torch.float32)
        d = max((out - m_out).abs().max().item(), (w - m_w).abs().max().item())
        assert d < 1e-5, (name, d)  # float32 and float64 runs agree
        if fm.any():
            assert torch.equal(out[fm], (mha.out_proj.bias.detach() if c["bias"]
                                         else torch.zeros(E)).expand_as(out[fm]))
            assert (w[fm] == 0).all()
            notes.append("%d fully masked row(s): spec zeros" % int(fm.sum()))
        notes.append("float64 vs float32 manual max diff %.1e" % d)

    assert torch.isfinite(out).all() and torch.isfinite(w).all(), name
    # attn_weights rows sum to 1 (or 0 when fully masked).
    sums = w.sum(-1)
    assert torch.allclose(sums[ok], torch.ones_like(sums[ok]), atol=1e-5), name
    assert (sums[fm] == 0).all(), name

    # Shapes of what gets written.
    L, S, B = c["L"], c["S"], c["B"]
    lead = () if c["unbatched"] else (B,)
    assert out.shape == lead + (L, E) and w.shape == lead + (L, S), (name, out.shape, w.shape)

    # Write the three files.
    d = os.path.join(OUT_DIR, name)
    os.makedirs(d)
    meta = {"vkfuse.config": json.dumps(cfg, separators=(",", ":"))}
    model_t = [(k, sd[k].contiguous()) for k in mha.state_dict()]  # PyTorch's order
    input_t = [("query", query), ("key", key), ("value", value)]
    if kpm is not None:
        input_t.append(("key_padding_mask", kpm))
    if am is not None:
        input_t.append(("attn_mask", am))
    expected_t = [("output", out), ("attn_weights", w)]
    files = [("model.safetensors", model_t, meta), ("input.safetensors", input_t, None),
             ("expected.safetensors", expected_t, None)]
    write_case_files(d, files, 12 * 1024 - 1)  # keep every file small

    # Round trip through the files: recompute from what was written.
    mb, mmd = read_safetensors(os.path.join(d, "model.safetensors"))
    ib, _ = read_safetensors(os.path.join(d, "input.safetensors"))
    eb, _ = read_safetensors(os.path.join(d, "expected.safetensors"))
    rcfg = json.loads(mmd["vkfuse.config"])
    assert rcfg == cfg
    r_out, r_w, _ = manual_forward(mb, rcfg, ib["query"], ib["key"], ib["value"],
                                   ib.get("key_padding_mask"), ib.get("attn_mask"),
                                   dtype=torch.float64)
    assert torch.allclose(r_out.float(), eb["output"], atol=2e-6, rtol=0), name
    assert torch.allclose(r_w.float(), eb["attn_weights"], atol=2e-6, rtol=0), name
    # A freshly built module loading model.safetensors gives the same answer (dot cases).
    if c["score"] == "dot":
        m2 = nn.MultiheadAttention(E, H, bias=c["bias"], kdim=c["kdim"], vdim=c["vdim"],
                                   batch_first=True)
        m2.load_state_dict(mb, strict=True)
        m2.eval()
        kb = ib.get("key_padding_mask")
        kb = kb.to(torch.bool) if kb is not None else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o2, w2 = m2(ib["query"], ib["key"], ib["value"], key_padding_mask=kb,
                        attn_mask=ib.get("attn_mask"), need_weights=True)
        assert torch.equal(o2.detach()[ok], eb["output"][ok]), name
        assert torch.equal(w2.detach()[ok], eb["attn_weights"][ok]), name
    return notes


def write_readme(summary):
    lines = [
        "# multihead_attention test cases",
        "",
        "Generated by `tools/gen_attention_cases.py` with Debian's PyTorch %s; the files were"
        % torch.__version__,
        "regenerated with exactly this command, from the repository root:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        "The test suite only reads these files; it does not need torch (or Python).",
        "",
        "Each `<case>/` directory holds three safetensors files (format and names as in",
        "`docs/model-format.md`, sections 1, 2 and 4):",
        "",
        "- `model.safetensors`: `nn.MultiheadAttention(...).state_dict()` under PyTorch's names",
        "  (`in_proj_weight` when kdim == vdim == E, else `q_proj_weight`, `k_proj_weight`,",
        "  `v_proj_weight`; `in_proj_bias` and `out_proj.bias` when bias; `out_proj.weight`), F32,",
        "  with `__metadata__` `{\"vkfuse.config\": \"{\\\"arch\\\":\\\"multihead_attention\\\",...}\"}`",
        "  giving `embed_dim`, `num_heads`, `kdim`, `vdim`, `bias`, `score`.",
        "- `input.safetensors`: `query`, `key`, `value` (F32); optional `key_padding_mask` [B,S]",
        "  (BOOL or U8, nonzero = key ignored) and `attn_mask` [L,S] (F32 added to the scores, or",
        "  BOOL/U8 with nonzero = not allowed).",
        "- `expected.safetensors`: `output` [B,L,E] and `attn_weights` [B,L,S] (F32, probabilities",
        "  averaged over heads, as `need_weights=True, average_attn_weights=True`).",
        "",
        "Where the expected values come from:",
        "",
        "- `score` `dot`: `nn.MultiheadAttention(E, H, bias, kdim, vdim, batch_first=True)` in",
        "  eval mode. The script's hand-written forward is asserted to match it (max abs diff",
        "  < 1e-6) on every dot case.",
        "- `score` `neg_euclidean` / `neg_manhattan` (spec section 4; PyTorch has no such option):",
        "  that hand-written forward, in float64 from the module's own weights, rounded to F32.",
        "- **Fully masked rows** (every key of a query row masked): PyTorch 1.13 returns NaN for",
        "  the whole row of `output` and `attn_weights`. The spec says such a row gives zeros, so",
        "  these files deliberately depart from PyTorch there: `attn_weights` row = 0 and",
        "  `output` row = `out_proj.bias` (the attention result before out_proj is zero).",
        "  Cases: `fully_masked_kpm`, `fully_masked_combined`, `score_neg_manhattan_masked`.",
        "",
        "PyTorch 1.13 mask rules seen while generating (for whoever implements the reference):",
        "",
        "- key_padding_mask is merged into attn_mask first: with a BOOL attn_mask by logical OR,",
        "  with an F32 attn_mask by writing -inf where the key is padded; a BOOL result then",
        "  becomes 0 / -inf and is added to the scores (`baddbmm`, with q divided by",
        "  sqrt(head_dim) before the product); softmax; attn_weights = sum over heads / H.",
        "- nn.MultiheadAttention rejects a uint8 key_padding_mask (\"only bool and floating types",
        "  of key_padding_mask are supported\"); a uint8 attn_mask is accepted with a deprecation",
        "  warning and converted to bool. `u8_masks` was computed with the key_padding_mask as",
        "  bool; the spec reads U8 masks as nonzero = masked.",
        "- A float key_padding_mask is accepted by 1.13 but means different things with",
        "  different attn_masks (added alone; OR-ed as nonzero with a BOOL attn_mask; with an F32",
        "  attn_mask a 0/1 float mask did not mask, and other values raised \"Mask tensor can",
        "  take 0 and 1 values only\"). The spec allows only BOOL/U8, so no case uses it.",
        "",
        "Weights: PyTorch's default init, except that both biases (zero by default) and",
        "`out_proj.weight` are redrawn from a normal distribution so they matter. Inputs and float",
        "masks are N(0,1). Fixed seed per case.",
        "",
        "| case | covers | E | H | head_dim | kdim | vdim | bias | score | query | key | value | key_padding_mask | attn_mask | output | attn_weights |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary:
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    lines.append("")
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    torch.set_num_threads(1)  # deterministic reductions
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(OUT_DIR)
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)
    summary = []
    total = 0
    for i, c in enumerate(CASES):
        notes = run_case(c, seed=1234 + 17 * i)
        d = os.path.join(OUT_DIR, c["name"])
        ib, _ = read_safetensors(os.path.join(d, "input.safetensors"))
        eb, _ = read_safetensors(os.path.join(d, "expected.safetensors"))

        def desc(n):
            if n not in ib:
                return "-"
            t = ib[n]
            return "%s %s" % (FROM_NAME_INV[t.dtype], shape_str(t))
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        total += size
        summary.append([
            "`%s`" % c["name"], c["about"], c["E"], c["H"], c["E"] // c["H"], c["kdim"],
            c["vdim"], "yes" if c["bias"] else "no", c["score"],
            shape_str(ib["query"]), shape_str(ib["key"]), shape_str(ib["value"]),
            desc("key_padding_mask"), desc("attn_mask"),
            shape_str(eb["output"]), shape_str(eb["attn_weights"])])
        print("%-28s %6d bytes  %s" % (c["name"], size, "; ".join(notes)))
    write_readme(summary)
    print("total %d bytes in %d cases" % (total, len(CASES)))
    assert total < 512 * 1024
    digest = hashlib.sha256()
    for n in sorted(names):
        for f in ("model", "input", "expected"):
            with open(os.path.join(OUT_DIR, n, f + ".safetensors"), "rb") as fh:
                digest.update(fh.read())
    print("sha256 of all case files: %s" % digest.hexdigest())


if __name__ == "__main__":
    sys.exit(main())
