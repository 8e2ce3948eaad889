#pragma once
#include <cstdint>
#include <string>

namespace vkfuse {

struct Capabilities;
struct DeviceInfo;

// Tile shapes and workgroup sizes, passed to the shaders as specialization constants.
// choose_tuning() picks them per device; tests and benches may override any field.
struct Tuning {
  struct Matmul {
    uint32_t wg_x = 16, wg_y = 8;  // invocations along N and M
    uint32_t tm = 4, tn = 4;       // outputs per invocation (rows, columns)
    uint32_t bk = 16;              // K depth of a shared-memory tile
    // CPU devices: read A and B as vec4 texels, no shared memory (shaders/matmul.comp),
    // where their offsets and strides are multiples of 4 floats (needs tn % 4 == 0); the
    // tiled kernel with the same tile sizes otherwise.
    bool texels = false;
    // With texels: the lanes of a subgroup fetch different rows of A and share them by
    // subgroupShuffle (needs wg_x = the subgroup size, tm <= twice it, subgroup shuffles).
    bool shared_a = false;
    // Weight matrices whose rows are a multiple of 64 floats get this many more floats per
    // row in device memory (Context::matrix), so rows do not share cache sets.
    uint32_t pad_rows = 0;
    // Tiled kernel: A and B tiles in shared memory as fp16 and their products in fp16
    // (shaderFloat16), summed in fp32: half the shared memory and faster multiplies where the
    // device has fast fp16, at ~3·2^-11 relative error per product and fp16's range (|x| up to
    // 65504). Off by default; docs/TUNING.md has its measured error.
    bool fp16_math = false;
    // VK_NV_cooperative_matrix (Capabilities::cooperative_matrix): a workgroup of one subgroup
    // computes tm x tn blocks of 16x16 (tm·tn <= 8) with the matrix units, A and B rounded
    // to fp16 (2^-11 each; |x| above 65504 becomes inf, below 2^-24 zero), products and sums
    // fp32. Off by default (docs/TUNING.md); 16-bit B without 16-bit storage takes the others.
    bool coopmat = false;
  } matmul;
  struct Rows {
    uint32_t wg = 128;             // invocations per workgroup
    uint32_t tpr = 128;            // invocations per row (a power of two dividing wg)
    bool texels = false;           // with tpr 1: vec4 texels (softmax: x; layer norm: every operand)
  } softmax, layer_norm;
  uint32_t elementwise_wg = 128;  // also the graph ops' one-invocation-per-element kernels
  // Convolution's implicit GEMM (shaders/conv.comp): as matmul's shared-memory tiles, a
  // workgroup of wg_x (positions) x wg_y (channels) invocations with tm x tn outputs each
  // (both 1..8), K staged bk deep.
  struct Conv {
    uint32_t wg_x = 16, wg_y = 8, tm = 4, tn = 4, bk = 16;
  } conv;
  struct Attention {
    uint32_t wg = 64;     // per-row kernel: invocations per workgroup, one query row each
    bool texels = false;  // per-row kernel: q, k, v as RGBA32F texels where 4-aligned (CPU devices)
    // The tiled flash kernel (shaders/attention_tiled.comp) for head dimensions up to 256:
    // a workgroup of tiled_wg invocations takes tiled_wg / lanes query rows and stages K/V
    // tiles of bc keys in shared memory (bc is halved until the tiles fit the device).
    bool tiled = false;
    uint32_t tiled_wg = 128;
    uint32_t bc = 16;
    uint32_t lanes = 0;         // lanes per query row, a power of two; 0: D/16 rounded up, 1..16
    // Split the keys over workgroups while the query rows alone make fewer workgroups than
    // this (decode); 0 never splits.
    uint32_t split_below = 64;
    // Rows reduce by subgroup shuffles, built from subgroup lanes: needs every subgroup full
    // and of the reported size, which the vendor table asserts only where the size is fixed.
    bool subgroup_rows = false;
    // Tiled kernel: K/V tiles in shared memory and q as fp16, each score term's product (or
    // difference) in fp16 (shaderFloat16), sums, softmax and P·V in fp32: half the shared
    // memory. Off by default; docs/TUNING.md has its measured error.
    bool fp16_math = false;
  } attention;
  bool use_subgroups = false;      // subgroup reductions where the device has them
};

Tuning choose_tuning(const DeviceInfo& device, const Capabilities& caps);

// Throws Error naming the field when a tuning does not fit the capabilities.
void check_tuning(const Tuning& t, const Capabilities& caps);

std::string to_string(const Tuning& t);

}  // namespace vkfuse
