#!/usr/bin/python3
"""Generate the test cases of the standard architectures under tests/data/{vit,clip,bert}/
(spec: "Standard architectures"; docs/standard-models.md) and tests/data/standard-README.md.

Run from the repository root with Debian's PyTorch 1.13 and torchvision 0.14:

    /usr/bin/python3 tools/gen_standard_cases.py

Each case is a directory tests/data/<arch>/<case>/ with three safetensors files, laid out as
tests/data/networks-README.md describes:

  model.safetensors     written BY THE CONVERTER (tools/vkfuse_export.py): `from-hf` from a
                        folder laid out as Hugging Face saves it (config.json with the keys
                        Hugging Face writes, position_ids buffers in the weights, weights in
                        model.safetensors or pytorch_model.bin, preprocessor_config.json), or
                        `from-torchvision` from a real torchvision VisionTransformer's state
                        dict / pickled module
  input.safetensors     the inputs under the spec's names
  expected.safetensors  the outputs (F32); bert also compare_mask U8 [B,T] (0 = padded row of
                        last_hidden_state, not compared)

Where the expected values come from: clip and bert, the modules of tools/hf_models.py
(Hugging Face's CLIPModel / BertModel rewritten with its state_dict() names and forward
math: transformers is not installable here); vit, the real torchvision VisionTransformer.
Each is a fresh module that loads the converted model.safetensors (F16 case: the F16 weights,
so the expected values are those of the rounded weights) and runs on the read-back inputs. A
float64 forward written by hand in this script from the converted weights agrees with every
output (< 2e-5), and so do (clip, bert) the same layers rebuilt as
torch.nn.TransformerEncoderLayer from those weights. Everything is seeded; re-running reproduces the files byte for byte (on the
same PyTorch build).
"""

import collections
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA_DIR = os.path.join(ROOT, "tests", "data")
ARCHS = ("vit", "clip", "bert")
README = os.path.join(DATA_DIR, "standard-README.md")
COMMAND = "/usr/bin/python3 tools/gen_standard_cases.py"
MAX_FILE = 150 * 1024
MAX_TOTAL = 1536 * 1024

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hm  # noqa: E402
import vkfuse_export as ve  # noqa: E402
from safetensors_io import (FROM_NAME_INV, read_safetensors, same, shape_str,  # noqa: E402
                            write_case_files, write_safetensors)

EOS_RULE = "eos_token_id_2"  # see tools/hf_models.py and the README

# ---------------------------------------------------------------------------------------------
# Hugging Face folders.

HF_VERSION_OLD = "4.16.0.dev0"
HF_VERSION = "4.30.2"

# PretrainedConfig.to_dict() of transformers 4.30 (the keys every sub-config of a CLIPConfig
# and every full config carries), with their default values.
PRETRAINED_TO_DICT = {
    "_name_or_path": "", "add_cross_attention": False, "architectures": None,
    "bad_words_ids": None, "begin_suppress_tokens": None, "bos_token_id": None,
    "chunk_size_feed_forward": 0, "cross_attention_hidden_size": None,
    "decoder_start_token_id": None, "diversity_penalty": 0.0, "do_sample": False,
    "early_stopping": False, "encoder_no_repeat_ngram_size": 0, "eos_token_id": None,
    "exponential_decay_length_penalty": None, "finetuning_task": None,
    "forced_bos_token_id": None, "forced_eos_token_id": None,
    "id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "is_decoder": False,
    "is_encoder_decoder": False, "label2id": {"LABEL_0": 0, "LABEL_1": 1},
    "length_penalty": 1.0, "max_length": 20, "min_length": 0, "no_repeat_ngram_size": 0,
    "num_beam_groups": 1, "num_beams": 1, "num_return_sequences": 1,
    "output_attentions": False, "output_hidden_states": False, "output_scores": False,
    "pad_token_id": None, "prefix": None, "problem_type": None, "pruned_heads": {},
    "remove_invalid_values": False, "repetition_penalty": 1.0, "return_dict": True,
    "return_dict_in_generate": False, "sep_token_id": None, "suppress_tokens": None,
    "task_specific_params": None, "temperature": 1.0, "tf_legacy_loss": False,
    "tie_encoder_decoder": False, "tie_word_embeddings": True, "tokenizer_class": None,
    "top_k": 50, "top_p": 1.0, "torch_dtype": None, "torchscript": False,
    "transformers_version": HF_VERSION, "typical_p": 1.0, "use_bfloat16": False}


def full_sub(model_type, values, version=HF_VERSION):
    """A sub-config as CLIPConfig.to_dict() writes it: every PretrainedConfig key."""
    d = dict(PRETRAINED_TO_DICT)
    d.update(values)
    d["model_type"] = model_type
    d["transformers_version"] = version
    return d


def clip_text_values(**kw):
    v = {"attention_dropout": 0.0, "dropout": 0.0, "initializer_factor": 1.0,
         "initializer_range": 0.02, "layer_norm_eps": 1e-5, "projection_dim": 512,
         "hidden_act": "quick_gelu", "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2}
    v.update(kw)
    return v


def clip_vision_values(**kw):
    v = {"attention_dropout": 0.0, "dropout": 0.0, "initializer_factor": 1.0,
         "initializer_range": 0.02, "layer_norm_eps": 1e-5, "projection_dim": 512,
         "hidden_act": "quick_gelu", "num_channels": 3}
    v.update(kw)
    return v


def clip_top(projection_dim, text, vision, name, version=HF_VERSION, **extra):
    d = {"_name_or_path": name, "architectures": ["CLIPModel"], "initializer_factor": 1.0,
         "logit_scale_init_value": 2.6592, "model_type": "clip",
         "projection_dim": projection_dim, "text_config": text, "torch_dtype": "float32",
         "transformers_version": version, "vision_config": vision}
    d.update(extra)
    return d


def bert_full(values, name, architectures=("BertModel",)):
    d = dict(PRETRAINED_TO_DICT)
    d.update({"attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
              "hidden_dropout_prob": 0.1, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
              "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
              "use_cache": True, "gradient_checkpointing": False, "hidden_act": "gelu"})
    d.update(values)
    d.update({"_name_or_path": name, "architectures": list(architectures),
              "model_type": "bert", "torch_dtype": "float32"})
    return d


def write_json(path, d):
    # PretrainedConfig.to_json_string: indent 2, sorted keys, a final newline.
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(d, indent=2, sort_keys=True) + "\n")


def save_weights(directory, sd, kind):
    if kind == "safetensors":
        write_safetensors(os.path.join(directory, "model.safetensors"), list(sd.items()),
                          {"format": "pt"})
    else:
        torch.save(collections.OrderedDict(sd), os.path.join(directory, "pytorch_model.bin"))


# ---------------------------------------------------------------------------------------------
# Weights.


