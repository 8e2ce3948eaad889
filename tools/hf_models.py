"""PyTorch reference modules of the standard architectures vkfuse runs as their libraries save
them (spec: "Standard architectures"): Hugging Face's CLIPModel and BertModel, rewritten
here with exactly Hugging Face's state_dict() keys and forward math (eval mode, no dropout),
since `transformers` is not installed where the test cases are made. torchvision's
VisionTransformer is not rewritten: the cases use the real torchvision module; only its
tensor shapes are here (vit_shapes).

    import sys; sys.path.insert(0, "tools")
    import hf_models as hm
    cfg = hm.clip_config(json.load(open("config.json")))   # HF's defaults filled in
    model = hm.CLIPModel(cfg).eval()
    out = model(input_ids=ids, pixel_values=px, attention_mask=am)
    # out: {"image_embeds", "text_embeds", "logits_per_image", "logits_per_text"} (those
    # the inputs allow); also model.get_image_features(px), model.get_text_features(ids, am)
    bert = hm.BertModel(hm.bert_config(d), add_pooling_layer=True).eval()
    last, pooled = bert(input_ids, attention_mask, token_type_ids)
    emb = hm.sentence_embedding(last, attention_mask)     # masked mean, then L2-normalized

What is Hugging Face's and where it came from (transformers sources read:
src/transformers/models/clip/{modeling,configuration}_clip.py and
src/transformers/models/bert/{modeling,configuration}_bert.py):

- Configs: CLIPTextConfig / CLIPVisionConfig / CLIPConfig / BertConfig defaults (the values
  of the current sources; see *_DEFAULTS). CLIPConfig's legacy `text_config_dict` /
  `vision_config_dict` override `text_config` / `vision_config` key by key, as CLIPConfig's
  constructor does.
- `position_ids` buffers are persistent here (persistent_position_ids=True), as the Hugging
  Face versions before 4.31 saved them (text_model.embeddings.position_ids,
  vision_model.embeddings.position_ids, embeddings.position_ids): checkpoints carry them and
  the converter must drop them. BERT's `embeddings.token_type_ids` buffer is non-persistent,
  as in Hugging Face.
- CLIP attention (both towers): q/k/v/out projections with bias, scores = q·kᵀ·head_dim^-0.5,
  text tower: + causal mask + padding mask (each torch.finfo(dtype).min where not allowed,
  added separately as modeling_clip.py's eager path does), softmax, ·v. Encoder layers are
  pre-LN (layer_norm1, self_attn, residual, layer_norm2, mlp, residual). Vision: class
  embedding + conv patches (no bias) + position embedding, pre_layrnorm, encoder, pooled =
  post_layernorm(last_hidden_state[:, 0]). Text: token + position embedding, encoder,
  final_layer_norm, pooled = the row chosen by the EOS rule (clip_pooled_positions).
  CLIPModel: projections without bias, embeds divided by their L2 norm,
  logits_per_text = text_embeds @ image_embeds.T * exp(logit_scale), logits_per_image = .T.
- The EOS rule differs between transformers versions (clip_pooled_positions, EOS_RULES):
  "eos_token_id_2" (transformers 4.31 up to the MetaCLIP-2 change of 2025: argmax of
  input_ids when config eos_token_id == 2, else the first position of eos_token_id) is the
  default here; "max_49407" is the current sources' (argmax when every row's largest id is
  49407, else the first eos position); "either" takes the argmax when either condition
  holds. Before 4.31 it was always the argmax.
- BERT: word + position + token_type embeddings, LayerNorm; post-LN layers
  (attention.self.{query,key,value}, attention.output.dense + LayerNorm(x + .),
  intermediate.dense + act, output.dense + LayerNorm(x + .)); the extended attention mask
  (1 - mask) * torch.finfo(dtype).min added to the scores; pooler = tanh(dense(h[:, 0])).
- Activations (transformers/activations.py): quick_gelu x·sigmoid(1.702x), gelu exact erf,
  gelu_new 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x³))), relu.
"""

import math
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Configs: Hugging Face's defaults.

CLIP_TEXT_DEFAULTS = {
    "vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048, "projection_dim": 512,
    "num_hidden_layers": 12, "num_attention_heads": 8, "max_position_embeddings": 77,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "attention_dropout": 0.0,
    "initializer_range": 0.02, "initializer_factor": 1.0, "pad_token_id": 1,
    "bos_token_id": 49406, "eos_token_id": 49407}
