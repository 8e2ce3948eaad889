#!/usr/bin/python3
"""Write a PyTorch model as a vkfuse model file, and read one back.

A vkfuse model file (docs/model-format.md, section 2) is a
safetensors file holding the module's state_dict() under PyTorch's own names, with
`__metadata__` key `vkfuse.config` = the config as a JSON object (with at least "arch").
This module writes one from any state_dict:

    import sys; sys.path.insert(0, "tools")          # from the repository root
    from vkfuse_export import export_model, load_model

    export_model("my_model.safetensors", model.state_dict(),
                 config={"arch": "vision_text_fusion", "d_model": 64, ...},
                 vocab=["<pad>", "<unk>", ...],        # optional: metadata vkfuse.vocab
                 metadata={"my.note": "anything"},    # optional: more string metadata
                 dtype="F16")                         # F32 (default), F16 or BF16

    m = load_model("my_model.safetensors")            # m.state_dict, m.config, m.vocab,
    model.load_state_dict(m.state_dict)               # m.metadata (all of __metadata__)

What export_model does and refuses (an ExportError, a ValueError, naming the tensor):
- Floating tensors (float32/float16/bfloat16/float64) are stored in `dtype`; integer and mask
  tensors (int64, int32, uint8, bool: e.g. registered buffers) are stored as they are (I64,
  I32, U8, BOOL). Any other dtype (int8, int16, complex, quantized, ...) is refused.
- A non-contiguous tensor is refused (call .contiguous(): a strided view's bytes are not the
  tensor's row-major order), as are sparse tensors and tensors on the meta device. CUDA
  tensors are copied to the CPU.
- A NaN/inf in a floating tensor is refused, and so is a value that the cast to F16/BF16
  turns into inf (|x| > 65504 for F16).
- `config` must be a JSON-serialisable dict with a string "arch"; it is written compactly,
  keys in the order given. `vocab` must be a list of distinct strings, and when the config
  has `vocab_size` it must have exactly that many entries. `metadata` maps strings to
  strings (a dict/list/number value is written as its JSON); it may not set vkfuse.config
  or vkfuse.vocab (use the arguments).
- With check=True (the default) and an arch that tools/vkfuse_modules.py builds
  (multihead_attention, transformer_encoder, transformer_decoder, vision_text_fusion), the
  tensor names and shapes must be exactly those of the module the config describes: a
  missing, unexpected or misshapen tensor is an error here rather than at `vkfuse run`.

Command line (Debian's PyTorch: /usr/bin/python3):

    tools/vkfuse_export.py export STATE_DICT.pt OUT.safetensors --config CONFIG.json
        [--vocab VOCAB.json] [--meta KEY=VALUE]... [--dtype F32|F16|BF16] [--no-check]
    tools/vkfuse_export.py info MODEL.safetensors
    tools/vkfuse_export.py from-hf DIR OUT.safetensors [--dtype F32|F16|BF16]
    tools/vkfuse_export.py from-torchvision NAME_OR_PTH OUT.safetensors [--dtype ...]
        [--weights FILE.pth] [--arch vit_b_16|...] [--num-heads N] [--recipe WEIGHTS|none]
        [--preprocess JSON] [--unsafe-pickle]

from-hf (convert_hf) converts a Hugging Face checkpoint folder of model_type "clip"
(CLIPModel) or "bert" (BertModel): config.json, weights in model.safetensors or
pytorch_model.bin (or their sharded .index.json), tokenizer files (through
tools/hf_tokenizers.py) and preprocessor_config.json. vkfuse.config = {"arch": model_type,
<config.json's keys as they are>} (a legacy text_config_dict / vision_config_dict folded into
text_config / vision_config as CLIPConfig does); tensors under the model's state_dict()
names (a leading "bert." or "model." stripped; the position_ids buffers, BERT's
embeddings.token_type_ids buffer and the BertForPreTraining/MaskedLM heads "cls.*" dropped);
vkfuse.tokenizer; vkfuse.image_preprocess. A config value vkfuse does not implement, a tensor
it cannot map, a missing or misshapen tensor: one error naming it.
from-torchvision (convert_torchvision) converts a torchvision VisionTransformer: a builder name
with --weights FILE.pth, or a state dict file (with --arch or --num-heads: no tensor holds the
head count), or a whole pickled module (--unsafe-pickle). vkfuse.config = {"arch": "vit",
image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes,
representation_size, layer_norm_eps}; vkfuse.image_preprocess from torchvision's transforms of
those weights. docs/standard-models.md is the user's guide; the formats are there.

STATE_DICT.pt is what torch.save(model.state_dict(), ...) wrote (or a vkfuse model file, to
convert its dtype: config and vocab then come from it unless given). --config/--vocab take a
file or an inline JSON string.
"""

import argparse
import collections
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import FROM_NAME_INV, read_safetensors, write_safetensors  # noqa: E402
import hf_models as hm  # noqa: E402

FLOAT_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_FLOAT_IN = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
_KEPT = (torch.int64, torch.int32, torch.uint8, torch.bool)  # stored as they are
CONFIG_KEY = "vkfuse.config"
VOCAB_KEY = "vkfuse.vocab"
TOKENIZER_KEY = "vkfuse.tokenizer"
IMAGE_PREPROCESS_KEY = "vkfuse.image_preprocess"
STANDARD_ARCHS = ("clip", "bert", "vit")

ModelFile = collections.namedtuple("ModelFile", "state_dict config vocab metadata")


class ExportError(ValueError):
    pass


# Spec defaults, used only to build the reference module for the name/shape check (the
# config written is exactly the one given).
_DEFAULTS = {
    "multihead_attention": {"bias": True, "score": "dot"},
    "transformer_encoder": {"layer_norm_eps": 1e-5, "norm_first": False, "final_norm": False},
    "transformer_decoder": {"layer_norm_eps": 1e-5, "norm_first": False, "final_norm": False},
    "vision_text_fusion": {"layer_norm_eps": 1e-5, "norm_first": False, "pad_token_id": 0},
}


def reference_shapes(config, present=None):
    """{name: shape} of the state_dict the spec's module for `config` has, or None when the
    arch is neither one tools/vkfuse_modules.py builds nor a standard arch (clip, bert, vit:
    shapes from tools/hf_models.py). Raises ExportError when the config cannot build the
    module (a missing key, say) or sets something vkfuse does not implement. `present`: the
    names the file holds, which decide the optional tensors (bert's pooler)."""
    import vkfuse_modules as vm
    arch = config.get("arch")
    if arch in STANDARD_ARCHS:
        return dict(standard_shapes(config, present))
    if arch not in _DEFAULTS:
        return None
    cfg = dict(_DEFAULTS[arch])
    cfg.update(config)
    try:
        with torch.no_grad():
            if arch == "multihead_attention":
                E = cfg["embed_dim"]
                m = torch.nn.MultiheadAttention(E, cfg["num_heads"], bias=cfg["bias"],
                                                kdim=cfg.get("kdim", E),
                                                vdim=cfg.get("vdim", E), batch_first=True)
            elif arch == "transformer_encoder":
                m = vm.make_transformer_encoder(cfg)
            elif arch == "transformer_decoder":
                m = vm.make_transformer_decoder(cfg)
            else:
                m = vm.VisionTextFusion(cfg)
    except (KeyError, AssertionError, TypeError, ValueError) as e:
        raise ExportError("config %s does not describe a %s module: %s: %s"
                          % (json.dumps(config), arch, type(e).__name__, e))
    return {k: tuple(v.shape) for k, v in m.state_dict().items()}


