// An app embedding vkfuse: load a model once, set inputs by name, run, read the output.
//   embed [IMAGE.png] ["QUESTION"]
#include <cstdio>
#include <string>
#include <vkfuse/vkfuse.hpp>

#include "shapes/png.hpp"    // PNG -> RGB8 (stb)
#include "shapes/vocab.hpp"  // the model's word-level tokenizer

int main(int argc, char** argv) try {
  const std::string image_path = argc > 1 ? argv[1] : EMBED_EXAMPLE_IMAGE;
  const std::string question = argc > 2 ? argv[2] : "is there a red circle";

  // The model file carries its config, weights, vocabulary and image preprocessing.
  vkfuse::Model model = vkfuse::Model::load(SHAPES_QA_MODEL);
  auto vocab = shapes::Vocab::from_json(model.metadata().at("vkfuse.vocab"));
  auto norm = shapes::Normalization::from_json(model.metadata().at("vkfuse.image_preprocess"));
  const int64_t side = model.config<vkfuse::FusionConfig>().image_size, len = model.config<vkfuse::FusionConfig>().max_text_len;

  vkfuse::Context gpu;                    // the default device (VKFUSE_DEVICE picks another)
  vkfuse::Session session(gpu, model);    // weights go to the device once

  shapes::Image image = shapes::resize_area(shapes::read_png(image_path), int(side), int(side));
  session.set_input("image", {1, 3, side, side}, shapes::preprocess(image, norm));
  session.set_input("input_ids", {1, len}, vocab.encode(question, int(len)).ids);
  session.run();                          // records once; later runs replay

  const float yes = session.output("probs").data[0];
  std::printf("%s: \"%s\" -> %s (p = %.3f) on %s\n", image_path.c_str(), question.c_str(), yes >= 0.5f ? "yes" : "no",
              yes, gpu.device().name.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "embed: error: %s\n", e.what());
  return 1;
}