def redraw(module, g):
    """Every parameter redrawn (seeded): LayerNorm weight 1+0.3·N and bias 0.3·N, every bias
    0.3·N, embeddings N(0,1), class/position embeddings 0.5·N, logit_scale log(1/0.07)+0.3·N,
    weights N(0, 1/fan_in)."""
    with torch.no_grad():
        for mname, m in module.named_modules():
            for pname, p in m.named_parameters(recurse=False):
                if isinstance(m, nn.LayerNorm):
                    p.copy_((1.0 if pname == "weight" else 0.0)
                            + 0.3 * torch.randn(p.shape, generator=g))
                elif pname in ("class_embedding", "class_token", "pos_embedding") or (
                        isinstance(m, nn.Embedding) and "position" in mname):
                    p.copy_(0.5 * torch.randn(p.shape, generator=g))
                elif isinstance(m, nn.Embedding):
                    p.copy_(torch.randn(p.shape, generator=g))
                elif pname == "logit_scale":
                    p.copy_(math.log(1 / 0.07) + 0.3 * torch.randn(p.shape, generator=g))
                elif p.dim() == 1:
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))


# ---------------------------------------------------------------------------------------------
# The float64 forwards written by hand from the converted state dict.


def to64(sd):
    return {k: v.double() for k, v in sd.items()}


def m_ln(sd, pre, x, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * sd[pre + "weight"] + sd[pre + "bias"]


def m_lin(sd, pre, x, bias=True):
    y = x @ sd[pre + "weight"].t()
    return y + sd[pre + "bias"] if bias else y


def m_act(name, x):
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name == "gelu_new":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "quick_gelu":
        return x / (1 + torch.exp(-1.702 * x))
    if name == "relu":
        return x.clamp(min=0)
    raise ValueError(name)


def m_attention(q, k, v, H, allowed):
    """q,k,v [B,T,E]; allowed [B,T,T] bool (query row, key column)."""
    B, T, E = q.shape
    D = E // H
    q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in (q, k, v))
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    s = s.masked_fill(~allowed[:, None], float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, E)


def m_clip_encoder(sd, pre, c, x, allowed):
    for i in range(c.num_hidden_layers):
        p = "%s.encoder.layers.%d." % (pre, i)
        h = m_ln(sd, p + "layer_norm1.", x, c.layer_norm_eps)
        a = m_attention(m_lin(sd, p + "self_attn.q_proj.", h),
                        m_lin(sd, p + "self_attn.k_proj.", h),
                        m_lin(sd, p + "self_attn.v_proj.", h), c.num_attention_heads, allowed)
        x = x + m_lin(sd, p + "self_attn.out_proj.", a)
        h = m_ln(sd, p + "layer_norm2.", x, c.layer_norm_eps)
        x = x + m_lin(sd, p + "mlp.fc2.", m_act(c.hidden_act, m_lin(sd, p + "mlp.fc1.", h)))
    return x


def m_pool_positions(ids, eos, rule):
    out = []
    for row in ids.tolist():
        argmax = row.index(max(row))
        first = row.index(eos) if eos in row else 0
        legacy = eos == 2
        all49407 = all(max(r) == 49407 for r in ids.tolist())
        use = {"eos_token_id_2": legacy, "max_49407": all49407, "either": legacy or all49407}[rule]
        out.append(argmax if use else first)
    return out


def manual_clip(sd, cfg, inp, rule=EOS_RULE):
    sd = to64(sd)
    out = {}
    if "pixel_values" in inp:
        v = cfg.vision
        px = inp["pixel_values"].double()
        B = px.shape[0]
        P = v.patch_size
        g = v.image_size // P
        # patches in row-major order, each flattened as (channel, dy, dx) like the conv weight
        patches = px.reshape(B, 3, g, P, g, P).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, -1)
        w = sd["vision_model.embeddings.patch_embedding.weight"].reshape(v.hidden_size, -1)
        x = torch.cat([sd["vision_model.embeddings.class_embedding"].expand(B, 1, -1),
                       patches @ w.t()], 1)
        x = x + sd["vision_model.embeddings.position_embedding.weight"]
        x = m_ln(sd, "vision_model.pre_layrnorm.", x, v.layer_norm_eps)
        x = m_clip_encoder(sd, "vision_model", v, x, torch.ones(B, g * g + 1, g * g + 1,
                                                                 dtype=torch.bool))
        pooled = m_ln(sd, "vision_model.post_layernorm.", x[:, 0], v.layer_norm_eps)
        e = pooled @ sd["visual_projection.weight"].t()
        out["image_embeds"] = e / e.norm(dim=-1, keepdim=True)
    if "input_ids" in inp:
        t = cfg.text
        ids = inp["input_ids"].long()
        B, T = ids.shape
        am = inp.get("attention_mask")
        real = torch.ones(B, T, dtype=torch.bool) if am is None else am != 0
        x = sd["text_model.embeddings.token_embedding.weight"][ids]
        x = x + sd["text_model.embeddings.position_embedding.weight"][:T]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None] & real[:, None, :]
        x = m_clip_encoder(sd, "text_model", t, x, allowed)
        x = m_ln(sd, "text_model.final_layer_norm.", x, t.layer_norm_eps)
        pos = m_pool_positions(ids, t.eos_token_id, rule)
        pooled = torch.stack([x[b, pos[b]] for b in range(B)])
        e = pooled @ sd["text_projection.weight"].t()
        out["text_embeds"] = e / e.norm(dim=-1, keepdim=True)
    if len(out) == 2:
        lpt = out["text_embeds"] @ out["image_embeds"].t() * sd["logit_scale"].exp()
        out["logits_per_image"] = lpt.t()
        out["logits_per_text"] = lpt
    return out


def manual_bert(sd, cfg, inp):
    sd = to64(sd)
    ids = inp["input_ids"].long()
    B, T = ids.shape
    am = inp.get("attention_mask")
    real = torch.ones(B, T, dtype=torch.bool) if am is None else am != 0
    tt = inp.get("token_type_ids")
    tt = torch.zeros(B, T, dtype=torch.long) if tt is None else tt.long()
    x = (sd["embeddings.word_embeddings.weight"][ids]
         + sd["embeddings.token_type_embeddings.weight"][tt]
         + sd["embeddings.position_embeddings.weight"][:T])
    eps = cfg.layer_norm_eps
    x = m_ln(sd, "embeddings.LayerNorm.", x, eps)
    allowed = real[:, None, :].expand(B, T, T)
    for i in range(cfg.num_hidden_layers):
        p = "encoder.layer.%d." % i
        a = m_attention(m_lin(sd, p + "attention.self.query.", x),
                        m_lin(sd, p + "attention.self.key.", x),
                        m_lin(sd, p + "attention.self.value.", x), cfg.num_attention_heads, allowed)
        x = m_ln(sd, p + "attention.output.LayerNorm.", m_lin(sd, p + "attention.output.dense.", a)
                 + x, eps)
        h = m_act(cfg.hidden_act, m_lin(sd, p + "intermediate.dense.", x))
        x = m_ln(sd, p + "output.LayerNorm.", m_lin(sd, p + "output.dense.", h) + x, eps)
    out = {"last_hidden_state": x}
    if "pooler.dense.weight" in sd:
        out["pooler_output"] = torch.tanh(m_lin(sd, "pooler.dense.", x[:, 0]))
    m = real.double().unsqueeze(-1)
    mean = (x * m).sum(1) / m.sum(1)
    out["sentence_embedding"] = mean / mean.norm(dim=-1, keepdim=True)
    return out