def _prepare_tensor(name, t, target):
    if not isinstance(name, str) or not name:
        raise ExportError("tensor name %r: names must be non-empty strings" % (name,))
    if not isinstance(t, torch.Tensor):
        raise ExportError("tensor %s: a %s, not a torch.Tensor" % (name, type(t).__name__))
    if t.is_sparse or t.layout != torch.strided:
        raise ExportError("tensor %s: layout %s is not supported (dense tensors only)"
                          % (name, t.layout))
    if t.is_quantized:
        raise ExportError("tensor %s: quantized tensors are not supported" % name)
    if t.device.type == "meta":
        raise ExportError("tensor %s is on the meta device (no data)" % name)
    if not t.is_contiguous():
        raise ExportError("tensor %s is not contiguous (shape %s, stride %s): store "
                          "t.contiguous() instead" % (name, list(t.shape), list(t.stride())))
    t = t.detach().cpu()
    if t.dtype in _FLOAT_IN:
        if not bool(torch.isfinite(t).all()):
            raise ExportError("tensor %s holds NaN or inf" % name)
        out = t.to(target)
        if not bool(torch.isfinite(out).all()):
            raise ExportError("tensor %s: a value (max |x| = %g) overflows %s"
                              % (name, t.abs().max().item(), FROM_NAME_INV[target]))
        return out.contiguous()
    if t.dtype in _KEPT:
        return t
    raise ExportError("tensor %s: dtype %s is not supported (floating tensors are written as "
                      "F32/F16/BF16; int64, int32, uint8 and bool as they are)"
                      % (name, t.dtype))


def _meta_value(key, v):
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ExportError("metadata %s: not a string and not JSON-serialisable (%s)" % (key, e))


