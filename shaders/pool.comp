#version 450
// Max and average pooling over three spatial axes (1-D and 2-D ones have leading axes of size
// 1): one invocation per output element walks its window. Taps in the padding never win a
// max; an average divides by the taps inside the input, or (POOL_AVERAGE_INCLUDE_PAD) by
// those inside the padded input, so a ceil_mode window that runs past the padding counts
// only what it covers of it.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "pool_contract.h"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };
layout(push_constant) uniform Params { POOL_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  uint ow = i % p.out_size[2], t = i / p.out_size[2];
  uint oh = t % p.out_size[1];
  t /= p.out_size[1];
  uint od = t % p.out_size[0], plane = t / p.out_size[0];
  uint xbase = p.off_x + plane * p.in_size[0] * p.in_size[1] * p.in_size[2];
  float acc = p.kind == POOL_MAX ? NEG_INF : 0.0;
  uint count = 0u, padded = 0u;
  for (uint kd = 0u; kd < p.kernel[0]; ++kd) {
    int id = int(od * p.stride[0] + kd * p.dilation[0]) - int(p.pad[0]);
    for (uint kh = 0u; kh < p.kernel[1]; ++kh) {
      int ih = int(oh * p.stride[1] + kh * p.dilation[1]) - int(p.pad[1]);
      for (uint kw = 0u; kw < p.kernel[2]; ++kw) {
        int iw = int(ow * p.stride[2] + kw * p.dilation[2]) - int(p.pad[2]);
        bool inside_pad = id < int(p.in_size[0] + p.pad_end[0]) && ih < int(p.in_size[1] + p.pad_end[1]) &&
                          iw < int(p.in_size[2] + p.pad_end[2]);
        if (inside_pad) ++padded;
        if (id < 0 || ih < 0 || iw < 0 || id >= int(p.in_size[0]) || ih >= int(p.in_size[1]) || iw >= int(p.in_size[2]))
          continue;
        float v = x[xbase + (uint(id) * p.in_size[1] + uint(ih)) * p.in_size[2] + uint(iw)];
        acc = p.kind == POOL_MAX ? max_nan(acc, v) : acc + v;
        ++count;
      }
    }
  }
  if (p.kind == POOL_AVERAGE) acc = count > 0u ? acc / float(count) : 0.0;
  if (p.kind == POOL_AVERAGE_INCLUDE_PAD) acc = padded > 0u ? acc / float(padded) : 0.0;
  y[p.off_y + i] = acc;
}
