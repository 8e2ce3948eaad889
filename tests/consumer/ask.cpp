// A program outside the vkfuse tree: ask a model a question about a picture, as an app does.
//   ask MODEL PICTURE QUESTION   -> prints "logits L"
#include <cstdio>
#include <vkfuse/vkfuse.hpp>

int main(int argc, char** argv) try {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ask MODEL PICTURE QUESTION\n");
    return 2;
  }
  vkfuse::Model model = vkfuse::Model::load(argv[1]);
  vkfuse::Context gpu;
  vkfuse::Session session(gpu, model);
  const auto out = session.run(vkfuse::Preprocessor(model).inputs({argv[3]}, {vkfuse::read_image(argv[2])}));
  std::printf("logits %.9g\n", out.at("logits").data.at(0));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ask: %s\n", e.what());
  return 1;
}