def export_model(path, state_dict, config, vocab=None, metadata=None, dtype="F32", check=True):
    """Write `state_dict` as the vkfuse model file `path` (see the module docstring).
    Returns {"path", "bytes", "tensors", "parameters"}. Nothing is written when a check
    fails."""
    if dtype not in FLOAT_DTYPES:
        raise ExportError("dtype %r: use one of %s" % (dtype, ", ".join(FLOAT_DTYPES)))
    target = FLOAT_DTYPES[dtype]
    if not isinstance(config, dict):
        raise ExportError("config must be a dict (the JSON object of vkfuse.config)")
    if not isinstance(config.get("arch"), str) or not config["arch"]:
        raise ExportError("config needs a string \"arch\" (e.g. \"vision_text_fusion\")")
    try:
        config_json = json.dumps(config, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ExportError("config is not JSON-serialisable: %s" % e)
    meta = {CONFIG_KEY: config_json}
    if vocab is not None:
        if not isinstance(vocab, (list, tuple)) or not all(isinstance(w, str) for w in vocab):
            raise ExportError("vocab must be a list of strings (index = token id)")
        if len(set(vocab)) != len(vocab):
            dup = sorted({w for w in vocab if list(vocab).count(w) > 1})
            raise ExportError("vocab has repeated entries: %s" % dup[:5])
        if "vocab_size" in config and config["vocab_size"] != len(vocab):
            raise ExportError("vocab has %d entries but config vocab_size is %s"
                              % (len(vocab), config["vocab_size"]))
        meta[VOCAB_KEY] = json.dumps(list(vocab), separators=(",", ":"))
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not k:
            raise ExportError("metadata key %r: keys must be non-empty strings" % (k,))
        if k in (CONFIG_KEY, VOCAB_KEY):
            raise ExportError("metadata may not set %s: pass it as the %s argument"
                              % (k, "config" if k == CONFIG_KEY else "vocab"))
        meta[k] = _meta_value(k, v)

    if IMAGE_PREPROCESS_KEY in meta:
        try:
            check_image_preprocess(json.loads(meta[IMAGE_PREPROCESS_KEY]))
        except json.JSONDecodeError as e:
            raise ExportError("metadata %s: not JSON: %s" % (IMAGE_PREPROCESS_KEY, e))

    tensors = [(name, _prepare_tensor(name, t, target)) for name, t in state_dict.items()]
    if check:
        ref = reference_shapes(config, [n for n, _ in tensors])
        if ref is not None:
            got = {n: tuple(t.shape) for n, t in tensors}
            missing = [n for n in ref if n not in got]
            extra = [n for n in got if n not in ref]
            bad = ["%s %s (expected %s)" % (n, list(got[n]), list(ref[n]))
                   for n in ref if n in got and got[n] != ref[n]]
            if missing or extra or bad:
                raise ExportError(
                    "state_dict does not match arch %s with this config:%s%s%s"
                    % (config["arch"],
                       " missing %s;" % missing if missing else "",
                       " unexpected %s;" % extra if extra else "",
                       " wrong shape: %s;" % "; ".join(bad) if bad else ""))

    tmp = path + ".tmp"
    write_safetensors(tmp, tensors, meta)
    os.replace(tmp, path)
    return {"path": path, "bytes": os.path.getsize(path), "tensors": len(tensors),
            "parameters": sum(t.numel() for _, t in tensors)}


def load_model(path, float32=False):
    """Read a vkfuse model file: ModelFile(state_dict, config, vocab or None, metadata).
    With float32=True every floating tensor comes back as float32 (ready for a float32
    module; load_state_dict casts anyway)."""
    sd, meta = read_safetensors(path)
    meta = meta or {}
    if CONFIG_KEY not in meta:
        raise ExportError("%s: no %s metadata: not a vkfuse model file" % (path, CONFIG_KEY))
    config = json.loads(meta[CONFIG_KEY])
    vocab = json.loads(meta[VOCAB_KEY]) if VOCAB_KEY in meta else None
    if float32:
        sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    return ModelFile(sd, config, vocab, meta)


# --------------------------------------------------------------------------------------------
# Standard architectures (spec: "Standard architectures" and "From a Hugging Face or
# torchvision checkpoint to a model file"): arch clip (Hugging Face CLIPModel), bert
# (Hugging Face BertModel), vit (torchvision VisionTransformer).


def _log(msg):
    print("vkfuse_export: %s" % msg, file=sys.stderr)


def _is_int(v, lo=1):
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# PretrainedConfig attributes and other keys Hugging Face writes into config.json that do not
# change what CLIPModel / BertModel compute (names, versions, dtypes, generation and
# fine-tuning settings, initialisation, dropout: vkfuse runs in eval mode). They are kept in
# vkfuse.config and ignored; any other key unknown here is reported on stderr.
HF_HARMLESS_KEYS = frozenset("""
    _name_or_path _commit_hash _attn_implementation _attn_implementation_autoset
    architectures auto_map transformers_version torch_dtype dtype model_type
    return_dict use_return_dict output_hidden_states output_attentions torchscript
    use_bfloat16 tf_legacy_loss tie_word_embeddings is_encoder_decoder tie_encoder_decoder
    cross_attention_hidden_size chunk_size_feed_forward
    max_length min_length do_sample early_stopping num_beams num_beam_groups
    diversity_penalty temperature top_k top_p typical_p repetition_penalty length_penalty
    no_repeat_ngram_size encoder_no_repeat_ngram_size bad_words_ids num_return_sequences
    output_scores return_dict_in_generate forced_bos_token_id forced_eos_token_id
    remove_invalid_values exponential_decay_length_penalty suppress_tokens
    begin_suppress_tokens decoder_start_token_id
    finetuning_task id2label label2id num_labels problem_type tokenizer_class prefix
    bos_token_id pad_token_id eos_token_id sep_token_id task_specific_params
    initializer_range initializer_factor logit_scale_init_value
    attention_dropout dropout hidden_dropout_prob attention_probs_dropout_prob
    classifier_dropout gradient_checkpointing use_cache projection_dim
    is_decoder add_cross_attention pruned_heads
    """.split())


def _check_pretrained(where, d):
    """The PretrainedConfig keys that would change the math, in a config dict `d`."""
    if d.get("pruned_heads"):
        raise ExportError("config: %spruned_heads %s: models with pruned attention heads are "
                          "not implemented by vkfuse" % (where, json.dumps(d["pruned_heads"])))


def _check_sizes(where, ns, keys):
    for k in keys:
        v = getattr(ns, k)
        if not _is_int(v):
            raise ExportError("config: %s%s %s: a positive integer is required"
                              % (where, k, json.dumps(v)))


def _check_eps(where, ns):
    v = ns.layer_norm_eps
    if not _is_num(v) or not v > 0:
        raise ExportError("config: %slayer_norm_eps %s: a positive number is required"
                          % (where, json.dumps(v)))


def check_standard_config(config):
    """Checks a vkfuse.config of arch clip, bert or vit: what vkfuse does not implement is an
    ExportError naming the key. Returns (resolved config, notes): the config with the
    library's defaults filled in (tools/hf_models.py namespaces for clip/bert, a dict for
    vit) and a list of notes (config keys vkfuse does not know, which it ignores)."""
    arch = config.get("arch")
    notes = []
    if arch == "clip":
        for k in ("text_config", "vision_config", "text_config_dict", "vision_config_dict"):
            if config.get(k) is not None and not isinstance(config[k], dict):
                raise ExportError("config: %s must be a JSON object" % k)
        text, vision = hm.clip_sub_configs(config)
        cfg = hm.clip_config(config)
        known_top = HF_HARMLESS_KEYS | {"arch", "text_config", "vision_config", "projection_dim",
                                        "logit_scale_init_value"}
        unknown = sorted(k for k in config if k not in known_top)
        for where, raw, c, defaults in (("text_config.", text, cfg.text, hm.CLIP_TEXT_DEFAULTS),
                                        ("vision_config.", vision, cfg.vision,
                                         hm.CLIP_VISION_DEFAULTS)):
            if c.hidden_act not in hm.CLIP_ACTS:
                raise ExportError("config: %shidden_act %s is not implemented by vkfuse for arch "
                                  "clip (it implements \"quick_gelu\" and \"gelu\")"
                                  % (where, json.dumps(c.hidden_act)))
            sizes = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"]
            sizes += (["vocab_size", "max_position_embeddings"] if where == "text_config." else
                      ["image_size", "patch_size", "num_channels"])
            _check_sizes(where, c, sizes)
            _check_eps(where, c)
            if c.hidden_size % c.num_attention_heads:
                raise ExportError("config: %shidden_size %d is not a multiple of "
                                  "num_attention_heads %d" % (where, c.hidden_size,
                                                              c.num_attention_heads))
            _check_pretrained(where, raw)
            unknown += sorted(where + k for k in raw
                              if k not in defaults and k not in HF_HARMLESS_KEYS)
        if not _is_int(cfg.text.eos_token_id, 0):
            raise ExportError("config: text_config.eos_token_id %s: an integer token id is "
                              "required (the text tower pools at it)"
                              % json.dumps(cfg.text.eos_token_id))
        if cfg.vision.num_channels != 3:
            raise ExportError("config: vision_config.num_channels %d: vkfuse's clip reads RGB "
                              "images (3 channels)" % cfg.vision.num_channels)
        if cfg.vision.image_size % cfg.vision.patch_size:
            raise ExportError("config: vision_config.image_size %d is not a multiple of "
                              "vision_config.patch_size %d" % (cfg.vision.image_size,
                                                                cfg.vision.patch_size))
        if not _is_int(cfg.projection_dim):
            raise ExportError("config: projection_dim %s: a positive integer is required"
                              % json.dumps(cfg.projection_dim))
    elif arch == "bert":
        cfg = hm.bert_config({k: v for k, v in config.items() if k != "arch"})
        if cfg.hidden_act not in hm.BERT_ACTS:
            raise ExportError("config: hidden_act %s is not implemented by vkfuse for arch bert "
                              "(it implements \"gelu\", \"relu\" and \"gelu_new\")"
                              % json.dumps(cfg.hidden_act))
        if cfg.position_embedding_type != "absolute":
            raise ExportError("config: position_embedding_type %s is not implemented by vkfuse "
                              "(only \"absolute\")" % json.dumps(cfg.position_embedding_type))
        for k in ("is_decoder", "add_cross_attention"):
            if config.get(k):
                raise ExportError("config: %s %s: vkfuse's bert is an encoder (a decoder's causal "
                                  "mask and cross-attention are not implemented)"
                                  % (k, json.dumps(config[k])))
        _check_sizes("", cfg, ["vocab_size", "hidden_size", "num_hidden_layers",
                               "num_attention_heads", "intermediate_size",
                               "max_position_embeddings", "type_vocab_size"])
        _check_eps("", cfg)
        if cfg.hidden_size % cfg.num_attention_heads:
            raise ExportError("config: hidden_size %d is not a multiple of num_attention_heads %d"
                              % (cfg.hidden_size, cfg.num_attention_heads))
        _check_pretrained("", config)
        unknown = sorted(k for k in config if k != "arch" and k not in hm.BERT_DEFAULTS
                         and k not in HF_HARMLESS_KEYS)
    elif arch == "vit":
        keys = ["image_size", "patch_size", "num_layers", "num_heads", "hidden_dim", "mlp_dim",
                "num_classes"]
        for k in config:
            if k not in VIT_KEYS:
                raise ExportError("config: %r is not a config key of arch vit (its keys: %s)"
                                  % (k, ", ".join(VIT_KEYS)))
        for k in keys:
            if k not in config:
                raise ExportError("config: arch vit needs %r" % k)
            if not _is_int(config[k]):
                raise ExportError("config: %s %s: a positive integer is required"
                                  % (k, json.dumps(config[k])))
        cfg = dict(config)
        cfg.setdefault("representation_size", None)
        cfg.setdefault("layer_norm_eps", 1e-6)
        if cfg["representation_size"] is not None and not _is_int(cfg["representation_size"]):
            raise ExportError("config: representation_size %s: null or a positive integer"
                              % json.dumps(cfg["representation_size"]))
        if not _is_num(cfg["layer_norm_eps"]) or not cfg["layer_norm_eps"] > 0:
            raise ExportError("config: layer_norm_eps %s: a positive number is required"
                              % json.dumps(cfg["layer_norm_eps"]))
        if cfg["hidden_dim"] % cfg["num_heads"]:
            raise ExportError("config: hidden_dim %d is not a multiple of num_heads %d"
                              % (cfg["hidden_dim"], cfg["num_heads"]))
        if cfg["image_size"] % cfg["patch_size"]:
            raise ExportError("config: image_size %d is not a multiple of patch_size %d"
                              % (cfg["image_size"], cfg["patch_size"]))
        unknown = []
    else:
        raise ExportError("arch %r is not a standard arch (%s)" % (arch, ", ".join(STANDARD_ARCHS)))
    if unknown:
        notes.append("config keys vkfuse does not know, ignored (they are not among those that "
                     "change CLIPModel/BertModel's math): %s" % ", ".join(unknown))
    return cfg, notes


VIT_KEYS = ["arch", "image_size", "patch_size", "num_layers", "num_heads", "hidden_dim",
            "mlp_dim", "num_classes", "representation_size", "layer_norm_eps"]


def standard_shapes(config, present=None):
    """[(name, shape)] of the state_dict of the standard arch `config` describes, in the
    library's order (bert: pooler.* only when `present` is None or holds pooler.dense.*)."""
    cfg, _ = check_standard_config(config)
    arch = config["arch"]
    if arch == "clip":
        return hm.clip_shapes(cfg)
    if arch == "bert":
        pooler = present is None or any(n.startswith("pooler.") for n in present)
        return hm.bert_shapes(cfg, pooler)
    return hm.vit_shapes(cfg)


# ----- vkfuse.image_preprocess

IMAGE_PREPROCESS_KEYS = ("shortest_edge", "crop", "crop_offset", "resample", "rescale_factor",
                         "mean", "std")
RESAMPLE = ("bicubic", "bilinear")
# How the centre crop's top/left offset is computed from (size - crop) / 2: "floor" (Hugging
# Face's center_crop, the default) or "round" (torchvision's CenterCrop: int(round(x)), half
# to even).
CROP_OFFSETS = ("floor", "round")


def check_image_preprocess(p):
    """Checks a vkfuse.image_preprocess object (docs/standard-models.md): `mean`, `std` (3
    numbers each, std > 0) required; `rescale_factor` (> 0, default 1/255); `shortest_edge`
    (int >= 1) with `resample` ("bicubic" or "bilinear"); `crop` [H, W] with an optional
    `crop_offset` ("floor", the default, or "round"). {"mean", "std"} alone (the shapes
    models' form) means no resize, no crop, pixel / 255."""
    if not isinstance(p, dict):
        raise ExportError("%s must be a JSON object" % IMAGE_PREPROCESS_KEY)
    for k in p:
        if k not in IMAGE_PREPROCESS_KEYS:
            raise ExportError("%s: unknown key %r (keys: %s)" % (IMAGE_PREPROCESS_KEY, k,
                                                                 ", ".join(IMAGE_PREPROCESS_KEYS)))
    for k in ("mean", "std"):
        v = p.get(k)
        if not (isinstance(v, list) and len(v) == 3 and all(_is_num(x) for x in v)):
            raise ExportError("%s: %s must be a list of 3 numbers (r, g, b), not %s"
                              % (IMAGE_PREPROCESS_KEY, k, json.dumps(v)))
    if not all(x > 0 for x in p["std"]):
        raise ExportError("%s: std %s: every value must be > 0" % (IMAGE_PREPROCESS_KEY,
                                                                  json.dumps(p["std"])))
    if "rescale_factor" in p and not (_is_num(p["rescale_factor"]) and p["rescale_factor"] > 0):
        raise ExportError("%s: rescale_factor %s: a positive number is required"
                          % (IMAGE_PREPROCESS_KEY, json.dumps(p["rescale_factor"])))
    if "shortest_edge" in p:
        if not _is_int(p["shortest_edge"]):
            raise ExportError("%s: shortest_edge %s: a positive integer is required"
                              % (IMAGE_PREPROCESS_KEY, json.dumps(p["shortest_edge"])))
        if p.get("resample") not in RESAMPLE:
            raise ExportError("%s: resample %s: \"bicubic\" or \"bilinear\" is required with "
                              "shortest_edge"
                              % (IMAGE_PREPROCESS_KEY, json.dumps(p.get("resample"))))
    elif "resample" in p:
        raise ExportError("%s: resample without shortest_edge (no resize)" % IMAGE_PREPROCESS_KEY)
    if "crop" in p:
        c = p["crop"]
        if not (isinstance(c, list) and len(c) == 2 and all(_is_int(x) for x in c)):
            raise ExportError("%s: crop %s: [height, width] (positive integers) is required"
                              % (IMAGE_PREPROCESS_KEY, json.dumps(c)))
    if "crop_offset" in p:
        if p["crop_offset"] not in CROP_OFFSETS:
            raise ExportError("%s: crop_offset %s: \"floor\" or \"round\" is required"
                              % (IMAGE_PREPROCESS_KEY, json.dumps(p["crop_offset"])))
        if "crop" not in p:
            raise ExportError("%s: crop_offset without crop (no centre crop)"
                              % IMAGE_PREPROCESS_KEY)


_PIL_RESAMPLE = {2: "bilinear", 3: "bicubic"}
_PIL_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
_CLIP_PROCESSORS = ("CLIPImageProcessor", "CLIPFeatureExtractor")
# Keys of preprocessor_config.json that do not change the pixels (which class, processor
# bookkeeping some versions save).
_PP_HARMLESS = ("image_processor_type", "feature_extractor_type", "processor_class",
                "_processor_class", "_valid_processor_keys", "input_data_format",
                "return_tensors")
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def image_preprocess_from_hf(pp, image_size=None, where="preprocessor_config.json"):
    """The vkfuse.image_preprocess object of a Hugging Face CLIPImageProcessor /
    CLIPFeatureExtractor preprocessor_config.json dict (CLIPImageProcessor's defaults for
    what is absent). What vkfuse cannot follow is an ExportError naming the key. Returns
    (object, notes)."""
    notes = []
    kind = pp.get("image_processor_type", pp.get("feature_extractor_type"))
    if kind is None:
        notes.append("%s names no image_processor_type: read as CLIPImageProcessor (what "
                     "AutoImageProcessor picks for model_type clip)" % where)
    elif kind not in _CLIP_PROCESSORS:
        raise ExportError("%s: image_processor_type %s: vkfuse follows %s only"
                          % (where, json.dumps(kind), " and ".join(_CLIP_PROCESSORS)))
    known = ("do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
             "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
             "data_format") + _PP_HARMLESS
    for k in pp:
        if k not in known:
            raise ExportError("%s: key %r is not a CLIPImageProcessor setting vkfuse follows "
                              "(it could change the pixels)" % (where, k))
    if pp.get("data_format", "channels_first") != "channels_first":
        raise ExportError("%s: data_format %s: vkfuse's pixel_values are channels_first"
                          % (where, json.dumps(pp["data_format"])))
    out = {}
    if pp.get("do_resize", True):
        size = pp.get("size", {"shortest_edge": 224})
        if _is_int(size):
            size = {"shortest_edge": size}  # get_size_dict(int, default_to_square=False)
        if not (isinstance(size, dict) and list(size) == ["shortest_edge"]
                and _is_int(size["shortest_edge"])):
            raise ExportError("%s: size %s: vkfuse resizes the shortest edge only "
                              "({\"shortest_edge\": n} or an integer)" % (where, json.dumps(size)))
        resample = pp.get("resample", 3)
        if resample not in _PIL_RESAMPLE:
            raise ExportError("%s: resample %s (PIL %s): vkfuse implements 3 (bicubic) and 2 "
                              "(bilinear)" % (where, json.dumps(resample),
                                              _PIL_NAMES.get(resample, "unknown")))
        out["shortest_edge"] = size["shortest_edge"]
    if pp.get("do_center_crop", True):
        crop = pp.get("crop_size", {"height": 224, "width": 224})
        if _is_int(crop):
            crop = {"height": crop, "width": crop}  # get_size_dict(int, default_to_square=True)
        if not (isinstance(crop, dict) and sorted(crop) == ["height", "width"]
                and _is_int(crop["height"]) and _is_int(crop["width"])):
            raise ExportError("%s: crop_size %s: {\"height\": h, \"width\": w} or an integer"
                              % (where, json.dumps(crop)))
        out["crop"] = [crop["height"], crop["width"]]
        if image_size is not None and out["crop"] != [image_size, image_size]:
            raise ExportError("%s: crop_size %s: the vision tower's image_size is %d"
                              % (where, json.dumps(pp.get("crop_size")), image_size))
    if "shortest_edge" in out:
        out["resample"] = _PIL_RESAMPLE[pp.get("resample", 3)]
    if pp.get("do_rescale", True):
        f = pp.get("rescale_factor", 1 / 255)
        if not (_is_num(f) and f > 0):
            raise ExportError("%s: rescale_factor %s: a positive number is required"
                              % (where, json.dumps(f)))
        out["rescale_factor"] = f
    else:
        out["rescale_factor"] = 1.0
    if pp.get("do_normalize", True):
        for k, default in (("image_mean", OPENAI_CLIP_MEAN), ("image_std", OPENAI_CLIP_STD)):
            v = pp.get(k, default)
            if v is None:
                v = default
            if _is_num(v):
                v = [v] * 3
            if not (isinstance(v, list) and len(v) == 3 and all(_is_num(x) for x in v)):
                raise ExportError("%s: %s %s: 3 numbers (r, g, b) are required"
                                  % (where, k, json.dumps(v)))
            out["mean" if k == "image_mean" else "std"] = list(v)
    else:
        out["mean"], out["std"] = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    if not pp.get("do_convert_rgb", True):
        notes.append("%s: do_convert_rgb false: vkfuse converts every image to RGB (the same "
                     "pixels for RGB images)" % where)
    check_image_preprocess(out)
    return out, notes


# ----- from-hf

HF_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                   "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                   "vocab.txt", "special_tokens_map.json")


def _torch_load(path, weights_only=True):
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except TypeError:  # a PyTorch without weights_only
        return torch.load(path, map_location="cpu")


def _read_weight_file(path):
    """{name: tensor} of one safetensors or torch.save'd state-dict file."""
    if path.endswith(".safetensors"):
        try:
            sd, _ = read_safetensors(path)
        except (AssertionError, KeyError, ValueError, UnicodeDecodeError) as e:
            raise ExportError("%s: not a valid safetensors file (%s: %s)"
                              % (path, type(e).__name__, e))
        return sd
    try:
        sd = _torch_load(path)
    except Exception as e:  # pickle.UnpicklingError, RuntimeError, EOFError, ...
        raise ExportError("%s: cannot be read as a state dict (%s: %s)"
                          % (path, type(e).__name__, str(e).split("\n")[0]))
    if not isinstance(sd, dict):
        raise ExportError("%s holds a %s, not a state dict" % (path, type(sd).__name__))
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ExportError("%s: entry %r is a %s, not a tensor" % (path, k, type(v).__name__))
    return sd


def _read_hf_weights(directory, log):
    found = [f for f in HF_WEIGHT_FILES if os.path.exists(os.path.join(directory, f))]
    if not found:
        raise ExportError("%s: no weights: expected one of %s" % (directory,
                                                                  ", ".join(HF_WEIGHT_FILES)))
    name = found[0]  # safetensors first, as Hugging Face loads them
    if len(found) > 1:
        log("note: %s holds %s: reading %s" % (directory, " and ".join(found), name))
    path = os.path.join(directory, name)
    if not name.endswith(".index.json"):
        return _read_weight_file(path), name
    with open(path) as f:
        try:
            index = json.load(f)
        except json.JSONDecodeError as e:
            raise ExportError("%s: not JSON: %s" % (path, e))
    wm = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wm, dict):
        raise ExportError("%s: no weight_map" % path)
    sd = {}
    for shard in sorted(set(wm.values())):
        part = _read_weight_file(os.path.join(directory, shard))
        for k, v in part.items():
            if k in sd:
                raise ExportError("%s: tensor %r is in two shards" % (path, k))
            sd[k] = v
    missing = sorted(k for k in wm if k not in sd)
    if missing:
        raise ExportError("%s: tensors listed in the weight_map are in no shard: %s"
                          % (path, ", ".join(missing[:10])))
    return sd, name


