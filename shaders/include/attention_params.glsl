// Push constants of the attention kernels (engine/ops/attention.cpp fills them).
// Strides are in elements; q, k, v and o are [B, H, rows, D] views with a contiguous D.
#define FLAG_KEY_PAD 1u
#define FLAG_ATTN_MASK 2u
#define FLAG_LSE 4u

layout(push_constant) uniform Params {
  uint B, H, L, S;
  uint off_q, sq_b, sq_h, sq_l;
  uint off_k, sk_b, sk_h, sk_s;
  uint off_v, sv_b, sv_h, sv_s;
  uint off_o, so_b, so_h, so_l;
  uint off_kp, off_am, off_lse, flags;
  float scale;
  uint d_total, d0;  // head_dim, and the first of the D columns this dispatch owns (WIDE)
} p;

// Additive masks: key padding [B, S] and attention mask [L, S], -inf where not allowed.
float mask_add(uint b, uint l, uint j) {
  float x = 0.0;
  if ((p.flags & FLAG_KEY_PAD) != 0u) x += key_pad[p.off_kp + b * p.S + j];
  if ((p.flags & FLAG_ATTN_MASK) != 0u) x += attn_mask[p.off_am + l * p.S + j];
  return x;
}