def manual_vit(sd, cfg, inp):
    sd = to64(sd)
    px = inp["pixel_values"].double()
    B = px.shape[0]
    P, E, H = cfg["patch_size"], cfg["hidden_dim"], cfg["num_heads"]
    g = cfg["image_size"] // P
    eps = cfg["layer_norm_eps"]
    patches = px.reshape(B, 3, g, P, g, P).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, -1)
    x = patches @ sd["conv_proj.weight"].reshape(E, -1).t() + sd["conv_proj.bias"]
    x = torch.cat([sd["class_token"].expand(B, 1, E), x], 1) + sd["encoder.pos_embedding"]
    allowed = torch.ones(B, g * g + 1, g * g + 1, dtype=torch.bool)
    for i in range(cfg["num_layers"]):
        p = "encoder.layers.encoder_layer_%d." % i
        h = m_ln(sd, p + "ln_1.", x, eps)
        wq, wk, wv = sd[p + "self_attention.in_proj_weight"].chunk(3)
        bq, bk, bv = sd[p + "self_attention.in_proj_bias"].chunk(3)
        a = m_attention(h @ wq.t() + bq, h @ wk.t() + bk, h @ wv.t() + bv, H, allowed)
        x = x + m_lin(sd, p + "self_attention.out_proj.", a)
        h = m_ln(sd, p + "ln_2.", x, eps)
        x = x + m_lin(sd, p + "mlp.3.", m_act("gelu", m_lin(sd, p + "mlp.0.", h)))
    x = m_ln(sd, "encoder.ln.", x, eps)
    pooled = x[:, 0]
    y = pooled
    if cfg["representation_size"] is not None:
        y = torch.tanh(m_lin(sd, "heads.pre_logits.", y))
    return {"logits": m_lin(sd, "heads.head.", y), "pooled": pooled}


# ---------------------------------------------------------------------------------------------
# A second, independent reading: the same layers as torch.nn.TransformerEncoderLayer (CLIP's
# are pre-LN, BERT's post-LN), loaded from the converted state dict, in float32.

NN_ACT = {"gelu": "gelu", "relu": "relu", "quick_gelu": hm.quick_gelu,
          "gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh")}


def nn_layer(sd, E, H, I, act, eps, norm_first, names):
    """names: (q, k, v, out, norm1, linear1, linear2, norm2) prefixes in sd."""
    layer = nn.TransformerEncoderLayer(E, H, I, dropout=0.0, activation=NN_ACT[act],
                                       layer_norm_eps=eps, batch_first=True,
                                       norm_first=norm_first)
    q, k, v, o, n1, l1, l2, n2 = names
    new = {"self_attn.in_proj_weight": torch.cat([sd[q + "weight"], sd[k + "weight"],
                                                  sd[v + "weight"]]),
           "self_attn.in_proj_bias": torch.cat([sd[q + "bias"], sd[k + "bias"], sd[v + "bias"]])}
    for dst, src in (("self_attn.out_proj.", o), ("norm1.", n1), ("linear1.", l1),
                     ("linear2.", l2), ("norm2.", n2)):
        for w in ("weight", "bias"):
            new[dst + w] = sd[src + w]
    layer.load_state_dict(new, strict=True)
    return layer.eval()


def nn_clip(sd, cfg, inp):
    out = {}
    F = torch.nn.functional
    if "pixel_values" in inp:
        v = cfg.vision
        x = F.conv2d(inp["pixel_values"], sd["vision_model.embeddings.patch_embedding.weight"],
                     stride=v.patch_size).flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat([sd["vision_model.embeddings.class_embedding"].expand(B, 1, -1), x], 1)
        x = x + sd["vision_model.embeddings.position_embedding.weight"]
        x = F.layer_norm(x, (v.hidden_size,), sd["vision_model.pre_layrnorm.weight"],
                         sd["vision_model.pre_layrnorm.bias"], v.layer_norm_eps)
        for i in range(v.num_hidden_layers):
            p = "vision_model.encoder.layers.%d." % i
            x = nn_layer(sd, v.hidden_size, v.num_attention_heads, v.intermediate_size,
                         v.hidden_act, v.layer_norm_eps, True,
                         [p + n for n in ("self_attn.q_proj.", "self_attn.k_proj.",
                                          "self_attn.v_proj.", "self_attn.out_proj.",
                                          "layer_norm1.", "mlp.fc1.", "mlp.fc2.",
                                          "layer_norm2.")])(x)
        pooled = F.layer_norm(x[:, 0], (v.hidden_size,), sd["vision_model.post_layernorm.weight"],
                              sd["vision_model.post_layernorm.bias"], v.layer_norm_eps)
        out["image_embeds"] = F.normalize(pooled @ sd["visual_projection.weight"].t(), dim=-1)
    if "input_ids" in inp:
        t = cfg.text
        ids = inp["input_ids"].long()
        B, T = ids.shape
        am = inp.get("attention_mask")
        pad = torch.zeros(B, T, dtype=torch.bool) if am is None else am == 0
        x = (sd["text_model.embeddings.token_embedding.weight"][ids]
             + sd["text_model.embeddings.position_embedding.weight"][:T])
        causal = torch.full((T, T), float("-inf")).triu(1)
        for i in range(t.num_hidden_layers):
            p = "text_model.encoder.layers.%d." % i
            x = nn_layer(sd, t.hidden_size, t.num_attention_heads, t.intermediate_size,
                         t.hidden_act, t.layer_norm_eps, True,
                         [p + n for n in ("self_attn.q_proj.", "self_attn.k_proj.",
                                          "self_attn.v_proj.", "self_attn.out_proj.",
                                          "layer_norm1.", "mlp.fc1.", "mlp.fc2.",
                                          "layer_norm2.")])(x, src_mask=causal,
                                                            src_key_padding_mask=pad)
        x = F.layer_norm(x, (t.hidden_size,), sd["text_model.final_layer_norm.weight"],
                         sd["text_model.final_layer_norm.bias"], t.layer_norm_eps)
        pos = m_pool_positions(ids, t.eos_token_id, EOS_RULE)
        pooled = x[torch.arange(B), torch.tensor(pos)]
        out["text_embeds"] = F.normalize(pooled @ sd["text_projection.weight"].t(), dim=-1)
    return out


