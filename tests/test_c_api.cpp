// The C API (include/vkfuse/vkfuse.h) gives what the C++ API gives: the shapes model on the
// example picture through vkfuse_session_* against Model::run on the CPU reference; and its
// last error is per thread.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "shapes/image.hpp"
#include "shapes/png.hpp"
#include "shapes/vocab.hpp"
#include "vkfuse/fusion.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/vkfuse.h"

namespace {

const std::string kModel = std::string(VKFUSE_SOURCE_DIR) + "/models/shapes_qa.safetensors";

TEST(CApi, MatchesTheCppReference) {
  vkfuse::Model model = vkfuse::Model::load(kModel);
  const auto& c = model.config<vkfuse::FusionConfig>();
  auto vocab = shapes::Vocab::from_json(model.metadata().at("vkfuse.vocab"));
  auto norm = shapes::Normalization::from_json(model.metadata().at("vkfuse.image_preprocess"));
  shapes::Image im = shapes::resize_area(shapes::read_png(std::string(VKFUSE_SOURCE_DIR) + "/samples/data/shapes_example.png"),
                                         int(c.image_size), int(c.image_size));
  std::vector<float> image = shapes::preprocess(im, norm);
  std::vector<int64_t> ids = vocab.encode("is there a red circle", int(c.max_text_len)).ids;
  const int64_t image_shape[4] = {1, 3, c.image_size, c.image_size}, ids_shape[2] = {1, c.max_text_len};

  vkfuse_context* ctx = nullptr;
  vkfuse_model* m = nullptr;
  vkfuse_session* s = nullptr;
  ASSERT_EQ(vkfuse_context_create(nullptr, &ctx), VKFUSE_OK) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_model_load(kModel.c_str(), &m), VKFUSE_OK) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_session_create(ctx, m, 1, &s), VKFUSE_OK) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_session_set_input(s, "image", VKFUSE_F32, image_shape, 4, image.data()), VKFUSE_OK);
  ASSERT_EQ(vkfuse_session_set_input(s, "input_ids", VKFUSE_I64, ids_shape, 2, ids.data()), VKFUSE_OK);
  ASSERT_EQ(vkfuse_session_run(s), VKFUSE_OK) << vkfuse_last_error();

  auto in = vkfuse::SafetensorsFile::from_tensors(
      "in", {{"image", {vkfuse::DType::F32, {1, 3, c.image_size, c.image_size}, image.data()}},
             {"input_ids", {vkfuse::DType::I64, {1, c.max_text_len}, ids.data()}}});
  auto want = model.run(in, true, nullptr);
  for (const char* name : {"probs", "logits", "cross_attn_weights"}) {
    const float* data = nullptr;
    const int64_t* shape = nullptr;
    int rank = 0;
    ASSERT_EQ(vkfuse_session_output(s, name, &data, &shape, &rank), VKFUSE_OK) << vkfuse_last_error();
    const auto& w = want.at(name);
    ASSERT_EQ(vkfuse::Shape(shape, shape + rank), w.shape) << name;
    for (size_t i = 0; i < w.data.size(); ++i) EXPECT_NEAR(data[i], w.data[i], 3e-5f) << name << " " << i;
  }
  vkfuse_session_destroy(s);
  vkfuse_model_destroy(m);
  vkfuse_context_destroy(ctx);
}

TEST(CApi, LastErrorIsPerThread) {
  vkfuse_model* m = nullptr;
  EXPECT_NE(vkfuse_model_load("/nonexistent/a.safetensors", &m), VKFUSE_OK);
  std::string other;
  std::thread([&] {
    vkfuse_model* m2 = nullptr;
    EXPECT_NE(vkfuse_model_load("/nonexistent/b.safetensors", &m2), VKFUSE_OK);
    other = vkfuse_last_error();
  }).join();
  EXPECT_NE(std::string(vkfuse_last_error()).find("a.safetensors"), std::string::npos) << vkfuse_last_error();
  EXPECT_NE(other.find("b.safetensors"), std::string::npos) << other;
  EXPECT_EQ(std::string(vkfuse_version()), VKFUSE_VERSION_STRING);
}

}  // namespace
