// An app embedding vkfuse: load a model once, let its own preprocessing (the tokenizer and
// image preprocessing its file carries) make the inputs, run, read the output.
//   embed [IMAGE.png] ["QUESTION"]
#include <cstdio>
#include <string>
#include <vkfuse/vkfuse.hpp>

int main(int argc, char** argv) try {
  const std::string image_path = argc > 1 ? argv[1] : EMBED_EXAMPLE_IMAGE;
  const std::string question = argc > 2 ? argv[2] : "is there a red circle";

  vkfuse::Model model = vkfuse::Model::load(SHAPES_QA_MODEL);  // config, weights, vocabulary, preprocessing
  vkfuse::Context gpu;                                         // the default device (VKFUSE_DEVICE picks another)
  vkfuse::Session session(gpu, model);                         // weights go to the device once

  vkfuse::Preprocessor pre(model);
  const vkfuse::HostTensors out = session.run(pre.inputs({question}, {vkfuse::read_image(image_path)}));

  const float yes = out.at("probs").data[0];
  std::printf("%s: \"%s\" -> %s (p = %.3f) on %s\n", image_path.c_str(), question.c_str(), yes >= 0.5f ? "yes" : "no",
              yes, gpu.device().name.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "embed: error: %s\n", e.what());
  return 1;
}
