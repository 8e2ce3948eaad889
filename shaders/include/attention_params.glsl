// Push constants of the attention kernels (attention_contract.h; engine/ops/attention.cpp
// fills them).
#include "attention_contract.h"
layout(push_constant) uniform Params { ATTENTION_PARAMS } p;

// Additive masks: key padding [B, S] and attention mask [L, S], -inf where not allowed; and
// the causal mask computed from the positions.
float mask_add(uint b, uint l, uint j) {
  if ((p.flags & FLAG_CAUSAL) != 0u && j > l) return NEG_INF;
  float x = 0.0;
  if ((p.flags & FLAG_KEY_PAD) != 0u) x += key_pad[p.off_kp + b * p.S + j];
  if ((p.flags & FLAG_ATTN_MASK) != 0u) x += attn_mask[p.off_am + l * p.S + j];
  return x;
}
