// Tile shapes and workgroup sizes per device; they reach the shaders as specialization
// constants. Measured choices are explained in docs/TUNING.md.
#include "vkfuse/tuning.hpp"

#include <algorithm>

#include "vkfuse/device.hpp"
#include "vkfuse/error.hpp"
#include "vendor_tuning.h"

namespace vkfuse {

namespace {
uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
}  // namespace

Tuning choose_tuning(const DeviceInfo& device, const Capabilities& caps) {
  Tuning t;
  uint32_t inv = std::min(caps.max_workgroup_invocations, caps.max_workgroup_size[0]);
  const detail::VendorRow* row = caps.portable ? nullptr : detail::vendor_row(device);
  if (row && row->cpu) {
    // lavapipe: invocations run 8 to a SIMD register; storage-buffer and shared-memory loads
    // are per-invocation loops (~10 cycles per float) while texel fetches are vector gathers.
    // No shared memory, A and B as texels, an 8x8 register block (64 fp32 accumulators per
    // invocation amortize each fetch); 8x4 invocations share a 64-column panel of B in L2.
    // 1024^3: 1.8 GFLOP/s shared-memory tiled, 19-24 uniform texel buffers (texelFetch is a
    // function call in gallivm), 26-27 storage texel buffers (imageLoad inlined); 2048^3
    // 20-22 -> 29-32 (noisy 2-core host). Smaller blocks (4x4, 6x4, 4x8), 8x1 and 8x8
    // workgroups, a K loop unrolled by 8 and r32f texels measured no better or worse.
    t.matmul = row->matmul;  // {8, 4, 8, 8, 4}: vendor_tuning.cpp
    t.matmul.texels = caps.rgba32f_storage_texels;
    // The 8 lanes of a vector share one row block, so they fetch 8 different rows of A and
    // broadcast them by subgroupShuffle instead of gathering one address 8 times.
    // Weight rows 1024·4 bytes (or a multiple of 256) apart map one column to one L1 set:
    // 4 floats more per row spread them (197x768x3072 B^T 21 -> 39 GFLOP/s, 1024^3 B^T 23 -> 35).
    t.matmul.pad_rows = 4;
    t.matmul.shared_a = t.matmul.texels && caps.subgroup_shuffle && caps.subgroup_size == t.matmul.wg_x &&
                        t.matmul.tm <= 2 * caps.subgroup_size;
    // softmax: one invocation per row, x read as texels: 3.5 ms -> 1.4 ms for [1576, 197].
    t.softmax = {64, 1, caps.rgba32f_storage_texels};
    // layer norm and l2_normalize: one invocation per row, all operands as texels; workgroups
    // of 16 so that 197 rows make 13 of them for the cores to share: [197, 768] 1.8 -> 0.3-0.4 ms.
    t.layer_norm = {16, 1, caps.rgba32f_storage_texels};
    t.elementwise_wg = 128;
    t.conv = {16, 8, 4, 4, 16};
    t.attention = {64, caps.rgba32f_storage_texels};
    t.attention.subgroup_rows = row->fixed_subgroup;  // llvmpipe: always 8 lanes, full
  } else if (caps.portable || inv < 256) {
    t.matmul = {16, 8, 4, 4, 16};  // 128 invocations, 32x64 tile, 6 KiB shared
    uint32_t wg = std::min<uint32_t>(pow2_floor(inv), 128);
    t.softmax = {wg, wg};
    t.layer_norm = {wg, wg};
    t.elementwise_wg = wg;
  } else {
    t.matmul = {16, 16, 4, 4, 16};  // 256 invocations, 64x64 tile, 8 KiB shared
    t.conv = {16, 16, 4, 4, 16};
    t.softmax = {256, 256};
    t.layer_norm = {256, 256};
    t.elementwise_wg = 256;
  }
  // GPUs: the tiled flash kernel (K/V tiles shared by a block of query rows); lavapipe keeps
  // the per-row kernel, whose texel loads beat shared memory there (docs/TUNING.md).
  t.attention.tiled = !(row && row->cpu);
  t.attention.tiled_wg = std::min<uint32_t>(128, pow2_floor(inv));
  t.use_subgroups = caps.subgroup_arithmetic;
  check_tuning(t, caps);
  // The vendor's row where it fits this device's limits (vendor_tuning.cpp).
  if (row && !row->cpu) {
    Tuning v = t;
    detail::apply_row(*row, v);
    v.use_subgroups = v.use_subgroups && caps.subgroup_arithmetic;
    try {
      check_tuning(v, caps);
      t = v;
    } catch (const Error&) {
    }
  }
  return t;
}

void check_tuning(const Tuning& t, const Capabilities& c) {
  auto fail = [](const std::string& what) { throw Error("tuning: " + what); };
  const auto& m = t.matmul;
  if (m.wg_x == 0 || m.wg_y == 0 || m.wg_x * m.wg_y > c.max_workgroup_invocations ||
      m.wg_x > c.max_workgroup_size[0] || m.wg_y > c.max_workgroup_size[1])
    fail("matmul workgroup " + std::to_string(m.wg_x) + "x" + std::to_string(m.wg_y) +
         " exceeds the device's workgroup limits");
  if (m.tm < 1 || m.tm > 16 || m.tn < 1 || m.tn > 8 || m.tm * m.tn > 64)
    fail("matmul tm must be 1..16, tn 1..8, tm x tn at most 64");
  if (m.bk < 1) fail("matmul bk must be at least 1");
  if (m.texels && m.tn % 4) fail("matmul texels needs tn a multiple of 4");
  if (m.pad_rows % 4 || m.pad_rows > 64) fail("matmul pad_rows must be a multiple of 4 up to 64 (rows stay on texels)");
  if (m.shared_a && !(m.texels && c.subgroup_shuffle && m.wg_x == c.subgroup_size && m.tm <= 2 * c.subgroup_size))
    fail("matmul shared_a needs texels, subgroup shuffles, wg_x = the subgroup size (" +
         std::to_string(c.subgroup_size) + ") and tm <= twice it");
  if ((m.texels || t.softmax.texels || t.layer_norm.texels) && !c.rgba32f_storage_texels)
    fail("texel kernels on a device without RGBA32F storage texel buffers");
  if (m.fp16_math && !c.float16_arithmetic) fail("matmul fp16_math on a device without shaderFloat16");
  if (m.fp16_math && m.texels) fail("matmul fp16_math is a tiled-kernel option (texels are fp32)");
  if (m.coopmat && !c.cooperative_matrix)
    fail("matmul coopmat needs VK_NV_cooperative_matrix with a 16x16x16 fp16 shape and shaderFloat16");
  if (m.coopmat && (m.texels || m.fp16_math)) fail("matmul coopmat is its own kernel: without texels and fp16_math");
  if (m.coopmat && m.tm * m.tn > 8) fail("matmul coopmat takes tm x tn at most 8 blocks of 16x16");
  if (m.coopmat && (uint64_t(m.tm + m.tn) * 16 * 16 * 2 + uint64_t(m.tm * m.tn) * 256 * 4) > c.max_shared_memory)
    fail("matmul coopmat tiles do not fit the device's shared memory");
  uint64_t shared = uint64_t(m.wg_y * m.tm + m.wg_x * m.tn) * m.bk * (m.fp16_math ? 2 : 4);  // the tiled fallback
  if (shared > c.max_shared_memory)
    fail("matmul tile needs " + std::to_string(shared) + " bytes of shared memory, the device has " +
         std::to_string(c.max_shared_memory));
  for (const auto* r : {&t.softmax, &t.layer_norm}) {
    if (r->wg == 0 || r->wg > c.max_workgroup_invocations || r->wg > c.max_workgroup_size[0])
      fail("row kernel workgroup of " + std::to_string(r->wg) + " exceeds the device's limits");
    if (r->tpr == 0 || (r->tpr & (r->tpr - 1)) || r->wg % r->tpr)
      fail("row kernel tpr must be a power of two dividing the workgroup size");
    if (uint64_t(r->wg) * 4 > c.max_shared_memory) fail("row kernel workgroup too large for shared memory");
  }
  const auto& cv = t.conv;
  if (cv.wg_x == 0 || cv.wg_y == 0 || cv.wg_x * cv.wg_y > c.max_workgroup_invocations ||
      cv.wg_x > c.max_workgroup_size[0] || cv.wg_y > c.max_workgroup_size[1])
    fail("conv workgroup " + std::to_string(cv.wg_x) + "x" + std::to_string(cv.wg_y) +
         " exceeds the device's workgroup limits");
  if (cv.tm < 1 || cv.tm > 8 || cv.tn < 1 || cv.tn > 8 || cv.bk < 1) fail("conv tm and tn must be 1..8, bk at least 1");
  if (uint64_t(cv.wg_y * cv.tm + cv.wg_x * cv.tn) * cv.bk * 4 > c.max_shared_memory)
    fail("conv tile needs more shared memory than the device has (" + std::to_string(c.max_shared_memory) + " bytes)");
  if (t.elementwise_wg == 0 || t.elementwise_wg > c.max_workgroup_invocations ||
      t.elementwise_wg > c.max_workgroup_size[0])
    fail("elementwise workgroup of " + std::to_string(t.elementwise_wg) + " exceeds the device's limits");
  if (t.attention.wg == 0 || t.attention.wg > c.max_workgroup_invocations || t.attention.wg > c.max_workgroup_size[0])
    fail("attention workgroup of " + std::to_string(t.attention.wg) + " exceeds the device's limits");
  const auto& a = t.attention;
  if (a.tiled_wg == 0 || (a.tiled_wg & (a.tiled_wg - 1)) || a.tiled_wg > c.max_workgroup_invocations ||
      a.tiled_wg > c.max_workgroup_size[0])
    fail("tiled attention workgroup of " + std::to_string(a.tiled_wg) +
         " must be a power of two within the device's limits");
  if (a.lanes > 16 || (a.lanes & (a.lanes - 1)) || a.lanes > a.tiled_wg)
    fail("tiled attention lanes must be 0 (by head size) or a power of two up to 16 and the workgroup");
  if (a.bc == 0 || a.bc > 64) fail("tiled attention bc must be 1..64 keys");
  if (a.fp16_math && !c.float16_arithmetic) fail("attention fp16_math on a device without shaderFloat16");
  if (a.fp16_math && !a.tiled) fail("attention fp16_math is a tiled-kernel option (needs attention.tiled)");
  if (uint64_t(a.tiled_wg) * 4 * 2 > c.max_shared_memory)
    fail("tiled attention workgroup too large for the device's shared memory");
  if (t.attention.texels && !c.rgba32f_storage_texels)
    fail("attention texels on a device without RGBA32F storage texel buffers");
  if (t.use_subgroups && !c.subgroup_arithmetic)
    fail("subgroup reductions asked for on a device (or mode) without subgroup arithmetic");
}

std::string to_string(const Tuning& t) {
  auto s = [](uint32_t v) { return std::to_string(v); };
  return "matmul wg " + s(t.matmul.wg_x) + "x" + s(t.matmul.wg_y) + " tm " + s(t.matmul.tm) +
          " tn " + s(t.matmul.tn) + " bk " + s(t.matmul.bk) + (t.matmul.texels ? " texels" : "") + (t.matmul.shared_a ? " shared_a" : "") +
         (t.matmul.fp16_math ? " fp16_math" : "") + (t.matmul.coopmat ? " coopmat" : "") +
         (t.matmul.pad_rows ? " pad_rows " + s(t.matmul.pad_rows) : "") + "; softmax wg " + s(t.softmax.wg) +
         " tpr " + s(t.softmax.tpr) + (t.softmax.texels ? " texels" : "") + "; layer_norm wg " + s(t.layer_norm.wg) + " tpr " +
         s(t.layer_norm.tpr) + (t.layer_norm.texels ? " texels" : "") + "; elementwise wg " + s(t.elementwise_wg) +
         "; conv wg " + s(t.conv.wg_x) + "x" + s(t.conv.wg_y) + " tm " + s(t.conv.tm) + " tn " + s(t.conv.tn) + " bk " +
         s(t.conv.bk) +
         "; attention wg " + s(t.attention.wg) + (t.attention.texels ? " texels" : "") +
         (t.attention.tiled ? " tiled wg " + s(t.attention.tiled_wg) + " bc " + s(t.attention.bc) +
                                  (t.attention.lanes ? " lanes " + s(t.attention.lanes) : "") + " split_below " +
                                  s(t.attention.split_below) + (t.attention.subgroup_rows ? " subgroup_rows" : "") +
                                  (t.attention.fp16_math ? " fp16_math" : "")
                            : "") +
         (t.use_subgroups ? "; subgroups on" : "; subgroups off");
}

}  // namespace vkfuse
