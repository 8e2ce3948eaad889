"""The PyTorch modules of the vkfuse model-format spec (docs/model-format.md,
section 2), exactly as the spec builds them: the modules whose state_dict() names a vkfuse
model file uses and whose forward vkfuse matches.

    import sys; sys.path.insert(0, "tools")
    from vkfuse_modules import VisionTextFusion
    model = VisionTextFusion(cfg)            # cfg: the JSON config of arch vision_text_fusion
    logits, probs = model(image, input_ids)  # padding: input_ids == cfg["pad_token_id"]

- make_transformer_encoder(cfg) / make_transformer_decoder(cfg): arch transformer_encoder /
  transformer_decoder (nn.TransformerEncoder / nn.TransformerDecoder, batch_first, dropout 0).
- VisionTextFusion(cfg): arch vision_text_fusion (submodules vision, text, fusion, joint,
  head); forward(image, input_ids, attention_mask=None) -> (logits, probs), following the
  spec's pseudo-code line by line.

Used by tools/gen_network_cases.py (the test cases, checked there against a float64
hand-written forward; vkfuse's tests check the engine against those cases) and
tools/train_shapes.py. Needs only torch (Debian's 1.13).
"""

import torch
import torch.nn as nn

# Every config key of arch vision_text_fusion, in the spec's order.
VISION_TEXT_FUSION_KEYS = [
    "arch", "d_model", "nhead", "dim_feedforward", "activation", "layer_norm_eps", "norm_first",
    "in_channels", "image_size", "patch_size", "use_cls_token", "vision_layers", "vocab_size",
    "max_text_len", "text_layers", "pad_token_id", "fusion_layers", "fusion_mode",
    "joint_layers", "pooling", "num_outputs", "output_activation"]


def encoder_layer(cfg):
    return nn.TransformerEncoderLayer(
        cfg["d_model"], cfg["nhead"], cfg["dim_feedforward"], dropout=0.0,
        activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"], batch_first=True,
        norm_first=cfg["norm_first"])


def decoder_layer(cfg):
    return nn.TransformerDecoderLayer(
        cfg["d_model"], cfg["nhead"], cfg["dim_feedforward"], dropout=0.0,
        activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"], batch_first=True,
        norm_first=cfg["norm_first"])


def final_norm(cfg):
    # The spec writes norm=LayerNorm(d_model): PyTorch's default eps 1e-5, whatever
    # layer_norm_eps is. The cases only use final_norm with layer_norm_eps == 1e-5 so that
    # they do not depend on that reading.
    if not cfg["final_norm"]:
        return None
    assert cfg["layer_norm_eps"] == 1e-5
    return nn.LayerNorm(cfg["d_model"])


def make_transformer_encoder(cfg):
    return nn.TransformerEncoder(encoder_layer(cfg), cfg["num_layers"], norm=final_norm(cfg))


def make_transformer_decoder(cfg):
    return nn.TransformerDecoder(decoder_layer(cfg), cfg["num_layers"], norm=final_norm(cfg))


class VisionEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        E, C, P = cfg["d_model"], cfg["in_channels"], cfg["patch_size"]
        assert cfg["image_size"] % P == 0
        nv = (cfg["image_size"] // P) ** 2 + (1 if cfg["use_cls_token"] else 0)
        self.patch_embed = nn.Conv2d(C, E, P, stride=P)
        if cfg["use_cls_token"]:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, E))
        self.pos_embed = nn.Parameter(torch.zeros(1, nv, E))
        self.encoder = nn.TransformerEncoder(encoder_layer(cfg), cfg["vision_layers"])
        self.norm = nn.LayerNorm(E, eps=cfg["layer_norm_eps"])


class TextEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        E = cfg["d_model"]
        self.token_embed = nn.Embedding(cfg["vocab_size"], E)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg["max_text_len"], E))
        self.encoder = nn.TransformerEncoder(encoder_layer(cfg), cfg["text_layers"])
        self.norm = nn.LayerNorm(E, eps=cfg["layer_norm_eps"])


class FusionLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.text_to_image = decoder_layer(cfg)
        if cfg["fusion_mode"] == "bidirectional":
            self.image_to_text = decoder_layer(cfg)
        else:
            assert cfg["fusion_mode"] == "text_to_image"