def map_hf_state_dict(arch, sd, config, log=_log, source="weights"):
    """Maps a Hugging Face checkpoint's tensors onto the names of arch clip / bert: strips a
    leading `bert.` (bert) or `model.` prefix, drops the `position_ids` buffers (and bert's
    `embeddings.token_type_ids`), drops BertForPreTraining / BertForMaskedLM heads (`cls.*`,
    with a note), checks every name and shape against the config. Anything else that cannot
    be mapped is an ExportError naming the tensor. Returns an ordered {name: tensor}."""
    ref = standard_shapes(config, present=None)
    if arch == "bert":
        pooler_names = {n for n, _ in ref if n.startswith("pooler.")}
    ref_d = dict(ref)
    mapped, src_of, dropped, heads, unmapped = {}, {}, [], [], []
    for name, t in sd.items():
        n = name
        if arch == "bert" and n.startswith("bert."):
            n = n[len("bert."):]
        elif n.startswith("model."):
            n = n[len("model."):]
        if n.endswith("embeddings.position_ids") or (arch == "bert" and
                                                      n == "embeddings.token_type_ids"):
            dropped.append(name)
            continue
        if arch == "bert" and n.startswith("cls."):
            heads.append(name)
            continue
        if n not in ref_d:
            unmapped.append(name)
            continue
        if n in mapped:
            raise ExportError("%s: tensors %r and %r both map to %r" % (source, src_of[n], name, n))
        mapped[n], src_of[n] = t, name
    if unmapped:
        raise ExportError("%s: cannot map tensor %r%s to arch %s (it is not a %s state_dict() "
                          "key, nor a buffer or head vkfuse drops)"
                          % (source, unmapped[0],
                             " (and %d more: %s)" % (len(unmapped) - 1, ", ".join(unmapped[1:6]))
                             if len(unmapped) > 1 else "", arch,
                             "CLIPModel" if arch == "clip" else "BertModel"))
    if dropped:
        log("note: dropped buffers that are not weights: %s" % ", ".join(dropped))
    if heads:
        log("note: dropped %d tensors of heads that are not part of BertModel (%s)"
            % (len(heads), ", ".join(heads[:4]) + (", ..." if len(heads) > 4 else "")))
    if arch == "bert" and not (pooler_names & set(mapped)):
        for n in pooler_names:
            del ref_d[n]
        log("note: no pooler.dense.*: the model has no pooler_output (add_pooling_layer=False)")
    missing = [n for n in ref_d if n not in mapped]
    if missing:
        raise ExportError("%s: tensor %r%s is missing for arch %s with this config"
                          % (source, missing[0], " (and %d more)" % (len(missing) - 1)
                             if len(missing) > 1 else "", arch))
    out = collections.OrderedDict()
    for n, shape in ref:
        if n not in ref_d:
            continue
        t = mapped[n]
        if tuple(t.shape) != tuple(shape):
            raise ExportError("%s: tensor %r has shape %s, but the config implies %s"
                              % (source, src_of[n], list(t.shape), list(shape)))
        if not t.is_floating_point():
            raise ExportError("%s: tensor %r is %s, a weight must be floating point"
                              % (source, src_of[n], t.dtype))
        out[n] = t.contiguous()
    return out


