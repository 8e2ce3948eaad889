"""The float64 forward passes written by hand from a state_dict, which
tools/gen_network_cases.py checks every PyTorch case against (and which measure how far
float32 is from float64): layer norm, linear, multi-head attention, encoder and decoder
layers, and the vision-text fusion model of docs/model-format.md section 2."""

import math

import torch
import torch.nn.functional as F


def m_ln(sd, pre, x, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * sd[pre + "weight"] + sd[pre + "bias"]


def m_lin(sd, pre, x):
    return x @ sd[pre + "weight"].t() + sd[pre + "bias"]


def m_mha(sd, pre, H, q_in, kv_in, attn_mask=None, kpm=None):
    """Returns (output, per-head probabilities [B,H,L,S])."""
    B, L, E = q_in.shape
    S = kv_in.shape[1]
    D = E // H
    wq, wk, wv = sd[pre + "in_proj_weight"].chunk(3)
    bq, bk, bv = sd[pre + "in_proj_bias"].chunk(3)
    q = (q_in @ wq.t() + bq).reshape(B, L, H, D).transpose(1, 2)
    k = (kv_in @ wk.t() + bk).reshape(B, S, H, D).transpose(1, 2)
    v = (kv_in @ wv.t() + bv).reshape(B, S, H, D).transpose(1, 2)
    s = q @ k.transpose(-2, -1) / math.sqrt(D)
    if attn_mask is not None:
        if attn_mask.dtype in (torch.bool, torch.uint8):
            s = s.masked_fill(attn_mask.bool().reshape(1, 1, L, S), float("-inf"))
        else:
            s = s + attn_mask.to(s.dtype).reshape(1, 1, L, S)
    if kpm is not None:
        s = s.masked_fill(kpm.bool().reshape(B, 1, 1, S), float("-inf"))
    p = torch.softmax(s, -1)
    o = (p @ v).transpose(1, 2).reshape(B, L, E)
    return m_lin(sd, pre + "out_proj.", o), p


def m_act(cfg, x):
    return torch.relu(x) if cfg["activation"] == "relu" else F.gelu(x)


def m_ff(sd, pre, cfg, x):
    return m_lin(sd, pre + "linear2.", m_act(cfg, m_lin(sd, pre + "linear1.", x)))


def m_enc_layer(sd, pre, cfg, x, mask=None, kpm=None):
    eps, H = cfg["layer_norm_eps"], cfg["nhead"]
    if cfg["norm_first"]:
        h = m_ln(sd, pre + "norm1.", x, eps)
        x = x + m_mha(sd, pre + "self_attn.", H, h, h, mask, kpm)[0]
        return x + m_ff(sd, pre, cfg, m_ln(sd, pre + "norm2.", x, eps))
    x = m_ln(sd, pre + "norm1.", x + m_mha(sd, pre + "self_attn.", H, x, x, mask, kpm)[0], eps)
    return m_ln(sd, pre + "norm2.", x + m_ff(sd, pre, cfg, x), eps)


def m_dec_layer(sd, pre, cfg, x, mem, tgt_mask=None, memory_mask=None, tkpm=None, mkpm=None,
                cross_p=None):
    """Returns (output, cross-attention probabilities [B,H,L,S]). With cross_p given, the
    cross-attention uses those probabilities instead of computing them (to check them)."""
    eps, H = cfg["layer_norm_eps"], cfg["nhead"]

    def cross(q_in):
        out, p = m_mha(sd, pre + "multihead_attn.", H, q_in, mem, memory_mask, mkpm)
        if cross_p is None:
            return out, p
        B, S, E = mem.shape
        D = E // H
        _, _, wv = sd[pre + "multihead_attn.in_proj_weight"].chunk(3)
        _, _, bv = sd[pre + "multihead_attn.in_proj_bias"].chunk(3)
        v = (mem @ wv.t() + bv).reshape(B, S, H, D).transpose(1, 2)
        o = (cross_p.to(v.dtype) @ v).transpose(1, 2).reshape(B, -1, E)
        return m_lin(sd, pre + "multihead_attn.out_proj.", o), cross_p

    if cfg["norm_first"]:
        h = m_ln(sd, pre + "norm1.", x, eps)
        x = x + m_mha(sd, pre + "self_attn.", H, h, h, tgt_mask, tkpm)[0]
        c, p = cross(m_ln(sd, pre + "norm2.", x, eps))
        x = x + c
        return x + m_ff(sd, pre, cfg, m_ln(sd, pre + "norm3.", x, eps)), p
    x = m_ln(sd, pre + "norm1.", x + m_mha(sd, pre + "self_attn.", H, x, x, tgt_mask, tkpm)[0],
             eps)
    c, p = cross(x)
    x = m_ln(sd, pre + "norm2.", x + c, eps)
    return m_ln(sd, pre + "norm3.", x + m_ff(sd, pre, cfg, x), eps), p


def to64(d):
    return {k: (v.double() if v.is_floating_point() else v) for k, v in d.items()}


def manual_encoder(sd, cfg, inp):
    sd = to64(sd)
    x = inp["src"].double()
    for i in range(cfg["num_layers"]):
        x = m_enc_layer(sd, "layers.%d." % i, cfg, x, inp.get("mask"),
                        inp.get("src_key_padding_mask"))
    if cfg["final_norm"]:
        x = m_ln(sd, "norm.", x, 1e-5)
    return {"output": x}


def manual_decoder(sd, cfg, inp):
    sd = to64(sd)
    x, mem = inp["tgt"].double(), inp["memory"].double()
    for i in range(cfg["num_layers"]):
        x, p = m_dec_layer(sd, "layers.%d." % i, cfg, x, mem, inp.get("tgt_mask"),
                           inp.get("memory_mask"), inp.get("tgt_key_padding_mask"),
                           inp.get("memory_key_padding_mask"))
    if cfg["final_norm"]:
        x = m_ln(sd, "norm.", x, 1e-5)
    return {"output": x, "cross_attn_weights": p.mean(1)}


def manual_fusion(sd, cfg, inp):
    sd = to64(sd)
    E, P = cfg["d_model"], cfg["patch_size"]
    img = inp["image"].double()
    B, C, Hh, W = img.shape
    # Conv2d with stride = kernel = P as a matmul over row-major patches.
    patches = img.reshape(B, C, Hh // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)
    patches = patches.reshape(B, -1, C * P * P)
    v = patches @ sd["vision.patch_embed.weight"].reshape(E, -1).t() + sd["vision.patch_embed.bias"]
    if cfg["use_cls_token"]:
        v = torch.cat([sd["vision.cls_token"].expand(B, 1, E), v], 1)
    v = v + sd["vision.pos_embed"]
    for i in range(cfg["vision_layers"]):
        v = m_enc_layer(sd, "vision.encoder.layers.%d." % i, cfg, v)
    eps = cfg["layer_norm_eps"]
    v = m_ln(sd, "vision.norm.", v, eps)
    ids = inp["input_ids"].long()
    T = ids.shape[1]
    pad = (inp["attention_mask"] == 0) if "attention_mask" in inp else ids == cfg["pad_token_id"]
    t = sd["text.token_embed.weight"][ids] + sd["text.pos_embed"][:, :T]
    for i in range(cfg["text_layers"]):
        t = m_enc_layer(sd, "text.encoder.layers.%d." % i, cfg, t, kpm=pad)
    t = m_ln(sd, "text.norm.", t, eps)
    for i in range(cfg["fusion_layers"]):
        pre = "fusion.layers.%d." % i
        t2, p = m_dec_layer(sd, pre + "text_to_image.", cfg, t, v, tkpm=pad)
        if cfg["fusion_mode"] == "bidirectional":
            v2, _ = m_dec_layer(sd, pre + "image_to_text.", cfg, v, t, mkpm=pad)
        else:
            v2 = v
        t, v = t2, v2
    nv = v.shape[1]
    x = torch.cat([t, v], 1)
    jpad = torch.cat([pad, torch.zeros(B, nv, dtype=torch.bool)], 1)
    for i in range(cfg["joint_layers"]):
        x = m_enc_layer(sd, "joint.layers.%d." % i, cfg, x, kpm=jpad)
    t, v = x[:, :T], x[:, T:]
    if cfg["pooling"] == "cls":
        pt, pv = t[:, 0], v[:, 0]
    else:
        real = (~pad).double().unsqueeze(-1)
        pt, pv = (t * real).sum(1) / real.sum(1), v.mean(1)
    logits = m_lin(sd, "head.", torch.cat([pt, pv], -1))
    act = cfg["output_activation"]
    probs = (torch.sigmoid(logits) if act == "sigmoid" else
             torch.softmax(logits, -1) if act == "softmax" else logits)
    return {"logits": logits, "probs": probs, "cross_attn_weights": p.mean(1)}