def nn_bert(sd, cfg, inp):
    F = torch.nn.functional
    ids = inp["input_ids"].long()
    B, T = ids.shape
    am = inp.get("attention_mask")
    pad = torch.zeros(B, T, dtype=torch.bool) if am is None else am == 0
    tt = inp.get("token_type_ids")
    tt = torch.zeros(B, T, dtype=torch.long) if tt is None else tt.long()
    x = (sd["embeddings.word_embeddings.weight"][ids]
         + sd["embeddings.token_type_embeddings.weight"][tt]
         + sd["embeddings.position_embeddings.weight"][:T])
    x = F.layer_norm(x, (cfg.hidden_size,), sd["embeddings.LayerNorm.weight"],
                     sd["embeddings.LayerNorm.bias"], cfg.layer_norm_eps)
    for i in range(cfg.num_hidden_layers):
        p = "encoder.layer.%d." % i
        x = nn_layer(sd, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
                     cfg.hidden_act, cfg.layer_norm_eps, False,
                     [p + n for n in ("attention.self.query.", "attention.self.key.",
                                      "attention.self.value.", "attention.output.dense.",
                                      "attention.output.LayerNorm.", "intermediate.dense.",
                                      "output.dense.", "output.LayerNorm.")])(
                         x, src_key_padding_mask=pad)
    out = {"last_hidden_state": x}
    if "pooler.dense.weight" in sd:
        out["pooler_output"] = torch.tanh(x[:, 0] @ sd["pooler.dense.weight"].t()
                                          + sd["pooler.dense.bias"])
    return out


# ---------------------------------------------------------------------------------------------
# Cases.

CASES = []


def case(arch, name, about, **kw):
    assert re.fullmatch(r"[A-Za-z0-9_]+", name)
    CASES.append(dict(arch=arch, name=name, about=about, **kw))