CLIP_VISION_DEFAULTS = {
    "hidden_size": 768, "intermediate_size": 3072, "projection_dim": 512,
    "num_hidden_layers": 12, "num_attention_heads": 12, "num_channels": 3, "image_size": 224,
    "patch_size": 32, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
    "attention_dropout": 0.0, "initializer_range": 0.02, "initializer_factor": 1.0}
CLIP_DEFAULTS = {"projection_dim": 512, "logit_scale_init_value": 2.6592}
BERT_DEFAULTS = {
    "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
    "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "use_cache": True, "classifier_dropout": None}
# PretrainedConfig attributes that the forward of these models could read.
PRETRAINED_DEFAULTS = {"is_decoder": False, "add_cross_attention": False,
                       "chunk_size_feed_forward": 0, "pruned_heads": {}}

CLIP_ACTS = ("quick_gelu", "gelu")
BERT_ACTS = ("gelu", "relu", "gelu_new")


def _ns(defaults, *overrides):
    d = dict(PRETRAINED_DEFAULTS)
    d.update(defaults)
    for o in overrides:
        d.update(o or {})
    return types.SimpleNamespace(**d)


def clip_sub_configs(d):
    """(text dict, vision dict) as CLIPConfig reads them: *_config updated by the legacy
    *_config_dict (which wins key by key); no defaults filled in."""
    out = []
    for name in ("text_config", "vision_config"):
        sub = dict(d.get(name) or {})
        sub.update(d.get(name + "_dict") or {})
        out.append(sub)
    return tuple(out)


def clip_config(d):
    """A CLIPConfig-like namespace from a config.json dict: .text, .vision (namespaces with
    CLIPTextConfig / CLIPVisionConfig defaults filled in), .projection_dim,
    .logit_scale_init_value."""
    text, vision = clip_sub_configs(d)
    top = dict(CLIP_DEFAULTS)
    top.update({k: d[k] for k in CLIP_DEFAULTS if k in d})
    return types.SimpleNamespace(text=_ns(CLIP_TEXT_DEFAULTS, text),
                                 vision=_ns(CLIP_VISION_DEFAULTS, vision), **top)


def bert_config(d):
    """A BertConfig-like namespace from a config.json dict (defaults filled in)."""
    return _ns(BERT_DEFAULTS, d)


# ---------------------------------------------------------------------------------------------
# Activations (transformers.activations.ACT2FN, the ones vkfuse implements).


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                       * (x + 0.044715 * torch.pow(x, 3.0))))


ACT2FN = {"quick_gelu": quick_gelu, "gelu": F.gelu, "gelu_new": gelu_new, "relu": F.relu}


# ---------------------------------------------------------------------------------------------
# CLIP.

EOS_RULES = ("eos_token_id_2", "max_49407", "either")


def clip_pooled_positions(input_ids, eos_token_id, rule="eos_token_id_2"):
    """The row of each sequence that CLIPTextTransformer pools, [B] int64 (see the module
    docstring for the rules; torch's argmax returns the first maximal position)."""
    ids = input_ids.to(torch.int)
    argmax = ids.argmax(dim=-1)
    first_eos = (ids == eos_token_id).int().argmax(dim=-1)
    legacy_2 = eos_token_id == 2
    all_49407 = bool(torch.all(input_ids.max(dim=-1).values == 49407).item())
    if rule == "eos_token_id_2":
        use_argmax = legacy_2
    elif rule == "max_49407":
        use_argmax = all_49407
    elif rule == "either":
        use_argmax = legacy_2 or all_49407
    else:
        raise ValueError("eos rule %r: one of %s" % (rule, EOS_RULES))
    return argmax if use_argmax else first_eos


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c, persistent_position_ids=True):
        super().__init__()
        self.embed_dim = c.hidden_size
        self.image_size = c.image_size
        self.patch_size = c.patch_size
        self.class_embedding = nn.Parameter(torch.randn(self.embed_dim))
        self.patch_embedding = nn.Conv2d(c.num_channels, self.embed_dim, kernel_size=c.patch_size,
                                         stride=c.patch_size, bias=False)
        self.num_patches = (c.image_size // c.patch_size) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim)
        self.register_buffer("position_ids", torch.arange(self.num_positions).expand((1, -1)),
                             persistent=persistent_position_ids)

    def forward(self, pixel_values):
        B, _, h, w = pixel_values.shape
        if h != self.image_size or w != self.image_size:
            raise ValueError("Input image size (%d*%d) doesn't match model (%d*%d)."
                             % (h, w, self.image_size, self.image_size))
        patch = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype))
        patch = patch.flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(B, 1, -1)
        x = torch.cat([cls, patch], dim=1)
        return x + self.position_embedding(self.position_ids)


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c, persistent_position_ids=True):
        super().__init__()
        self.token_embedding = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embedding = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.register_buffer("position_ids",
                             torch.arange(c.max_position_embeddings).expand((1, -1)),
                             persistent=persistent_position_ids)

    def forward(self, input_ids):
        T = input_ids.shape[-1]
        if T > self.position_embedding.weight.shape[0]:
            raise ValueError("Sequence length must be less than max_position_embeddings")
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :T])


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_dim = c.hidden_size
        self.num_heads = c.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.scale = self.head_dim ** -0.5
        # Hugging Face's registration order (the state_dict order): k, v, q, out.
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def forward(self, x, attention_mask=None, causal_attention_mask=None):
        B, T, E = x.shape
        H, D = self.num_heads, self.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, H, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, D).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if causal_attention_mask is not None:
            s = s + causal_attention_mask
        if attention_mask is not None:
            s = s + attention_mask
        p = torch.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(p, v).transpose(1, 2).reshape(B, T, E)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.hidden_act not in CLIP_ACTS:
            raise ValueError("hidden_act %r: vkfuse's CLIP implements %s"
                             % (c.hidden_act, CLIP_ACTS))
        self.act = ACT2FN[c.hidden_act]
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, attention_mask=None, causal_attention_mask=None):
        x = x + self.self_attn(self.layer_norm1(x), attention_mask, causal_attention_mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, attention_mask=None, causal_attention_mask=None):
        for layer in self.layers:
            x = layer(x, attention_mask, causal_attention_mask)
        return x