class Fusion(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([FusionLayer(cfg) for _ in range(cfg["fusion_layers"])])


class VisionTextFusion(nn.Module):
    """Spec section 2, arch vision_text_fusion, literally."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        E = cfg["d_model"]
        assert cfg["pooling"] in ("cls", "mean")
        assert cfg["pooling"] != "cls" or cfg["use_cls_token"]
        self.vision = VisionEncoder(cfg)
        self.text = TextEncoder(cfg)
        self.fusion = Fusion(cfg)
        self.joint = nn.TransformerEncoder(encoder_layer(cfg), cfg["joint_layers"])
        self.head = nn.Linear(2 * E, cfg["num_outputs"])

    def forward(self, image, input_ids, attention_mask=None, image_index=None):
        """The spec's forward. image_index (I64 [B], not part of the spec) is a training
        shortcut: image holds S distinct images and question b is asked about
        image[image_index[b]]; the vision tower then runs once per image, not once per
        question (the same result as image[image_index] without it)."""
        cfg = self.cfg
        B, T = input_ids.shape
        E = cfg["d_model"]
        vis, txt = self.vision, self.text
        v = vis.patch_embed(image).flatten(2).transpose(1, 2)  # [B, Np, E], row-major patches
        if cfg["use_cls_token"]:
            v = torch.cat([vis.cls_token.expand(image.shape[0], 1, E), v], 1)
        v = vis.norm(vis.encoder(v + vis.pos_embed))
        if image_index is not None:
            v = v[image_index]
        assert v.shape[0] == B
        nv = v.shape[1]
        if attention_mask is not None:
            pad = attention_mask == 0  # True where padding
        else:
            pad = input_ids == cfg["pad_token_id"]
        assert not pad.all(-1).any(), "a batch row without real tokens"
        ids = input_ids.long()
        assert ((ids >= 0) & (ids < cfg["vocab_size"])).all() and T <= cfg["max_text_len"]
        t = txt.token_embed(ids) + txt.pos_embed[:, :T]
        t = txt.norm(txt.encoder(t, src_key_padding_mask=pad))
        for layer in self.fusion.layers:  # both directions read the old t, v
            t2 = layer.text_to_image(t, v, tgt_key_padding_mask=pad)
            if cfg["fusion_mode"] == "bidirectional":
                v2 = layer.image_to_text(v, t, memory_key_padding_mask=pad)
            else:
                v2 = v
            t, v = t2, v2
        x = self.joint(torch.cat([t, v], 1),
                       src_key_padding_mask=torch.cat(
                           [pad, torch.zeros(B, nv, dtype=torch.bool)], 1))
        t, v = x[:, :T], x[:, T:]
        if cfg["pooling"] == "cls":
            pt, pv = t[:, 0], v[:, 0]
        else:
            real = (~pad).to(t.dtype).unsqueeze(-1)
            pt = (t * real).sum(1) / real.sum(1)
            pv = v.mean(1)
        logits = self.head(torch.cat([pt, pv], -1))
        act = cfg["output_activation"]
        if act == "sigmoid":
            probs = torch.sigmoid(logits)
        elif act == "softmax":
            probs = torch.softmax(logits, -1)
        else:
            assert act == "none"
            probs = logits
        return logits, probs


def forward_with_cross_attn(model, image, input_ids, attention_mask=None):
    """(logits, probs, cross_attn_weights) of a VisionTextFusion: the weights [B,T,Nv] are
    the text-to-image attention of the last fusion layer averaged over heads (what
    `vkfuse run --need-weights` writes). A hook captures the query and memory that layer's
    multihead_attn sees (with norm_first the query is norm2(x)), which is re-run with
    need_weights=True. Rows of padded text tokens are what PyTorch's ordinary path computes
    (meaningless; vkfuse's tests do not compare them)."""
    mha = model.fusion.layers[-1].text_to_image.multihead_attn
    seen = {}

    def hook(mod, args, out):  # 1.13 hooks see positional args: (query, key, value)
        assert args[2] is args[1]
        seen["q"], seen["kv"] = args[0].detach(), args[1].detach()

    h = mha.register_forward_hook(hook)
    try:
        logits, probs = model(image, input_ids, attention_mask)
    finally:
        h.remove()
    with torch.no_grad():  # text_to_image's cross-attention has no mask
        _, w = mha(seen["q"], seen["kv"], seen["kv"], need_weights=True,
                   average_attn_weights=True)
    return logits, probs, w