def tail_mask(lengths, T, dtype):
    m = torch.zeros(len(lengths), T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        m[b, :n] = 1
    return m.to(dtype)


# ---- clip

case("clip", "both_towers_quick_gelu",
     "both towers, quick_gelu; vision: 16x16 image, 4x4 patches (17 positions), hidden 36 = 12 "
     "heads of 3, 1 layer; text: hidden 40 = 20 heads of 2, 1 layer, eos_token_id 45 that is "
     "not the largest id (rows hold 47/48, so argmax != first eos); padded batch: I64 "
     "attention_mask with zeros, pad ids after eos (row 0: 0, row 1: the eos id itself, row 2: "
     "no padding); weights in model.safetensors with both position_ids buffers; "
     "CLIPImageProcessor preprocessor_config.json (dict size/crop_size)",
     hf=lambda: clip_top(
         24,
         full_sub("clip_text_model", clip_text_values(
             vocab_size=49, hidden_size=40, intermediate_size=52, num_hidden_layers=1,
             num_attention_heads=20, max_position_embeddings=9, bos_token_id=47, eos_token_id=45,
             pad_token_id=0)),
         full_sub("clip_vision_model", clip_vision_values(
             hidden_size=36, intermediate_size=44, num_hidden_layers=1, num_attention_heads=12,
             image_size=16, patch_size=4)),
         "vkfuse-tests/clip-both-towers"),
     weights="safetensors", persistent_position_ids=True,
     preprocessor={"crop_size": {"height": 16, "width": 16}, "do_center_crop": True,
                   "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
                   "do_resize": True, "image_mean": ve.OPENAI_CLIP_MEAN,
                   "image_processor_type": "CLIPImageProcessor",
                   "image_std": ve.OPENAI_CLIP_STD, "resample": 3,
                   "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 16}},
     inputs=lambda g: [
         ("pixel_values", torch.randn(2, 3, 16, 16, generator=g)),
         ("input_ids", torch.tensor([[47, 12, 30, 45, 0, 0, 0, 0],
                                     [47, 3, 48, 45, 45, 45, 45, 45],
                                     [47, 11, 22, 33, 44, 48, 2, 45]], dtype=torch.int64)),
         ("attention_mask", tail_mask([4, 4, 8], 8, torch.int64))])

case("clip", "vision_only_gelu",
     "vision tower alone (pixel_values only -> image_embeds only), gelu (exact erf) in both "
     "towers; 12x12 image, 3x3 patches (17 positions), hidden 44 = 4 heads of 11, 2 layers, "
     "layer_norm_eps 1e-6; weights in pytorch_model.bin with both position_ids buffers; the "
     "older CLIPFeatureExtractor preprocessor_config.json (integer size and crop_size, no "
     "rescale keys)",
     hf=lambda: clip_top(
         20,
         full_sub("clip_text_model", clip_text_values(
             vocab_size=17, hidden_size=8, intermediate_size=12, num_hidden_layers=1,
             num_attention_heads=2, max_position_embeddings=6, hidden_act="gelu",
             eos_token_id=16)),
         full_sub("clip_vision_model", clip_vision_values(
             hidden_size=44, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
             image_size=12, patch_size=3, hidden_act="gelu", layer_norm_eps=1e-6)),
         "vkfuse-tests/clip-vision-only"),
     weights="bin", persistent_position_ids=True,
     preprocessor={"crop_size": 12, "do_center_crop": True, "do_normalize": True,
                   "do_resize": True, "feature_extractor_type": "CLIPFeatureExtractor",
                   "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.25, 0.3],
                   "resample": 3, "size": 14},
     inputs=lambda g: [("pixel_values", torch.randn(3, 3, 12, 12, generator=g))])

case("clip", "text_only_i32_u8",
     "text tower alone (input_ids I32 + attention_mask U8 -> text_embeds only), quick_gelu; "
     "hidden 36 = 12 heads of 3, 2 layers, T 7 < max_position_embeddings 10; eos_token_id 9; "
     "newer Hugging Face layout: config.json in the diff form save_pretrained writes now "
     "(sub-configs hold only what differs from the defaults), no position_ids buffers; no "
     "preprocessor_config.json",
     hf=lambda: {
         "_name_or_path": "vkfuse-tests/clip-text-only", "architectures": ["CLIPModel"],
         "initializer_factor": 1.0, "logit_scale_init_value": 2.6592, "model_type": "clip",
         "projection_dim": 16, "torch_dtype": "float32", "transformers_version": "4.38.2",
         "text_config": {"model_type": "clip_text_model", "vocab_size": 31, "hidden_size": 36,
                         "intermediate_size": 40, "num_hidden_layers": 2,
                         "num_attention_heads": 12, "max_position_embeddings": 10,
                         "eos_token_id": 9, "bos_token_id": 8, "pad_token_id": 1},
         "vision_config": {"model_type": "clip_vision_model", "hidden_size": 8,
                           "intermediate_size": 12, "num_hidden_layers": 1,
                           "num_attention_heads": 2, "image_size": 4, "patch_size": 2}},
     weights="safetensors", persistent_position_ids=False,
     inputs=lambda g: [
         ("input_ids", torch.tensor([[8, 20, 30, 4, 9, 1, 1],
                                     [8, 29, 9, 17, 23, 9, 9]], dtype=torch.int32)),
         ("attention_mask", tail_mask([5, 7], 7, torch.uint8))])

case("clip", "legacy_eos2_bool_mask",
     "legacy EOS rule: text_config.eos_token_id 2 (configs from before transformers 4.31) while "
     "the tokenizer's real end token is the largest id (30 of vocab 31) -> the pooled row is the "
     "argmax of input_ids (the first of equal maxima: row 1 pads with the end token); row 0 holds "
     "id 2 as an ordinary token before its end token; old-style config.json (transformers "
     "4.16-era) whose text_config_dict / vision_config_dict override stale text_config / "
     "vision_config values (hidden_act, layer_norm_eps, eos_token_id): the converter folds them "
     "as CLIPConfig does; both towers, BOOL attention_mask; weights in pytorch_model.bin with "
     "position_ids",
     hf=lambda: clip_top(
         12,
         full_sub("clip_text_model", clip_text_values(
             vocab_size=31, hidden_size=24, intermediate_size=36, num_hidden_layers=2,
             num_attention_heads=6, max_position_embeddings=8, hidden_act="quick_gelu",
             eos_token_id=49407), HF_VERSION_OLD),
         full_sub("clip_vision_model", clip_vision_values(
             hidden_size=20, intermediate_size=28, num_hidden_layers=1, num_attention_heads=5,
             image_size=8, patch_size=4, hidden_act="quick_gelu"), HF_VERSION_OLD),
         "vkfuse-tests/clip-legacy", version=None,
         text_config_dict={"vocab_size": 31, "hidden_size": 24, "intermediate_size": 36,
                           "num_hidden_layers": 2, "num_attention_heads": 6,
                           "max_position_embeddings": 8, "hidden_act": "gelu",
                           "layer_norm_eps": 1e-6, "bos_token_id": 0, "pad_token_id": 1,
                           "eos_token_id": 2},
         vision_config_dict={"hidden_size": 20, "intermediate_size": 28,
                             "num_hidden_layers": 1, "num_attention_heads": 5,
                             "image_size": 8, "patch_size": 4, "hidden_act": "gelu"}),
     weights="bin", persistent_position_ids=True,
     inputs=lambda g: [
         ("pixel_values", torch.randn(2, 3, 8, 8, generator=g)),
         ("input_ids", torch.tensor([[29, 2, 17, 5, 30, 1, 1],
                                     [29, 13, 30, 30, 30, 30, 30],
                                     [29, 4, 6, 8, 10, 12, 30]], dtype=torch.int64)),
         ("attention_mask", tail_mask([5, 3, 7], 7, torch.bool))])

case("clip", "f16_both_towers",
     "written with --dtype F16 (expected from the F16-rounded weights, run in float32); vision "
     "quick_gelu, 16x16 image, 4x4 patches, hidden 60 = 12 heads of 5; text gelu, hidden 44 = 4 "
     "heads of 11, eos_token_id 20 = the largest id (new-style config); padded I64 "
     "attention_mask; weights in model.safetensors with position_ids",
     hf=lambda: clip_top(
         32,
         full_sub("clip_text_model", clip_text_values(
             vocab_size=21, hidden_size=44, intermediate_size=48, num_hidden_layers=1,
             num_attention_heads=4, max_position_embeddings=6, hidden_act="gelu",
             bos_token_id=19, eos_token_id=20, pad_token_id=20)),
         full_sub("clip_vision_model", clip_vision_values(
             hidden_size=60, intermediate_size=68, num_hidden_layers=1, num_attention_heads=12,
             image_size=16, patch_size=4)),
         "vkfuse-tests/clip-f16"),
     weights="safetensors", persistent_position_ids=True, dtype="F16",
     inputs=lambda g: [
         ("pixel_values", torch.randn(3, 3, 16, 16, generator=g)),
         ("input_ids", torch.tensor([[19, 5, 7, 20, 20, 20],
                                     [19, 3, 1, 4, 1, 20]], dtype=torch.int64)),
         ("attention_mask", tail_mask([4, 6], 6, torch.int64))])

# ---- bert

case("bert", "padded_token_types_gelu",
     "BertForPreTraining checkpoint: `bert.` prefix on every BertModel tensor and the `cls.*` "
     "pretraining heads (dropped by the converter), position_ids buffer; gelu, hidden 44 = 4 "
     "heads of 11, 2 layers, pooler; padded batch (I64 attention_mask with zeros, pad id 0), "
     "I64 token_type_ids (sentence pairs: 0 then 1); weights in model.safetensors; full "
     "config.json",
     hf=lambda: bert_full({"vocab_size": 40, "hidden_size": 44, "num_hidden_layers": 2,
                           "num_attention_heads": 4, "intermediate_size": 60,
                           "max_position_embeddings": 16, "hidden_act": "gelu"},
                          "vkfuse-tests/bert-pretraining", ("BertForPreTraining",)),
     weights="safetensors", persistent_position_ids=True, pooler=True, prefix="bert.",
     cls_heads=True,
     inputs=lambda g: [
         ("input_ids", torch.tensor([[2, 17, 9, 33, 3, 21, 8, 3, 0],
                                     [2, 5, 3, 39, 12, 3, 0, 0, 0],
                                     [2, 30, 31, 32, 3, 11, 22, 14, 3]], dtype=torch.int64)),
         ("attention_mask", tail_mask([8, 6, 9], 9, torch.int64)),
         ("token_type_ids", torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 0],
                                          [0, 0, 0, 1, 1, 1, 0, 0, 0],
                                          [0, 0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.int64))])

case("bert", "no_pooler_gelu_new",
     "BertModel(add_pooling_layer=False): no pooler.* tensors, so no pooler_output; gelu_new "
     "(tanh form), hidden 36 = 6 heads of 6, 2 layers, layer_norm_eps 1e-7; I32 input_ids, U8 "
     "attention_mask, no token_type_ids (all 0); weights in pytorch_model.bin with "
     "position_ids; config.json in the short diff form of a sentence-transformers model "
     "(position_embedding_type and type_vocab_size absent: defaults)",
     hf=lambda: {"_name_or_path": "vkfuse-tests/minilm-like", "architectures": ["BertModel"],
                 "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
                 "hidden_act": "gelu_new", "hidden_dropout_prob": 0.1, "hidden_size": 36,
                 "initializer_range": 0.02, "intermediate_size": 48, "layer_norm_eps": 1e-7,
                 "max_position_embeddings": 12, "model_type": "bert", "num_attention_heads": 6,
                 "num_hidden_layers": 2, "pad_token_id": 0, "transformers_version": "4.8.2",
                 "use_cache": True, "vocab_size": 33},
     weights="bin", persistent_position_ids=True, pooler=False,
     inputs=lambda g: [
         ("input_ids", torch.tensor([[2, 10, 20, 30, 3, 0, 0],
                                     [2, 7, 7, 7, 7, 31, 3]], dtype=torch.int32)),
         ("attention_mask", tail_mask([5, 7], 7, torch.uint8))])

case("bert", "relu_heads20",
     "relu, hidden 60 = 20 heads of 3, 1 layer, pooler, type_vocab_size 3; BOOL attention_mask, "
     "I32 token_type_ids (0, 1, 2); the weights also hold the embeddings.token_type_ids buffer "
     "(dropped); weights in model.safetensors; full config.json",
     hf=lambda: bert_full({"vocab_size": 29, "hidden_size": 60, "num_hidden_layers": 1,
                           "num_attention_heads": 20, "intermediate_size": 68,
                           "max_position_embeddings": 10, "type_vocab_size": 3,
                           "hidden_act": "relu"}, "vkfuse-tests/bert-relu"),
     weights="safetensors", persistent_position_ids=True, pooler=True, token_type_buffer=True,
     inputs=lambda g: [
         ("input_ids", torch.tensor([[2, 4, 8, 15, 16, 23, 3, 0],
                                     [2, 28, 27, 3, 0, 0, 0, 0]], dtype=torch.int32)),
         ("attention_mask", tail_mask([7, 4], 8, torch.bool)),
         ("token_type_ids", torch.tensor([[0, 0, 1, 1, 2, 2, 2, 0],
                                          [0, 1, 1, 2, 0, 0, 0, 0]], dtype=torch.int32))])

# ---- vit

case("vit", "heads12_state_dict",
     "torchvision VisionTransformer(image_size=16, patch_size=4, num_layers=2, num_heads=12, "
     "hidden_dim=36, mlp_dim=44, num_classes=10): 12 heads of 3, no representation_size; its "
     "state_dict() saved with torch.save and converted with `--num-heads 12 --preprocess JSON` "
     "(bilinear resize of the shortest edge to 18, centre crop 16, ImageNet mean/std)",
     tv=dict(image_size=16, patch_size=4, num_layers=2, num_heads=12, hidden_dim=36, mlp_dim=44,
             num_classes=10),
     source="state_dict",
     preprocess={"shortest_edge": 18, "crop": [16, 16], "resample": "bilinear",
                 "rescale_factor": 1 / 255, "mean": ve.IMAGENET_MEAN, "std": ve.IMAGENET_STD},
     inputs=lambda g: [("pixel_values", torch.randn(2, 3, 16, 16, generator=g))])

case("vit", "pre_logits_pickled",
     "torchvision VisionTransformer(image_size=12, patch_size=3, num_layers=2, num_heads=5, "
     "hidden_dim=40, mlp_dim=56, num_classes=6, representation_size=28): heads.pre_logits + "
     "tanh before heads.head; the whole module pickled with torch.save(model) and converted "
     "with --unsafe-pickle (no image_preprocess: not a torchvision builder's size)",
     tv=dict(image_size=12, patch_size=3, num_layers=2, num_heads=5, hidden_dim=40, mlp_dim=56,
             num_classes=6, representation_size=28),
     source="pickle",
     inputs=lambda g: [("pixel_values", torch.randn(3, 3, 12, 12, generator=g))])


# ---------------------------------------------------------------------------------------------
# Running a case.


def build_hf(c, hf_cfg):
    if c["arch"] == "clip":
        cfg = hm.clip_config(hf_cfg)
        return cfg, hm.CLIPModel(cfg, persistent_position_ids=c["persistent_position_ids"],
                                 eos_rule=EOS_RULE)
    cfg = hm.bert_config(hf_cfg)
    return cfg, hm.BertModel(cfg, add_pooling_layer=c["pooler"],
                             persistent_position_ids=c["persistent_position_ids"])


def run_hf(arch, model, inp):
    with torch.no_grad():
        if arch == "clip":
            return model(input_ids=inp.get("input_ids"), pixel_values=inp.get("pixel_values"),
                         attention_mask=inp.get("attention_mask"))
        last, pooled = model(inp["input_ids"], inp.get("attention_mask"), inp.get("token_type_ids"))
        out = {"last_hidden_state": last}
        if pooled is not None:
            out["pooler_output"] = pooled
        out["sentence_embedding"] = hm.sentence_embedding(last, inp.get("attention_mask"))
        return out


def hf_folder(c, g, tmp):
    """Writes the Hugging Face folder of case c into tmp; returns (reference module, notes)."""
    hf_cfg = c["hf"]()
    write_json(os.path.join(tmp, "config.json"), hf_cfg)
    cfg, model = build_hf(c, hf_cfg)
    redraw(model, g)
    model.eval()
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    n_pos = sum(k.endswith("position_ids") for k in sd)
    assert n_pos == (0 if not c["persistent_position_ids"] else 2 if c["arch"] == "clip" else 1)
    if c.get("token_type_buffer"):
        sd["embeddings.token_type_ids"] = model.embeddings.token_type_ids.clone()
    if c.get("prefix"):
        sd = collections.OrderedDict((c["prefix"] + k, v) for k, v in sd.items())
    if c.get("cls_heads"):  # BertForPreTraining's heads (BertPreTrainingHeads)
        H, V = hf_cfg["hidden_size"], hf_cfg["vocab_size"]
        heads = [("cls.predictions.bias", (V,)), ("cls.predictions.transform.dense.weight", (H, H)),
                 ("cls.predictions.transform.dense.bias", (H,)),
                 ("cls.predictions.transform.LayerNorm.weight", (H,)),
                 ("cls.predictions.transform.LayerNorm.bias", (H,)),
                 ("cls.predictions.decoder.weight", (V, H)),
                 ("cls.seq_relationship.weight", (2, H)), ("cls.seq_relationship.bias", (2,))]
        for n, s in heads:
            sd[n] = torch.randn(s, generator=g)
    save_weights(tmp, sd, c["weights"])
    if c.get("preprocessor"):
        write_json(os.path.join(tmp, "preprocessor_config.json"), c["preprocessor"])
    return cfg, model


def tv_source(c, g, tmp):
    import torchvision
    model = torchvision.models.VisionTransformer(**c["tv"])
    redraw(model, g)
    model.eval()
    if c["source"] == "pickle":
        path = os.path.join(tmp, "vit_model.pt")
        torch.save(model, path)
    else:
        path = os.path.join(tmp, "vit_state_dict.pth")
        torch.save(model.state_dict(), path)
    return model, path


def run_vit(model, inp):
    """logits from the module's forward; pooled = the class token of encoder's output (after
    encoder.ln), captured by a hook on model.encoder."""
    got = {}
    h = model.encoder.register_forward_hook(lambda m, a, o: got.__setitem__("enc", o))
    try:
        logits = model(inp["pixel_values"])
    finally:
        h.remove()
    return {"logits": logits.detach(), "pooled": got["enc"][:, 0].detach()}


def compare(outs, man, rows=None):
    """max |torch - float64| per output (rows of last_hidden_state: only compared ones)."""
    diffs = {}
    assert sorted(outs) == sorted(man), (sorted(outs), sorted(man))
    for k in outs:
        a, b = outs[k].double(), man[k]
        if k == "last_hidden_state" and rows is not None:
            a, b = a[rows], b[rows]
        d = (a - b).abs().max().item()
        assert d < 2e-5, (k, d)
        diffs[k] = d
    return diffs


def run_case(c, seed):
    arch, name = c["arch"], c["name"]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1000)
    notes, log_lines = [], []
    d = os.path.join(DATA_DIR, arch, name)
    os.makedirs(d)
    model_path = os.path.join(d, "model.safetensors")
    dtype = c.get("dtype", "F32")

    def log(msg):
        log_lines.append(msg)

    with tempfile.TemporaryDirectory() as tmp:
        if arch == "vit":
            ref, src = tv_source(c, g, tmp)
            kw = {"unsafe_pickle": True} if c["source"] == "pickle" else {
                "num_heads": c["tv"]["num_heads"]}
            info = ve.convert_torchvision(src, model_path, dtype, preprocess=c.get("preprocess"),
                                          log=log, **kw)
        else:
            cfg, ref = hf_folder(c, g, tmp)
            info = ve.convert_hf(tmp, model_path, dtype, log=log)
    inputs = c["inputs"](g)
    inp = dict(inputs)

    # The converted file, read back, in a fresh module.
    mb, mmd = read_safetensors(model_path)
    vcfg = json.loads(mmd["vkfuse.config"])
    assert vcfg == info["config"] and vcfg["arch"] == arch
    for k, t in mb.items():
        assert FROM_NAME_INV[t.dtype] == dtype, (k, t.dtype)
    sd32 = {k: v.float() for k, v in mb.items()}
    torch.manual_seed(12345)
    if arch == "vit":
        import torchvision
        kw = {k: vcfg[k] for k in ("image_size", "patch_size", "num_layers", "num_heads",
                                   "hidden_dim", "mlp_dim", "num_classes", "representation_size")}
        fresh = torchvision.models.VisionTransformer(**kw).eval()
        fresh.load_state_dict(sd32, strict=True)
        outs = run_vit(fresh, inp)  # grad enabled: the ordinary path
        with torch.no_grad():
            fast = run_vit(fresh, inp)
        for k in outs:
            notes.append("no_grad vs grad %s max diff %.1e" % (k, (outs[k] - fast[k]).abs().max()))
        orig = run_vit(ref, inp)
        for k in outs:
            assert same(orig[k], outs[k]), (name, k)  # F32: the converter changed no bit
        man = manual_vit(sd32, ve.check_standard_config(vcfg)[0], inp)
        diffs = compare(outs, man)
        rows = None
    else:
        rcfg, fresh = build_hf(dict(c, persistent_position_ids=False), vcfg)
        fresh.eval()
        fresh.load_state_dict(sd32, strict=True)
        outs = run_hf(arch, fresh, inp)
        if dtype == "F32":
            orig = run_hf(arch, ref, inp)
            for k in outs:
                assert same(orig[k], outs[k]), (name, k)
        else:
            orig = run_hf(arch, ref, inp)
            notes.append("F16 weights vs the F32 originals: %s" % ", ".join(
                "%s %.1e" % (k, (orig[k] - outs[k]).abs().max()) for k in outs))
        rows = None
        if arch == "bert":
            am = inp.get("attention_mask")
            rows = (torch.ones(inp["input_ids"].shape, dtype=torch.bool) if am is None
                    else am != 0)
        man = manual_clip(sd32, rcfg, inp) if arch == "clip" else manual_bert(sd32, rcfg, inp)
        diffs = compare(outs, man, rows)
        nnout = (nn_clip if arch == "clip" else nn_bert)(sd32, rcfg, inp)
        nd = []
        for k, v in nnout.items():
            a, b = v.detach(), outs[k]
            if k == "last_hidden_state":
                a, b = a[rows], b[rows]
            dd = (a - b).abs().max().item()
            assert dd < 2e-5, (name, k, dd)
            nd.append("%s %.1e" % (k, dd))
        notes.append("torch.nn.TransformerEncoderLayer rebuild vs expected: " + ", ".join(nd))
        if arch == "clip" and "input_ids" in inp:
            ids = inp["input_ids"]
            pos = {r: hm.clip_pooled_positions(ids, rcfg.text.eos_token_id, r).tolist()
                   for r in hm.EOS_RULES}
            assert pos[EOS_RULE] == m_pool_positions(ids, rcfg.text.eos_token_id, EOS_RULE)
            others = ["%s: %s" % (r, "same" if pos[r] == pos[EOS_RULE] else pos[r])
                      for r in hm.EOS_RULES if r != EOS_RULE]
            notes.append("pooled text rows %s (rule %s; %s)" % (pos[EOS_RULE], EOS_RULE,
                                                                 "; ".join(others)))
    notes.append("float64 manual vs torch: " + ", ".join("%s %.1e" % kv for kv in diffs.items()))
    expected = [(k, v.float().contiguous()) for k, v in outs.items()]
    for k, v in expected:
        assert torch.isfinite(v).all(), (name, k)
    if arch == "bert":
        expected.append(("compare_mask", rows.to(torch.uint8)))
    write_case_files(d, [("input.safetensors", inputs, None),
                         ("expected.safetensors", expected, None)], MAX_FILE)
    assert os.path.getsize(model_path) <= MAX_FILE, (model_path, os.path.getsize(model_path))
    converter = [line.replace(tmp, "SRC") for line in log_lines]  # the temporary folder
    return notes, converter, vcfg, {k: v for k, v in mmd.items() if k != "vkfuse.config"}