def _tokenizer_metadata(directory, model_type, log, vocab_size=None):
    if not any(os.path.exists(os.path.join(directory, f)) for f in TOKENIZER_FILES):
        log("note: no tokenizer files in %s: the model file carries no %s"
            % (directory, TOKENIZER_KEY))
        return None
    try:
        import hf_tokenizers
    except ImportError as e:
        if getattr(e, "name", None) != "hf_tokenizers":
            raise ExportError("tools/hf_tokenizers.py cannot be imported: %s" % e)
        log("warning: tools/hf_tokenizers.py is missing: no %s written" % TOKENIZER_KEY)
        return None
    try:
        v = hf_tokenizers.tokenizer_metadata(directory, model_type)
    except (ValueError, KeyError, OSError) as e:
        raise ExportError("tokenizer in %s: %s" % (directory, e))
    if v is None:
        log("note: hf_tokenizers found no tokenizer in %s: no %s" % (directory, TOKENIZER_KEY))
        return None
    if vocab_size is not None:
        vocab = json.loads(v).get("vocab") if isinstance(v, str) else None
        if isinstance(vocab, (list, dict)) and len(vocab) > vocab_size:
            raise ExportError("tokenizer in %s: %d tokens, but the model's vocab_size is %d (ids "
                              "past the embedding table)" % (directory, len(vocab), vocab_size))
    return v