class CLIPTextTransformer(nn.Module):
    def __init__(self, c, persistent_position_ids=True, eos_rule="eos_token_id_2"):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c, persistent_position_ids)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.eos_token_id = c.eos_token_id
        self.eos_rule = eos_rule

    def forward(self, input_ids, attention_mask=None):
        """Returns (last_hidden_state, pooled_output)."""
        x = self.embeddings(input_ids)
        B, T = input_ids.shape
        dt = x.dtype
        neg = torch.finfo(dt).min
        # _create_4d_causal_attention_mask: min above the diagonal, 0 elsewhere.
        causal = torch.full((T, T), neg, dtype=dt).triu(1).reshape(1, 1, T, T)
        pad = None
        if attention_mask is not None:
            # _prepare_4d_attention_mask: (1 - mask) * min, [B, 1, T, T].
            m = attention_mask.to(dt).reshape(B, 1, 1, T).expand(B, 1, T, T)
            pad = (1.0 - m).masked_fill((1.0 - m).bool(), neg)
        x = self.encoder(x, pad, causal)
        x = self.final_layer_norm(x)
        pos = clip_pooled_positions(input_ids, self.eos_token_id, self.eos_rule)
        return x, x[torch.arange(B), pos]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c, persistent_position_ids=True):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(c, persistent_position_ids)
        self.pre_layrnorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values):
        """Returns (last_hidden_state, pooled_output)."""
        x = self.pre_layrnorm(self.embeddings(pixel_values))
        x = self.encoder(x)
        return x, self.post_layernorm(x[:, 0, :])


def _l2(x):
    # modeling_clip._get_vector_norm: sum(x^2)^0.5, no epsilon.
    return x / torch.pow(torch.sum(torch.pow(x, 2), dim=-1, keepdim=True), 0.5)


class CLIPModel(nn.Module):
    def __init__(self, cfg, persistent_position_ids=True, eos_rule="eos_token_id_2"):
        super().__init__()
        self.config = cfg
        self.text_model = CLIPTextTransformer(cfg.text, persistent_position_ids, eos_rule)
        self.vision_model = CLIPVisionTransformer(cfg.vision, persistent_position_ids)
        self.visual_projection = nn.Linear(cfg.vision.hidden_size, cfg.projection_dim, bias=False)
        self.text_projection = nn.Linear(cfg.text.hidden_size, cfg.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.logit_scale_init_value)))

    def get_image_features(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values)[1])

    def get_text_features(self, input_ids, attention_mask=None):
        return self.text_projection(self.text_model(input_ids, attention_mask)[1])

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None):
        """The outputs of spec arch clip: image_embeds and/or text_embeds (normalized), and
        with both, logits_per_image [B, Bt] and logits_per_text [Bt, B]."""
        out = {}
        if pixel_values is not None:
            out["image_embeds"] = _l2(self.get_image_features(pixel_values))
        if input_ids is not None:
            out["text_embeds"] = _l2(self.get_text_features(input_ids, attention_mask))
        if len(out) == 2:
            lpt = torch.matmul(out["text_embeds"], out["image_embeds"].t()) * self.logit_scale.exp()
            out["logits_per_image"] = lpt.t()
            out["logits_per_text"] = lpt
        return out


