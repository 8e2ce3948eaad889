// Resize (opsets 10, 11 and 13) and Upsample (7 and 9): the output size from scales or
// sizes, the options of ops::resize from the attributes, and the reference ref::resize.
#include <cmath>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;
using ops::ResizeOptions;

struct ResizeSpec {
  ResizeOptions o;
  Shape out;
};

ResizeSpec spec_of(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  const size_t r = x.size();
  const bool upsample = c.node.op_type == "Upsample";
  ResizeSpec s;
  const std::string mode = c.attrs().s("mode", "nearest");
  if (mode == "nearest") s.o.mode = ResizeOptions::Nearest;
  else if (mode == "linear" || mode == "bilinear") s.o.mode = ResizeOptions::Linear;
  else if (mode == "cubic") s.o.mode = ResizeOptions::Cubic;
  else c.fail("mode " + q(mode) + " is not nearest, linear or cubic");
  // Before opset 11 the coordinates are asymmetric and nearest rounds down.
  const bool legacy = upsample || c.opset() < 11;
  const std::string ct = legacy ? "asymmetric" : c.attrs().s("coordinate_transformation_mode", "half_pixel");
  if (ct == "half_pixel") s.o.coordinate = ResizeOptions::HalfPixel;
  else if (ct == "pytorch_half_pixel") s.o.coordinate = ResizeOptions::PytorchHalfPixel;
  else if (ct == "align_corners") s.o.coordinate = ResizeOptions::AlignCorners;
  else if (ct == "asymmetric") s.o.coordinate = ResizeOptions::Asymmetric;
  else if (ct == "tf_half_pixel_for_nn") s.o.coordinate = ResizeOptions::TfHalfPixelForNn;
  else c.fail("coordinate_transformation_mode " + q(ct) + " is not implemented");
  const std::string nm = legacy ? "floor" : c.attrs().s("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") s.o.nearest = ResizeOptions::RoundPreferFloor;
  else if (nm == "round_prefer_ceil") s.o.nearest = ResizeOptions::RoundPreferCeil;
  else if (nm == "floor") s.o.nearest = ResizeOptions::Floor;
  else if (nm == "ceil") s.o.nearest = ResizeOptions::Ceil;
  else c.fail("nearest_mode " + q(nm) + " is not implemented");
  s.o.cubic_coeff_a = c.attrs().f("cubic_coeff_a", -0.75f);
  s.o.exclude_outside = c.attrs().i("exclude_outside", 0) != 0;
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (upsample && c.opset() < 9) {
    for (float f : c.attrs().floats("scales")) scales.push_back(f);
  } else {
    const size_t si = upsample || c.opset() < 11 ? 1 : 2;  // X, [roi,] scales, sizes
    if (c.has(si) && shape_numel(c.shape(si)) > 0) scales = c.reals(si, "scales");
    if (!upsample && c.opset() >= 11 && c.has(3) && shape_numel(c.shape(3)) > 0) sizes = c.ints(3, "sizes");
  }
  if (!scales.empty() && !sizes.empty()) c.fail("takes scales or sizes, not both");
  if (scales.empty() && sizes.empty()) c.fail("needs scales or sizes");
  s.out = x;
  if (!sizes.empty()) {
    if (sizes.size() != r) c.fail("sizes has " + std::to_string(sizes.size()) + " values for rank " + std::to_string(r));
    for (size_t d = 0; d < r; ++d) {
      if (sizes[d] < 0) c.fail("a negative size");
      s.out[d] = sizes[d];
    }
  } else {
    if (scales.size() != r) c.fail("scales has " + std::to_string(scales.size()) + " values for rank " + std::to_string(r));
    for (size_t d = 0; d < r; ++d) {
      if (!(scales[d] > 0) || !(scales[d] < 1e6)) c.fail("a scale that is not positive and finite");
      s.out[d] = int64_t(std::floor(double(x[d]) * scales[d]));
      s.o.scales.push_back(float(scales[d]));
    }
  }
  return s;
}

void resize_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  if (c.attrs().s("coordinate_transformation_mode", "") == "tf_crop_and_resize")
    c.fail("coordinate_transformation_mode tf_crop_and_resize is not implemented");
  out[0] = {c.in(0).type, spec_of(c).out};
}

void resize_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const ResizeSpec s = spec_of(c);
  out[0] = make_array(c.in(0).type, s.out);
  ref::resize(in[0]->f.data(), in[0]->shape, out[0].f.data(), s.out, s.o);
}

void resize_lower(Lowering& l, const Step& st) {
  const ResizeSpec s = spec_of(l.node_ctx(st));
  Tensor x = l.contiguous(l.in(st, 0)), y = l.out(st, 0);
  ops::resize(l.seq(), x, y, s.o);
}

}  // namespace

std::vector<OpDef> resize_ops() {
  const std::vector<AttrSpec> attrs = {
      {"mode", A::String},
      {"coordinate_transformation_mode", A::String, 11},
      {"cubic_coeff_a", A::Float, 11},
      {"exclude_outside", A::Int, 11},
      {"extrapolation_value", A::Float, 11},
      {"nearest_mode", A::String, 11},
  };
  OpDef resize{"Resize", 10, 2, 4, 1, 1, attrs, resize_infer, resize_ref, resize_lower};
  resize.host_inputs = {1, 2, 3};
  OpDef upsample{"Upsample", 7, 1, 2, 1, 1, {{"mode", A::String}, {"scales", A::Floats, 7, 8}}, resize_infer, resize_ref,
                 resize_lower};
  upsample.host_inputs = {1};
  return {resize, upsample};
}

}  // namespace vkfuse::detail::graph