def convert_hf(directory, out, dtype="F32", log=_log, extra_metadata=None):
    """from-hf: a Hugging Face checkpoint folder (config.json of model_type clip or bert,
    model.safetensors or pytorch_model.bin, optional tokenizer files and
    preprocessor_config.json) -> the vkfuse model file `out`. Returns export_model's info
    dict plus "config" and "metadata". extra_metadata: more keys for the file (a trainer's
    record of how it was made)."""
    cpath = os.path.join(directory, "config.json")
    if not os.path.isdir(directory):
        raise ExportError("%s: not a folder (a Hugging Face checkpoint folder)" % directory)
    if not os.path.exists(cpath):
        raise ExportError("%s: no config.json (a Hugging Face checkpoint folder has one)"
                          % directory)
    with open(cpath, encoding="utf-8") as f:
        try:
            hf = json.load(f)
        except json.JSONDecodeError as e:
            raise ExportError("%s: not JSON: %s" % (cpath, e))
    if not isinstance(hf, dict):
        raise ExportError("%s: not a JSON object" % cpath)
    mt = hf.get("model_type")
    if mt not in ("clip", "bert"):
        raise ExportError("%s: model_type %s: from-hf converts \"clip\" (CLIPModel) and \"bert\" "
                          "(BertModel)" % (cpath, json.dumps(mt)))
    config = {"arch": mt}
    for k, v in hf.items():
        if k == "arch":
            raise ExportError("%s: a key \"arch\" (vkfuse's own key) is not expected" % cpath)
        if k in ("text_config_dict", "vision_config_dict") and mt == "clip":
            continue
        config[k] = v
    if mt == "clip":
        text, vision = hm.clip_sub_configs(hf)
        for k in ("text_config", "vision_config"):
            if hf.get(k + "_dict"):
                log("note: %s_dict (legacy) folded into %s, as CLIPConfig does" % (k, k))
                config[k] = text if k == "text_config" else vision
            elif k in config and config[k] is None:
                config[k] = {}  # CLIPConfig reads null as {} (every default)
    resolved, notes = check_standard_config(config)
    for n in notes:
        log("note: " + n)
    sd, wname = _read_hf_weights(directory, log)
    sd = map_hf_state_dict(mt, sd, config, log, source=os.path.join(directory, wname))

    metadata = {}
    tok = _tokenizer_metadata(directory, mt, log, resolved.text.vocab_size if mt == "clip"
                              else resolved.vocab_size)
    if tok is not None:
        metadata[TOKENIZER_KEY] = tok
    ppath = os.path.join(directory, "preprocessor_config.json")
    if os.path.exists(ppath):
        with open(ppath, encoding="utf-8") as f:
            try:
                pp = json.load(f)
            except json.JSONDecodeError as e:
                raise ExportError("%s: not JSON: %s" % (ppath, e))
        if mt != "clip":
            log("note: %s ignored (arch %s takes no images)" % (ppath, mt))
        else:
            if not isinstance(pp, dict):
                raise ExportError("%s: not a JSON object" % ppath)
            obj, pnotes = image_preprocess_from_hf(pp, resolved.vision.image_size, ppath)
            for n in pnotes:
                log("note: " + n)
            metadata[IMAGE_PREPROCESS_KEY] = obj
    elif mt == "clip":
        log("note: no preprocessor_config.json: no %s (vkfuse run --image needs it)"
            % IMAGE_PREPROCESS_KEY)
    if mt == "bert":
        _check_sentence_transformers(directory, log)
    metadata.update(extra_metadata or {})
    info = export_model(out, sd, config, metadata=metadata, dtype=dtype, check=True)
    info.update(config=config, metadata=metadata)
    return info


