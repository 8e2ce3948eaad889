/* The C API from C99 (built with -std=c99 -pedantic-errors, so the header stays C): the error
 * paths the spec names, each a non-zero status and a message, and one run of the shapes model
 * on a blank picture. ctest runs it under the validation layer and fails it on any message. */
#include <stdio.h>
#include <string.h>

#include <vkfuse/vkfuse.h>

static int failures = 0;

static void expect_error(int status, const char* needle, const char* what) {
  if (status == VKFUSE_OK) {
    printf("FAIL %s: succeeded\n", what);
    ++failures;
  } else if (!strstr(vkfuse_last_error(), needle)) {
    printf("FAIL %s: '%s' not in '%s'\n", what, needle, vkfuse_last_error());
    ++failures;
  } else {
    printf("ok   %s: %s\n", what, vkfuse_last_error());
  }
}

static void expect_ok(int status, const char* what) {
  if (status != VKFUSE_OK) {
    printf("FAIL %s: %s\n", what, vkfuse_last_error());
    ++failures;
  }
}

int main(int argc, char** argv) {
  const char* model_path = argc > 1 ? argv[1] : "models/shapes_qa.safetensors";
  vkfuse_context* ctx = NULL;
  vkfuse_model* model = NULL;
  vkfuse_session* s = NULL;
  static float image[3 * 64 * 64]; /* zeros: a mid-grey picture after normalization */
  static int64_t image_ids[3 * 64 * 64]; /* the same picture's shape as I64: a wrong dtype */
  int64_t ids[6] = {2, 5, 6, 7, 0, 0};
  int64_t image_shape[4] = {1, 3, 64, 64}, ids_shape[2] = {1, 6};
  const float* probs = NULL;
  const int64_t* shape = NULL;
  int rank = 0;

  setvbuf(stdout, NULL, _IONBF, 0); /* every line out before anything could go wrong */
  printf("vkfuse %s (%s)\n", vkfuse_version(), vkfuse_commit());
  if (strcmp(vkfuse_version(), VKFUSE_VERSION_STRING) != 0) ++failures;
  expect_error(vkfuse_model_load("/nonexistent/model.safetensors", &model), "/nonexistent/model.safetensors",
               "a missing file");
  if (model != NULL) ++failures;
  expect_ok(vkfuse_context_create(NULL, &ctx), "context");
  expect_ok(vkfuse_model_load(model_path, &model), "model");
  if (failures) return 1;
  printf("device %s, arch %s\n", vkfuse_context_device_name(ctx), vkfuse_model_arch(model));
  expect_ok(vkfuse_session_create(ctx, model, 0, &s), "session");
  vkfuse_model_destroy(model); /* the session keeps what it needs */
  vkfuse_context_destroy(ctx);
  expect_error(vkfuse_session_output(s, "probs", &probs, &shape, &rank), "no run yet", "an output before a run");
  expect_ok(vkfuse_session_set_input(s, "picture", VKFUSE_F32, image_shape, 4, image), "set a wrong name");
  expect_ok(vkfuse_session_set_input(s, "input_ids", VKFUSE_I64, ids_shape, 2, ids), "set input_ids");
  expect_error(vkfuse_session_run(s), "picture", "a wrong input name");
  /* Inputs stay set: replace the wrong one by the right name with a wrong dtype. */
  vkfuse_session_destroy(s);
  expect_ok(vkfuse_context_create(NULL, &ctx), "context 2");
  expect_ok(vkfuse_model_load(model_path, &model), "model 2");
  expect_ok(vkfuse_session_create(ctx, model, 0, &s), "session 2");
  expect_ok(vkfuse_session_set_input(s, "image", VKFUSE_I64, image_shape, 4, image_ids), "set image as I64");
  expect_ok(vkfuse_session_set_input(s, "input_ids", VKFUSE_I64, ids_shape, 2, ids), "set input_ids 2");
  expect_error(vkfuse_session_run(s), "image", "a wrong dtype");
  expect_error(vkfuse_session_set_input(s, "image", (vkfuse_dtype)42, image_shape, 4, image), "not a vkfuse_dtype",
               "an unknown dtype");
  expect_error(vkfuse_session_set_input(s, "image", VKFUSE_F32, NULL, 4, image), "shape is NULL", "a NULL shape");
  {
    vkfuse_session* none = s;
    expect_error(vkfuse_session_create(NULL, model, 0, &none), "context is NULL", "a NULL context");
    if (none != NULL) ++failures; /* *out is NULL after a failure */
  }
  expect_ok(vkfuse_session_set_input(s, "image", VKFUSE_F32, image_shape, 4, image), "set image");
  expect_ok(vkfuse_session_run(s), "run");
  expect_ok(vkfuse_session_output(s, "probs", &probs, &shape, &rank), "probs");
  if (!failures && (rank != 2 || shape[0] != 1 || shape[1] != 1 || !(probs[0] > 0.f && probs[0] < 1.f))) {
    printf("FAIL probs: rank %d, p = %f\n", rank, (double)probs[0]);
    ++failures;
  }
  expect_error(vkfuse_session_output(s, "logitz", &probs, &shape, &rank), "its outputs: logits, probs",
               "an output the model does not have");
  /* The model's own preprocessing: a question and a picture file. */
  if (argc > 2) {
    const char* question = "is there a green circle";
    const char* picture = argv[2];
    expect_ok(vkfuse_session_set_texts(s, &question, 1), "set_texts");
    expect_ok(vkfuse_session_set_images(s, &picture, 1), "set_images");
    expect_ok(vkfuse_session_run(s), "run on a picture");
    expect_ok(vkfuse_session_output(s, "probs", &probs, &shape, &rank), "probs of the picture");
    if (!failures && !(probs[0] > 0.5f)) {
      printf("FAIL the example picture has a green circle: p = %f\n", (double)probs[0]);
      ++failures;
    }
    expect_error(vkfuse_session_set_images(s, &question, 1), "cannot open", "a picture that is not a file");
    expect_error(vkfuse_session_set_texts(s, NULL, 1), "list is NULL", "a NULL list");
  }
  vkfuse_session_destroy(s);
  vkfuse_model_destroy(model);
  vkfuse_context_destroy(ctx);
  vkfuse_session_destroy(NULL);
  printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
