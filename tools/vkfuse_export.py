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

FLOAT_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_FLOAT_IN = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
_KEPT = (torch.int64, torch.int32, torch.uint8, torch.bool)  # stored as they are
CONFIG_KEY = "vkfuse.config"
VOCAB_KEY = "vkfuse.vocab"

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


def reference_shapes(config):
    """{name: shape} of the state_dict the spec's module for `config` has, or None when the
    arch is not one tools/vkfuse_modules.py builds. Raises ExportError when the config
    cannot build the module (a missing key, say)."""
    import vkfuse_modules as vm
    arch = config.get("arch")
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

    tensors = [(name, _prepare_tensor(name, t, target)) for name, t in state_dict.items()]
    if check:
        ref = reference_shapes(config)
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
    a = p.parse_args(argv)
    try:
        (_cmd_export if a.cmd == "export" else _cmd_info)(a)
    except (ExportError, OSError, json.JSONDecodeError) as err:
        print("vkfuse_export: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
