/* vkfuse's C API (C99): models on any Vulkan GPU from C, and from every language that calls C
 * (Python's ctypes, Rust, Java, Swift, C#). Opaque handles; every function that can fail
 * returns a status, VKFUSE_OK (0) on success; on failure vkfuse_last_error() gives the
 * one-line message of the calling thread's last failure. No C++ exception crosses this API
 * and nothing in it aborts.
 *
 *   vkfuse_context* ctx;  vkfuse_model* model;  vkfuse_session* s;
 *   if (vkfuse_context_create(NULL, &ctx) || vkfuse_model_load("m.safetensors", &model) ||
 *       vkfuse_session_create(ctx, model, 0, &s)) { fprintf(stderr, "%s\n", vkfuse_last_error()); ... }
 *   int64_t shape[4] = {1, 3, 64, 64};
 *   vkfuse_session_set_input(s, "image", VKFUSE_F32, shape, 4, pixels);
 *   vkfuse_session_run(s);
 *   const float* probs; const int64_t* oshape; int orank;
 *   vkfuse_session_output(s, "probs", &probs, &oshape, &orank);
 *   vkfuse_session_destroy(s); vkfuse_model_destroy(model); vkfuse_context_destroy(ctx);
 *
 * A session keeps its model and context alive: they may be destroyed before it. Handles may be
 * used from any thread, one thread at a time each. Destroying NULL does nothing. */
#ifndef VKFUSE_VKFUSE_H
#define VKFUSE_VKFUSE_H

#include <stdint.h>

#include "vkfuse/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vkfuse_context vkfuse_context;
typedef struct vkfuse_model vkfuse_model;
typedef struct vkfuse_session vkfuse_session;

/* Element types of inputs: F32/F16 floats (images, embeddings), I64/I32 token ids, U8/BOOL masks. */
typedef enum { VKFUSE_F32, VKFUSE_F16, VKFUSE_I64, VKFUSE_I32, VKFUSE_U8, VKFUSE_BOOL } vkfuse_dtype;

enum {
  VKFUSE_OK = 0,
  VKFUSE_ERROR = 1,         /* bad input, bad file, a device that cannot run it: see vkfuse_last_error() */
  VKFUSE_OUT_OF_MEMORY = 2  /* the host ran out of memory */
};

/* "0.1.0"; the commit the library was built from. Static strings. */
const char* vkfuse_version(void);
const char* vkfuse_commit(void);
/* The message of this thread's last failure ("" if none); valid until its next failing call. */
const char* vkfuse_last_error(void);

/* device: NULL or "" picks the best device (or VKFUSE_DEVICE); else an index or a part of a name. */
int vkfuse_context_create(const char* device, vkfuse_context** out);
void vkfuse_context_destroy(vkfuse_context* ctx);
/* The context's device name (static for the context's life). */
const char* vkfuse_context_device_name(const vkfuse_context* ctx);

/* A model file (docs/model-format.md): its config and tensors are checked here. */
int vkfuse_model_load(const char* path, vkfuse_model** out);
void vkfuse_model_destroy(vkfuse_model* model);
/* The model's arch ("clip", "vision_text_fusion", ...). */
const char* vkfuse_model_arch(const vkfuse_model* model);

/* need_weights: also return the attention weights the arch defines (e.g. cross_attn_weights). */
int vkfuse_session_create(vkfuse_context* ctx, const vkfuse_model* model, int need_weights, vkfuse_session** out);
void vkfuse_session_destroy(vkfuse_session* session);
/* Copies `data` (numel(shape) elements of dtype, row-major, little-endian) once; it stays set
 * for later runs until replaced. rank 0 to 8; shape may be NULL when rank is 0. */
int vkfuse_session_set_input(vkfuse_session* session, const char* name, vkfuse_dtype dtype, const int64_t* shape,
                             int rank, const void* data);
/* The model's own preprocessing, from its file's metadata (its tokenizer; its image
 * preprocessing): sets input_ids and attention_mask [count, T] from UTF-8 texts (padded to the
 * longest), or the picture input [count, 3, H, W] from PNG/JPEG files. */
int vkfuse_session_set_texts(vkfuse_session* session, const char* const* texts, int count);
int vkfuse_session_set_images(vkfuse_session* session, const char* const* paths, int count);
/* The forward pass on the inputs set (the first run for a set of shapes records, later ones replay). */
int vkfuse_session_run(vkfuse_session* session);
/* An output of the last run, F32: data and shape are valid until the next run or destroy. */
int vkfuse_session_output(vkfuse_session* session, const char* name, const float** data, const int64_t** shape,
                          int* rank);
/* An integer output of the last run (an ONNX graph's int64 or bool outputs, bool as 0/1), as
 * vkfuse_session_output gives a float one; each call errs on the other kind, naming it. */
int vkfuse_session_output_i64(vkfuse_session* session, const char* name, const int64_t** data, const int64_t** shape,
                              int* rank);

#ifdef __cplusplus
}
#endif

#endif