def _check_sentence_transformers(directory, log):
    """A sentence-transformers folder says how it pools: vkfuse's sentence_embedding is the
    mean over real tokens, L2-normalized; say so when the folder pools otherwise."""
    mpath = os.path.join(directory, "modules.json")
    if not os.path.exists(mpath):
        return
    try:
        with open(mpath) as f:
            modules = json.load(f)
        pool = [m for m in modules if "Pooling" in m.get("type", "")]
        if not pool:
            return
        with open(os.path.join(directory, pool[0].get("path", ""), "config.json")) as f:
            pc = json.load(f)
    except (OSError, ValueError, AttributeError, TypeError):
        return
    modes = sorted(k for k, v in pc.items() if k.startswith("pooling_mode_") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        log("warning: this sentence-transformers model pools with %s; vkfuse's "
            "sentence_embedding is the mean over real tokens (L2-normalized), so it is not "
            "this model's sentence embedding (last_hidden_state and pooler_output are)"
            % (", ".join(modes) or "no pooling mode"))


# ----- from-torchvision

# torchvision 0.14's builder parameters (torchvision/models/vision_transformer.py).
TORCHVISION_VITS = {
    "vit_b_16": dict(patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072),
    "vit_b_32": dict(patch_size=32, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072),
    "vit_l_16": dict(patch_size=16, num_layers=24, num_heads=16, hidden_dim=1024, mlp_dim=4096),
    "vit_l_32": dict(patch_size=32, num_layers=24, num_heads=16, hidden_dim=1024, mlp_dim=4096),
    "vit_h_14": dict(patch_size=14, num_layers=32, num_heads=16, hidden_dim=1280, mlp_dim=5120),
}
# The weights torchvision 0.14 offers for each, in its enum order (the first is the default
# except vit_h_14's, whose DEFAULT is IMAGENET1K_SWAG_E2E_V1, also first): (name, file the
# URL names, crop_size, resize_size, interpolation) of transforms=ImageClassification(...),
# mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) for all.
TORCHVISION_RECIPES = {
    "vit_b_16": [("IMAGENET1K_V1", "vit_b_16-c867db91.pth", 224, 256, "bilinear"),
                 ("IMAGENET1K_SWAG_E2E_V1", "vit_b_16_swag-9ac1b537.pth", 384, 384, "bicubic"),
                 ("IMAGENET1K_SWAG_LINEAR_V1", "vit_b_16_lc_swag-4e70ced5.pth", 224, 224,
                  "bicubic")],
    "vit_b_32": [("IMAGENET1K_V1", "vit_b_32-d86f8d99.pth", 224, 256, "bilinear")],
    "vit_l_16": [("IMAGENET1K_V1", "vit_l_16-852ce7e3.pth", 224, 242, "bilinear"),
                 ("IMAGENET1K_SWAG_E2E_V1", "vit_l_16_swag-4f3808c9.pth", 512, 512, "bicubic"),
                 ("IMAGENET1K_SWAG_LINEAR_V1", "vit_l_16_lc_swag-4d563306.pth", 224, 224,
                  "bicubic")],
    "vit_l_32": [("IMAGENET1K_V1", "vit_l_32-c7638314.pth", 224, 256, "bilinear")],
    "vit_h_14": [("IMAGENET1K_SWAG_E2E_V1", "vit_h_14_swag-80465313.pth", 518, 518, "bicubic"),
                 ("IMAGENET1K_SWAG_LINEAR_V1", "vit_h_14_lc_swag-c1eb923e.pth", 224, 224,
                  "bicubic")],
}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def torchvision_recipe(arch, weights_name):
    """vkfuse.image_preprocess of torchvision's transforms for `arch`'s weights
    `weights_name` (ImageClassification: resize the shortest edge to resize_size, centre crop
    crop_size with CenterCrop's rounded offset, int(round((size - crop) / 2)), half to even,
    /255, ImageNet mean/std). Returns (object, crop_size)."""
    for name, _, crop, resize, interp in TORCHVISION_RECIPES.get(arch, []):
        if name == weights_name:
            return ({"shortest_edge": resize, "crop": [crop, crop], "crop_offset": "round",
                     "resample": interp,
                     "rescale_factor": 1 / 255, "mean": list(IMAGENET_MEAN),
                     "std": list(IMAGENET_STD)}, crop)
    raise ExportError("--recipe %s: %s's torchvision weights are %s" % (
        weights_name, arch, ", ".join(r[0] for r in TORCHVISION_RECIPES.get(arch, [])) or "none"))


def _vit_module_config(m):
    """vkfuse's vit config of a torchvision VisionTransformer module."""
    if not isinstance(getattr(m, "conv_proj", None), torch.nn.Conv2d):
        raise ExportError("the VisionTransformer has a conv stem (conv_stem_configs): not "
                          "implemented by vkfuse")
    eps = {mod.eps for mod in m.modules() if isinstance(mod, torch.nn.LayerNorm)}
    if len(eps) != 1:
        raise ExportError("the VisionTransformer's LayerNorms use different eps %s" % sorted(eps))
    heads = {layer.self_attention.num_heads for layer in m.encoder.layers}
    if len(heads) != 1:
        raise ExportError("the VisionTransformer's layers have different head counts")
    return {"arch": "vit", "image_size": m.image_size, "patch_size": m.patch_size,
            "num_layers": len(m.encoder.layers), "num_heads": heads.pop(),
            "hidden_dim": m.hidden_dim, "mlp_dim": m.mlp_dim, "num_classes": m.num_classes,
            "representation_size": m.representation_size, "layer_norm_eps": eps.pop()}


def _map_torchvision_names(sd, log):
    """torchvision < 0.13 MLPBlock names (mlp.linear_1/linear_2) -> mlp.0/mlp.3; a leading
    `module.` (DataParallel) is stripped when every key has it."""
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
        log("note: stripped the prefix module. (DataParallel) from every tensor")
    out, renamed = collections.OrderedDict(), 0
    for k, v in sd.items():
        n = k
        for old, new in ((".mlp.linear_1.", ".mlp.0."), (".mlp.linear_2.", ".mlp.3.")):
            if old in n:
                n = n.replace(old, new)
                renamed += 1
        if n in out:
            raise ExportError("tensors %r and another both map to %r" % (k, n))
        out[n] = v
    if renamed:
        log("note: renamed %d tensors from torchvision's old MLPBlock names (mlp.linear_1/2 -> "
            "mlp.0/3)" % renamed)
    return out


def _vit_config_from_weights(sd):
    """vkfuse's vit config from a state dict's shapes, without num_heads (no tensor holds
    it) and layer_norm_eps."""
    def need(n):
        if n not in sd:
            raise ExportError("state dict: tensor %r is missing (not a torchvision "
                              "VisionTransformer state dict?)" % n)
        return sd[n]
    w = need("conv_proj.weight")
    if w.dim() != 4 or w.shape[1] != 3 or w.shape[2] != w.shape[3]:
        raise ExportError("state dict: conv_proj.weight has shape %s, expected [hidden_dim, 3, "
                          "patch, patch]" % list(w.shape))
    E, P = int(w.shape[0]), int(w.shape[2])
    pos = need("encoder.pos_embedding")
    if pos.dim() != 3 or pos.shape[0] != 1 or pos.shape[2] != E:
        raise ExportError("state dict: encoder.pos_embedding has shape %s, expected [1, S, %d]"
                          % (list(pos.shape), E))
    n = int(pos.shape[1]) - 1
    g = int(round(n ** 0.5))
    if g * g != n:
        raise ExportError("state dict: encoder.pos_embedding has %d positions: not 1 + a square "
                          "number of patches" % (n + 1))
    L = 0
    while ("encoder.layers.encoder_layer_%d.ln_1.weight" % L) in sd:
        L += 1
    if L == 0:
        raise ExportError("state dict: no encoder.layers.encoder_layer_0.*")
    M = int(need("encoder.layers.encoder_layer_0.mlp.0.weight").shape[0])
    R = int(sd["heads.pre_logits.weight"].shape[0]) if "heads.pre_logits.weight" in sd else None
    C = int(need("heads.head.weight").shape[0])
    return {"arch": "vit", "image_size": g * P, "patch_size": P, "num_layers": L,
            "num_heads": None, "hidden_dim": E, "mlp_dim": M, "num_classes": C,
            "representation_size": R, "layer_norm_eps": 1e-6}


def convert_torchvision(src, out, dtype="F32", arch=None, weights=None, num_heads=None,
                        recipe=None, preprocess=None, unsafe_pickle=False, log=_log):
    """from-torchvision: a torchvision VisionTransformer (a state dict file, or a whole
    pickled module with unsafe_pickle) -> the vkfuse model file `out` (arch vit).

    src: a name (vit_b_16, ...; then `weights` is the state dict file) or a file. arch: the
    torchvision builder whose parameters the weights must have (it gives num_heads);
    num_heads: for a state dict of another size. recipe: the torchvision weights whose
    transforms become vkfuse.image_preprocess ("none": no preprocessing metadata); by
    default the one whose file name `weights`/`src` is, else the arch's first whose crop is
    the image size. preprocess: an explicit vkfuse.image_preprocess object instead."""
    if src in TORCHVISION_VITS:
        if arch is not None and arch != src:
            raise ExportError("%s and --arch %s disagree" % (src, arch))
        arch = src
        if weights is None:
            first = TORCHVISION_RECIPES[arch][0]
            raise ExportError("%s: no download here: pass --weights FILE.pth, the state dict of "
                              "torchvision's %s weights (e.g. https://download.pytorch.org/models/"
                              "%s)" % (src, arch, first[1]))
        path = weights
    else:
        if weights is not None:
            raise ExportError("--weights is for a name (%s); %s is already a file"
                              % (", ".join(TORCHVISION_VITS), src))
        path = src
    if arch is not None and arch not in TORCHVISION_VITS:
        raise ExportError("--arch %s: one of %s" % (arch, ", ".join(TORCHVISION_VITS)))
    if not os.path.exists(path):
        raise ExportError("%s: no such file" % path)
    try:
        obj = _torch_load(path)
    except Exception as e:
        if not unsafe_pickle:
            raise ExportError("%s is not a plain state dict (%s: %s); if it is a whole pickled "
                              "VisionTransformer you trust, pass --unsafe-pickle (unpickling runs "
                              "code from the file)" % (path, type(e).__name__,
                                                       str(e).split("\n")[0][:200]))
        obj = _torch_load(path, weights_only=False)
    module_cfg = None
    if isinstance(obj, torch.nn.Module):
        if type(obj).__name__ != "VisionTransformer" or not hasattr(obj, "encoder"):
            raise ExportError("%s holds a %s, not a torchvision VisionTransformer"
                              % (path, type(obj).__name__))
        module_cfg = _vit_module_config(obj)
        sd = obj.state_dict()
    elif isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        log("note: %s is a training checkpoint: reading its \"model\" entry" % path)
        sd = obj["model"]
    elif isinstance(obj, dict):
        sd = obj
    else:
        raise ExportError("%s holds a %s, not a state dict or a VisionTransformer"
                          % (path, type(obj).__name__))
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ExportError("%s: entry %r is a %s, not a tensor" % (path, k, type(v).__name__))
    sd = _map_torchvision_names(sd, log)
    if any(k.startswith("conv_proj.conv_") for k in sd):
        raise ExportError("%s: conv_proj is a conv stem (conv_stem_configs): not implemented by "
                          "vkfuse" % path)
    cfg = _vit_config_from_weights(sd)
    if module_cfg is not None:
        for k in VIT_KEYS[1:]:
            if k != "num_heads" and k != "layer_norm_eps" and module_cfg[k] != cfg[k]:
                raise ExportError("%s: the module's %s is %s but its weights imply %s"
                                  % (path, k, module_cfg[k], cfg[k]))
        cfg["num_heads"] = module_cfg["num_heads"]
        cfg["layer_norm_eps"] = module_cfg["layer_norm_eps"]
    if arch is not None:
        for k, v in TORCHVISION_VITS[arch].items():
            if k == "num_heads":
                continue
            if cfg[k] != v:
                raise ExportError("%s: %s is %d in these weights, but %d in torchvision's %s"
                                  % (path, k, cfg[k], v, arch))
        if cfg["num_heads"] is not None and cfg["num_heads"] != TORCHVISION_VITS[arch]["num_heads"]:
            raise ExportError("%s: the module has %d heads, torchvision's %s %d"
                              % (path, cfg["num_heads"], arch, TORCHVISION_VITS[arch]["num_heads"]))
        cfg["num_heads"] = TORCHVISION_VITS[arch]["num_heads"]
    if num_heads is not None:
        if cfg["num_heads"] is not None and cfg["num_heads"] != num_heads:
            raise ExportError("--num-heads %d, but the %s has %d" % (
                num_heads, "module" if module_cfg else "arch " + str(arch), cfg["num_heads"]))
        cfg["num_heads"] = num_heads
    if cfg["num_heads"] is None:
        raise ExportError("%s: a state dict does not say how many attention heads the model has: "
                          "pass --arch NAME (%s) or --num-heads N"
                          % (path, ", ".join(TORCHVISION_VITS)))
    resolved, _ = check_standard_config(cfg)
    ref = hm.vit_shapes(resolved)
    names = [n for n, _ in ref]
    unexpected = [k for k in sd if k not in dict(ref)]
    if unexpected:
        raise ExportError("%s: cannot map tensor %r%s to arch vit (not a VisionTransformer "
                          "state_dict() key)" % (path, unexpected[0], " (and %d more)" % (
                              len(unexpected) - 1) if len(unexpected) > 1 else ""))
    missing = [n for n in names if n not in sd]
    if missing:
        raise ExportError("%s: tensor %r is missing for arch vit with this config"
                          % (path, missing[0]))
    ordered = collections.OrderedDict()
    for n, shape in ref:
        t = sd[n]
        if tuple(t.shape) != tuple(shape):
            raise ExportError("%s: tensor %r has shape %s, but the config implies %s"
                              % (path, n, list(t.shape), list(shape)))
        if not t.is_floating_point():
            raise ExportError("%s: tensor %r is %s, a weight must be floating point"
                              % (path, n, t.dtype))
        ordered[n] = t.contiguous()

    metadata = {}
    if preprocess is not None:
        check_image_preprocess(preprocess)
        pre = preprocess
    elif recipe == "none":
        pre = None
    else:
        pre = None
        tv_arch = arch
        if tv_arch is None:  # a module or state dict of a builder's size
            for a, params in TORCHVISION_VITS.items():
                if all(cfg[k] == v for k, v in params.items()):
                    tv_arch = a
        if recipe is not None:
            if tv_arch is None:
                raise ExportError("--recipe %s: these weights are not of a torchvision builder's "
                                  "size; pass --preprocess JSON instead" % recipe)
            pre, _ = torchvision_recipe(tv_arch, recipe)
        elif tv_arch is not None:
            base = os.path.basename(path)
            by_file = [r for r in TORCHVISION_RECIPES[tv_arch] if r[1] == base]
            by_size = [r for r in TORCHVISION_RECIPES[tv_arch] if r[2] == cfg["image_size"]]
            chosen = (by_file or by_size or [None])[0]
            if chosen is not None:
                pre, _ = torchvision_recipe(tv_arch, chosen[0])
                log("note: %s: the transforms of torchvision's %s %s weights (%s)"
                    % (IMAGE_PREPROCESS_KEY, tv_arch, chosen[0],
                       "the file name" if by_file
                       else "the first with crop %d" % cfg["image_size"]))
        if pre is None:
            log("note: no %s (not a torchvision builder's weights of this image size): pass "
                "--preprocess JSON to add one" % IMAGE_PREPROCESS_KEY)
    if pre is not None:
        if "crop" in pre and pre["crop"] != [cfg["image_size"]] * 2:
            raise ExportError("%s: crop %s, but the model's image_size is %d"
                              % (IMAGE_PREPROCESS_KEY, pre["crop"], cfg["image_size"]))
        metadata[IMAGE_PREPROCESS_KEY] = pre
    config = {k: cfg[k] for k in VIT_KEYS}
    info = export_model(out, ordered, config, metadata=metadata, dtype=dtype, check=True)
    info.update(config=config, metadata=metadata)
    return info


# --------------------------------------------------------------------------------------------
# Command line.


def _json_arg(s):
    if os.path.exists(s):
        with open(s) as f:
            return json.load(f)
    return json.loads(s)


def _cmd_export(a):
    config = _json_arg(a.config) if a.config else None
    vocab = _json_arg(a.vocab) if a.vocab else None
    metadata = {}
    if a.src.endswith(".safetensors"):
        m = load_model(a.src)
        sd = m.state_dict
        config = config if config is not None else m.config
        vocab = vocab if vocab is not None else m.vocab
        metadata = {k: v for k, v in m.metadata.items() if k not in (CONFIG_KEY, VOCAB_KEY)}
    else:
        try:
            sd = torch.load(a.src, map_location="cpu", weights_only=True)
        except TypeError:  # a PyTorch without weights_only
            sd = torch.load(a.src, map_location="cpu")
        if not isinstance(sd, dict):
            raise ExportError("%s holds a %s, not a state_dict (save model.state_dict())"
                              % (a.src, type(sd).__name__))
    if config is None:
        raise ExportError("--config is required")
    for kv in a.meta:
        if "=" not in kv:
            raise ExportError("--meta %r: use KEY=VALUE" % kv)
        k, v = kv.split("=", 1)
        metadata[k] = v
    info = export_model(a.out, sd, config, vocab, metadata, a.dtype, check=not a.no_check)
    print("wrote %(path)s: %(tensors)d tensors, %(parameters)d parameters, %(bytes)d bytes"
          % info)


def _cmd_info(a):
    m = load_model(a.model)
    print("config: %s" % json.dumps(m.config))
    if m.vocab is not None:
        print("vocab: %d entries: %s" % (len(m.vocab), " ".join(m.vocab[:40])
                                         + (" ..." if len(m.vocab) > 40 else "")))
    for k, v in m.metadata.items():
        if k not in (CONFIG_KEY, VOCAB_KEY):
            print("%s: %s" % (k, v))
    n = 0
    for k, t in m.state_dict.items():
        n += t.numel()
        print("  %-50s %-4s %s" % (k, FROM_NAME_INV[t.dtype], list(t.shape)))
    print("%d tensors, %d parameters, %d bytes" % (len(m.state_dict), n,
                                                   os.path.getsize(a.model)))


def _print_written(info):
    print("wrote %(path)s: %(tensors)d tensors, %(parameters)d parameters, %(bytes)d bytes"
          % info)
    print("config: %s" % json.dumps(info["config"], separators=(",", ":")))
    for k, v in info["metadata"].items():
        print("%s: %s" % (k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))))