# ---------------------------------------------------------------------------------------------
# BERT.


class BertEmbeddings(nn.Module):
    def __init__(self, c, persistent_position_ids=True):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        if c.position_embedding_type != "absolute":
            raise ValueError("position_embedding_type %r: only absolute"
                             % c.position_embedding_type)
        self.register_buffer("position_ids",
                             torch.arange(c.max_position_embeddings).expand((1, -1)),
                             persistent=persistent_position_ids)
        self.register_buffer("token_type_ids", torch.zeros(1, c.max_position_embeddings,
                                                           dtype=torch.long), persistent=False)

    def forward(self, input_ids, token_type_ids=None):
        B, T = input_ids.shape
        if token_type_ids is None:
            token_type_ids = self.token_type_ids[:, :T].expand(B, T)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(self.position_ids[:, :T])
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.hidden_size % c.num_attention_heads != 0:
            raise ValueError("hidden_size is not a multiple of num_attention_heads")
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def _heads(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, x, attention_mask=None):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        if attention_mask is not None:
            s = s + attention_mask
        p = torch.softmax(s, dim=-1)
        o = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()
        return o.view(o.shape[0], o.shape[1], -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, attention_mask=None):
        return self.output(self.self(x, attention_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.hidden_act not in BERT_ACTS:
            raise ValueError("hidden_act %r: vkfuse's BERT implements %s"
                             % (c.hidden_act, BERT_ACTS))
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = ACT2FN[c.hidden_act]

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.is_decoder or c.add_cross_attention:
            raise ValueError("is_decoder / add_cross_attention are not implemented")
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, attention_mask=None):
        a = self.attention(x, attention_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, attention_mask=None):
        for layer in self.layer:
            x = layer(x, attention_mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, cfg, add_pooling_layer=True, persistent_position_ids=True):
        super().__init__()
        self.config = cfg
        self.embeddings = BertEmbeddings(cfg, persistent_position_ids)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """Returns (last_hidden_state [B,T,H], pooler_output [B,H] or None)."""
        B, T = input_ids.shape
        x = self.embeddings(input_ids, token_type_ids)
        if attention_mask is None:
            attention_mask = torch.ones(B, T, dtype=x.dtype)
        ext = attention_mask.reshape(B, 1, 1, T).to(x.dtype)
        ext = (1.0 - ext) * torch.finfo(x.dtype).min  # get_extended_attention_mask
        h = self.encoder(x, ext)
        return h, (self.pooler(h) if self.pooler is not None else None)


def sentence_embedding(last_hidden_state, attention_mask=None):
    """sentence-transformers' mean Pooling then Normalize: the mean of the rows of real
    tokens (attention_mask nonzero; all when None), divided by its L2 norm."""
    if attention_mask is None:
        attention_mask = torch.ones(last_hidden_state.shape[:2])
    m = (attention_mask != 0).unsqueeze(-1).to(last_hidden_state.dtype)
    s = (last_hidden_state * m).sum(1)
    mean = s / torch.clamp(m.sum(1), min=1e-9)
    return F.normalize(mean, p=2, dim=1)


# ---------------------------------------------------------------------------------------------
# Tensor names and shapes, without building a module (a real checkpoint would take gigabytes).


def clip_shapes(cfg):
    """[(name, shape)] of CLIPModel(cfg).state_dict() without the position_ids buffers, in
    Hugging Face's (PyTorch's) order: logit_scale, text_model.*, vision_model.*, projections."""
    t, v = cfg.text, cfg.vision
    out = []

    def enc(pre, c):
        E, I = c.hidden_size, c.intermediate_size
        for i in range(c.num_hidden_layers):
            p = "%s.encoder.layers.%d." % (pre, i)
            for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
                out.append((p + "self_attn.%s.weight" % n, (E, E)))
                out.append((p + "self_attn.%s.bias" % n, (E,)))
            out.extend([(p + "layer_norm1.weight", (E,)), (p + "layer_norm1.bias", (E,)),
                        (p + "mlp.fc1.weight", (I, E)), (p + "mlp.fc1.bias", (I,)),
                        (p + "mlp.fc2.weight", (E, I)), (p + "mlp.fc2.bias", (E,)),
                        (p + "layer_norm2.weight", (E,)), (p + "layer_norm2.bias", (E,))])

    out += [("text_model.embeddings.token_embedding.weight", (t.vocab_size, t.hidden_size)),
            ("text_model.embeddings.position_embedding.weight",
             (t.max_position_embeddings, t.hidden_size))]
    enc("text_model", t)
    out += [("text_model.final_layer_norm.weight", (t.hidden_size,)),
            ("text_model.final_layer_norm.bias", (t.hidden_size,))]
    npos = (v.image_size // v.patch_size) ** 2 + 1
    out += [("vision_model.embeddings.class_embedding", (v.hidden_size,)),
            ("vision_model.embeddings.patch_embedding.weight",
             (v.hidden_size, v.num_channels, v.patch_size, v.patch_size)),
            ("vision_model.embeddings.position_embedding.weight", (npos, v.hidden_size)),
            ("vision_model.pre_layrnorm.weight", (v.hidden_size,)),
            ("vision_model.pre_layrnorm.bias", (v.hidden_size,))]
    enc("vision_model", v)
    out += [("vision_model.post_layernorm.weight", (v.hidden_size,)),
            ("vision_model.post_layernorm.bias", (v.hidden_size,)),
            ("visual_projection.weight", (cfg.projection_dim, v.hidden_size)),
            ("text_projection.weight", (cfg.projection_dim, t.hidden_size))]
    return [("logit_scale", ())] + out  # the root module's own parameter comes first


def bert_shapes(cfg, pooler=True):
    """[(name, shape)] of BertModel(cfg, add_pooling_layer=pooler).state_dict() without the
    position_ids buffer, in Hugging Face's order."""
    E, I = cfg.hidden_size, cfg.intermediate_size
    out = [("embeddings.word_embeddings.weight", (cfg.vocab_size, E)),
           ("embeddings.position_embeddings.weight", (cfg.max_position_embeddings, E)),
           ("embeddings.token_type_embeddings.weight", (cfg.type_vocab_size, E)),
           ("embeddings.LayerNorm.weight", (E,)), ("embeddings.LayerNorm.bias", (E,))]
    for i in range(cfg.num_hidden_layers):
        p = "encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            out += [(p + "attention.self.%s.weight" % n, (E, E)),
                    (p + "attention.self.%s.bias" % n, (E,))]
        out += [(p + "attention.output.dense.weight", (E, E)),
                (p + "attention.output.dense.bias", (E,)),
                (p + "attention.output.LayerNorm.weight", (E,)),
                (p + "attention.output.LayerNorm.bias", (E,)),
                (p + "intermediate.dense.weight", (I, E)), (p + "intermediate.dense.bias", (I,)),
                (p + "output.dense.weight", (E, I)), (p + "output.dense.bias", (E,)),
                (p + "output.LayerNorm.weight", (E,)), (p + "output.LayerNorm.bias", (E,))]
    if pooler:
        out += [("pooler.dense.weight", (E, E)), ("pooler.dense.bias", (E,))]
    return out


def vit_shapes(cfg):
    """[(name, shape)] of torchvision.models.VisionTransformer(**cfg).state_dict() (torchvision
    0.14 names), cfg being vkfuse's vit config dict."""
    E, M, P = cfg["hidden_dim"], cfg["mlp_dim"], cfg["patch_size"]
    S = (cfg["image_size"] // P) ** 2 + 1
    out = [("class_token", (1, 1, E)), ("conv_proj.weight", (E, 3, P, P)),
           ("conv_proj.bias", (E,)), ("encoder.pos_embedding", (1, S, E))]
    for i in range(cfg["num_layers"]):
        p = "encoder.layers.encoder_layer_%d." % i
        out += [(p + "ln_1.weight", (E,)), (p + "ln_1.bias", (E,)),
                (p + "self_attention.in_proj_weight", (3 * E, E)),
                (p + "self_attention.in_proj_bias", (3 * E,)),
                (p + "self_attention.out_proj.weight", (E, E)),
                (p + "self_attention.out_proj.bias", (E,)),
                (p + "ln_2.weight", (E,)), (p + "ln_2.bias", (E,)),
                (p + "mlp.0.weight", (M, E)), (p + "mlp.0.bias", (M,)),
                (p + "mlp.3.weight", (E, M)), (p + "mlp.3.bias", (E,))]
    out += [("encoder.ln.weight", (E,)), ("encoder.ln.bias", (E,))]
    R = cfg.get("representation_size")
    if R is None:
        out += [("heads.head.weight", (cfg["num_classes"], E)),
                ("heads.head.bias", (cfg["num_classes"],))]
    else:
        out += [("heads.pre_logits.weight", (R, E)), ("heads.pre_logits.bias", (R,)),
                ("heads.head.weight", (cfg["num_classes"], R)),
                ("heads.head.bias", (cfg["num_classes"],))]
    return out