# ---------------------------------------------------------------------------------------------
# README.


def describe(ts):
    return ", ".join("`%s` %s %s" % (n, FROM_NAME_INV[t.dtype], shape_str(t))
                     for n, t in ts.items())


def math_summary(arch, vcfg):
    """The config values that shape the math (the rest of vkfuse.config is config.json)."""
    if arch == "vit":
        return json.dumps({k: v for k, v in vcfg.items() if k != "arch"}, separators=(",", ":"))
    if arch == "bert":
        c = hm.bert_config(vcfg)
        keys = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size",
                "layer_norm_eps"]
        return json.dumps({k: getattr(c, k) for k in keys}, separators=(",", ":"))
    c = hm.clip_config(vcfg)
    tk = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
          "num_attention_heads", "max_position_embeddings", "hidden_act", "layer_norm_eps",
          "eos_token_id"]
    vk = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
          "image_size", "patch_size", "hidden_act", "layer_norm_eps"]
    return json.dumps({"projection_dim": c.projection_dim,
                       "text": {k: getattr(c.text, k) for k in tk},
                       "vision": {k: getattr(c.vision, k) for k in vk}}, separators=(",", ":"))


def write_readme(rows, total, digest):
    L = [
        "# Test cases of the standard architectures: vit, clip, bert",
        "",
        "Generated by `tools/gen_standard_cases.py` with Debian's PyTorch %s and torchvision %s."
        % (torch.__version__, __import__("torchvision").__version__),
        "Regenerate from the repository root with exactly:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        "It rewrites `tests/data/{vit,clip,bert}/` and this file byte for byte (fixed seed per",
        "case, one thread). **The test suite only reads these files; it does not need torch.**",
        "",
        "## Layout",
        "",
        "`tests/data/<arch>/<case>/` holds three safetensors files, as in",
        "`tests/data/networks-README.md`:",
        "",
        "- `model.safetensors`: written **by the converter** (`tools/vkfuse_export.py`), as a",
        "  user makes one: `from-hf` from a temporary folder laid out as Hugging Face saves a",
        "  checkpoint (config.json with the keys Hugging Face writes, `position_ids` buffers in",
        "  the weights, weights in `model.safetensors` or `pytorch_model.bin`, a",
        "  `preprocessor_config.json` for some), or `from-torchvision` from a real torchvision",
        "  `VisionTransformer`. Its `vkfuse.config` is `{\"arch\": ..., <config.json as it is>}`",
        "  (clip/bert) or vkfuse's vit config; `vkfuse.image_preprocess` where the source had",
        "  preprocessing. No case carries `vkfuse.tokenizer` (the vocabularies are tiny and",
        "  random; tokenization is tested elsewhere). Weights F32 except `clip/f16_both_towers`.",
        "- `input.safetensors`: the inputs under the spec's names.",
        "- `expected.safetensors`: the outputs (F32). bert: also `compare_mask` U8 [B,T],",
        "  1 = compare this row of `last_hidden_state`, 0 = a padded token's row (its values",
        "  are what Hugging Face computes there: the padded query still attends to the real",
        "  keys).",
        "  `pooler_output` and `sentence_embedding` are per row and always compared.",
        "",
        "## How the expected values were made and checked",
        "",
        "- clip and bert: `tools/hf_models.py`, Hugging Face's `CLIPModel` / `BertModel`",
        "  rewritten with their `state_dict()` names and forward math (eager attention, eval).",
        "  vit: the real `torchvision.models.VisionTransformer` (torchvision %s)," %
        __import__("torchvision").__version__,
        "  `logits` from its forward and `pooled` the class token of `encoder`'s output (after",
        "  `encoder.ln`), called with grad enabled (the ordinary path; the no_grad fast path is",
        "  compared in the notes).",
        "- Every parameter redrawn (seeded): LayerNorm weight 1+0.3·N(0,1), bias 0.3·N(0,1),",
        "  every bias 0.3·N(0,1), weights N(0,1/fan_in), token/word/type embeddings N(0,1),",
        "  position and class embeddings 0.5·N(0,1), `logit_scale` log(1/0.07)+0.3·N(0,1).",
        "- Expected = a fresh module (another seed) that loads the **converted**",
        "  `model.safetensors` (for F16: the F16 values, run in float32) and runs on the read-back",
        "  inputs. For F32 cases it equals, bit for bit, the original module on its own weights",
        "  (the converter changes no bit).",
        "- A float64 forward written by hand in the script from the converted weights (boolean",
        "  masks with -inf, not Hugging Face's finfo.min) agrees with every output (max abs diff",
        "  < 2e-5, per case in the notes); for bert on the rows `compare_mask` marks.",
        "- clip and bert once more: their layers rebuilt as `torch.nn.TransformerEncoderLayer`",
        "  (pre-LN for CLIP, post-LN for BERT; fused in_proj from q/k/v; causal `src_mask` and",
        "  `src_key_padding_mask`) from the converted weights agree with the expected values",
        "  (< 2e-5, in the notes): PyTorch's own attention confirms tools/hf_models.py's.",
        "",
        "## Semantics these cases pin down",
        "",
        "- **CLIP's pooled text row.** transformers has used three rules: before 4.31 always the",
        "  argmax of `input_ids`; from 4.31 (PR #24777) the argmax when the config's",
        "  `eos_token_id == 2` (the old, wrong default), else the first position of",
        "  `eos_token_id`; the current sources (after the MetaCLIP 2 change, 2025) take the argmax",
        "  when every row's largest id is 49407, else the first `eos_token_id`. These files follow",
        "  the 4.31 rule (`%s` in `tools/hf_models.py`). Every case but" % EOS_RULE,
        "  `clip/legacy_eos2_bool_mask` pools the same rows under the 4.31 rule, the current one",
        "  (`max_49407`) and `either` below (ids stay far below 49407, eos_token_id != 2), and",
        "  where eos_token_id is not the largest id the argmax-only rule of before 4.31 would",
        "  not; the legacy case pools at the argmax, which the current sources would not (they",
        "  would take the first id 2: the notes give both).",
        "  On real CLIP checkpoints (vocab 49408, every row ending in 49407) the rules agree. The",
        "  rule \"argmax when `eos_token_id == 2` **or** every row's largest id is 49407, else the",
        "  first `eos_token_id`\" (`either`) reproduces every case here and both recent",
        "  transformers versions on real tokenizer output. argmax = the first of equal maxima",
        "  (row 1 of the legacy case pads with its end id).",
        "- **Masks.** A nonzero `attention_mask` entry is a real token, whatever its dtype (I64,",
        "  I32, U8, BOOL all appear). CLIP's text tower is causal and never attends to padding;",
        "  BERT's attention is bidirectional over real tokens. No row is fully masked.",
        "- **Config.** `vkfuse.config` holds config.json's keys as Hugging Face wrote them (the",
        "  legacy `text_config_dict` / `vision_config_dict` folded into `text_config` /",
        "  `vision_config`, as CLIPConfig does, and removed); absent keys take Hugging Face's",
        "  defaults (`clip/text_only_i32_u8`, `bert/no_pooler_gelu_new` rely on that).",
        "- **BERT pooler.** `pooler_output` exists only when the file holds `pooler.dense.*`.",
        "- **sentence_embedding**: the mean of `last_hidden_state` over real tokens, divided by",
        "  its L2 norm.",
        "- **vit `image_preprocess`**: `resample` is `\"bilinear\"` in `vit/heads12_state_dict`",
        "  (torchvision's ImageNet recipes resize bilinearly; PIL's filter, as Hugging Face's",
        "  bicubic is PIL's).",
        "",
        "## Cases",
        "",
        "| arch / case | covers | math-relevant config | inputs | expected | bytes "
        "| converter said | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L.append("| " + " | ".join(str(x).replace("|", "/") for x in r) + " |")
    L += ["", "Total: %d bytes. sha256 of all case files: `%s`." % (total, digest), ""]
    with open(README, "w") as f:
        f.write("\n".join(L))


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    torch.set_num_threads(1)
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
        notes, conv, vcfg, meta = run_case(c, seed=9876 + 37 * i)
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
        mb, _ = read_safetensors(os.path.join(d, "model.safetensors"))
        nparam = sum(t.numel() for t in mb.values())
        meta_s = "; ".join("`%s` = `%s`" % kv for kv in meta.items())
        rows.append(["`%s/%s`" % (c["arch"], c["name"]), c["about"],
                     "`%s` (%d parameters, %s)%s" % (math_summary(c["arch"], vcfg), nparam,
                                                     FROM_NAME_INV[next(iter(mb.values())).dtype],
                                                     "; " + meta_s if meta_s else ""),
                     describe(ib), describe(eb), size, "; ".join(conv), "; ".join(notes)])
        print("%-40s %6d bytes  %s" % (c["arch"] + "/" + c["name"], size, "; ".join(notes)))
    write_readme(rows, total, digest.hexdigest())
    print("total %d bytes in %d cases" % (total, len(CASES)))
    assert total < MAX_TOTAL
    print("sha256 of all case files: %s" % digest.hexdigest())


if __name__ == "__main__":
    sys.exit(main())
