/* A C99 program built with `cc $(pkg-config --cflags --libs vkfuse)`: the same question
 * through the C API and the model's own preprocessing.  ask MODEL PICTURE QUESTION */
#include <stdio.h>
#include <vkfuse/vkfuse.h>

int main(int argc, char** argv) {
  vkfuse_context* ctx = NULL;
  vkfuse_model* model = NULL;
  vkfuse_session* s = NULL;
  const float* logits = NULL;
  const int64_t* shape = NULL;
  int rank = 0;
  const char* question;
  const char* picture;
  if (argc != 4) {
    fprintf(stderr, "usage: ask MODEL PICTURE QUESTION\n");
    return 2;
  }
  question = argv[3];
  picture = argv[2];
  if (vkfuse_context_create(NULL, &ctx) || vkfuse_model_load(argv[1], &model) ||
      vkfuse_session_create(ctx, model, 0, &s) || vkfuse_session_set_texts(s, &question, 1) ||
      vkfuse_session_set_images(s, &picture, 1) || vkfuse_session_run(s) ||
      vkfuse_session_output(s, "logits", &logits, &shape, &rank)) {
    fprintf(stderr, "ask: %s\n", vkfuse_last_error());
    return 1;
  }
  printf("logits %.9g\n", (double)logits[0]);
  vkfuse_session_destroy(s);
  vkfuse_model_destroy(model);
  vkfuse_context_destroy(ctx);
  return 0;
}