def _cmd_from_hf(a):
    _print_written(convert_hf(a.dir, a.out, a.dtype))


def _cmd_from_torchvision(a):
    pre = _json_arg(a.preprocess) if a.preprocess else None
    _print_written(convert_torchvision(a.src, a.out, a.dtype, arch=a.arch, weights=a.weights,
                                       num_heads=a.num_heads, recipe=a.recipe, preprocess=pre,
                                       unsafe_pickle=a.unsafe_pickle))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write a state_dict as a vkfuse model file")
    e.add_argument("src", help="torch.save'd state_dict (.pt) or a vkfuse .safetensors file")
    e.add_argument("out")
    e.add_argument("--config", help="JSON file or inline JSON object (needs \"arch\")")
    e.add_argument("--vocab", help="JSON file or inline JSON list of strings")
    e.add_argument("--meta", action="append", default=[], help="KEY=VALUE (repeatable)")
    e.add_argument("--dtype", default="F32", choices=sorted(FLOAT_DTYPES))
    e.add_argument("--no-check", action="store_true",
                   help="skip the tensor name/shape check against the spec's module")
    i = sub.add_parser("info", help="print a vkfuse model file's config, metadata, tensors")
    i.add_argument("model")
    h = sub.add_parser("from-hf", help="convert a Hugging Face CLIP or BERT checkpoint folder")
    h.add_argument("dir", help="the folder: config.json, model.safetensors or "
                   "pytorch_model.bin, tokenizer files, preprocessor_config.json")
    h.add_argument("out")
    h.add_argument("--dtype", default="F32", choices=sorted(FLOAT_DTYPES))
    t = sub.add_parser("from-torchvision", help="convert a torchvision VisionTransformer")
    t.add_argument("src", metavar="NAME_OR_PTH",
                   help="%s (with --weights FILE.pth), or a state dict / pickled module file"
                   % "|".join(TORCHVISION_VITS))
    t.add_argument("out")
    t.add_argument("--dtype", default="F32", choices=sorted(FLOAT_DTYPES))
    t.add_argument("--weights", help="the state dict file, with a NAME")
    t.add_argument("--arch", choices=sorted(TORCHVISION_VITS),
                   help="the builder the weights belong to (gives the head count)")
    t.add_argument("--num-heads", type=int, help="the head count of a state dict of another size")
    t.add_argument("--recipe", help="the torchvision weights (IMAGENET1K_V1, "
                   "IMAGENET1K_SWAG_E2E_V1, ...) whose transforms become "
                   "vkfuse.image_preprocess, or none")
    t.add_argument("--preprocess", help="vkfuse.image_preprocess JSON (a file or inline) instead")
    t.add_argument("--unsafe-pickle", action="store_true",
                   help="allow a whole pickled VisionTransformer (unpickling runs code)")
    a = p.parse_args(argv)
    try:
        {"export": _cmd_export, "info": _cmd_info, "from-hf": _cmd_from_hf,
         "from-torchvision": _cmd_from_torchvision}[a.cmd](a)
    except (ExportError, OSError, json.JSONDecodeError) as err:
        print("vkfuse_export: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
