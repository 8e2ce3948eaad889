// The C API (include/vkfuse/vkfuse.h) over the C++ one: every exception becomes a status and
// this thread's last-error message.
#include "vkfuse/vkfuse.h"

#include <map>
#include <new>
#include <string>
#include <vector>

#include "vkfuse/context.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/preprocessor.hpp"
#include "vkfuse/session.hpp"

struct vkfuse_context {
  vkfuse::Context ctx;
  std::string name;
};
struct vkfuse_model {
  vkfuse::Model model;
};
struct vkfuse_session {
  vkfuse::Session session;  // holds the model and the context's device alive
  vkfuse::Preprocessor pre;
  vkfuse::HostTensors out;
  bool ran = false;
};

namespace {

thread_local std::string last_error;

int fail(const std::string& message, int status = VKFUSE_ERROR) {
  try {
    last_error = message;
  } catch (...) {
    // No memory even for the message: the status says enough.
  }
  return status;
}

// Runs f, turning whatever it throws into a status; nothing escapes into C.
template <class F> int guard(const char* where, F&& f) {
  try {
    f();
    return VKFUSE_OK;
  } catch (const std::bad_alloc&) {
    return fail(std::string(where) + ": out of host memory", VKFUSE_OUT_OF_MEMORY);
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail(std::string(where) + ": unknown error");
  }
}

vkfuse::DType to_dtype(vkfuse_dtype d) {
  switch (d) {
    case VKFUSE_F32: return vkfuse::DType::F32;
    case VKFUSE_F16: return vkfuse::DType::F16;
    case VKFUSE_I64: return vkfuse::DType::I64;
    case VKFUSE_I32: return vkfuse::DType::I32;
    case VKFUSE_U8: return vkfuse::DType::U8;
    case VKFUSE_BOOL: return vkfuse::DType::Bool;
  }
  throw vkfuse::Error("vkfuse_session_set_input: dtype " + std::to_string(int(d)) + " is not a vkfuse_dtype");
}

void need(const void* p, const char* where, const char* what) {
  if (!p) throw vkfuse::Error(std::string(where) + ": " + what + " is NULL");
}

}  // namespace

namespace {
std::vector<std::string> strings(const char* const* items, int count, const char* where) {
  need(items, where, "the list");
  if (count < 1) throw vkfuse::Error(std::string(where) + ": count must be at least 1");
  std::vector<std::string> v;
  for (int i = 0; i < count; ++i) {
    need(items[i], where, ("entry " + std::to_string(i)).c_str());
    v.emplace_back(items[i]);
  }
  return v;
}

void set_all(vkfuse_session* s, const vkfuse::SafetensorsFile& in) {
  for (const auto& name : in.names()) {
    const auto& t = in.tensor(name);
    s->session.set_input(name, t.dtype, t.shape, t.data);
  }
}
}  // namespace

namespace {

// (Outside extern "C": it returns a C++ reference.)
// The output `name` of the session's last run, of the kind asked for.
const vkfuse::HostTensor& output_of(vkfuse_session* session, const char* name, const char* where, bool integer,
                                    const void* data, const int64_t** shape, int* rank) {
  need(session, where, "the session");
  need(name, where, "name");
  need(data, where, "data");
  need(shape, where, "shape");
  need(rank, where, "rank");
  if (!session->ran) throw vkfuse::Error(std::string(where) + ": no run yet (call vkfuse_session_run first)");
  auto it = session->out.find(name);
  if (it == session->out.end()) {
    std::string names;
    for (const auto& [n, t] : session->out) names += (names.empty() ? "" : ", ") + n;
    throw vkfuse::Error(std::string(where) + ": the model has no output '" + name + "' (its outputs: " + names + ")");
  }
  const bool is_int = it->second.dtype != vkfuse::DType::F32;
  if (is_int != integer)
    throw vkfuse::Error(std::string(where) + ": output '" + name + "' is " + vkfuse::dtype_name(it->second.dtype) +
                        (is_int ? "; read it with vkfuse_session_output_i64" : "; read it with vkfuse_session_output"));
  *shape = it->second.shape.data();
  *rank = static_cast<int>(it->second.shape.size());
  return it->second;
}

}  // namespace

extern "C" {

const char* vkfuse_version(void) { return VKFUSE_VERSION_STRING; }
const char* vkfuse_commit(void) { return VKFUSE_COMMIT_STRING; }
const char* vkfuse_last_error(void) { return last_error.c_str(); }

int vkfuse_context_create(const char* device, vkfuse_context** out) {
  return guard("vkfuse_context_create", [&] {
    need(out, "vkfuse_context_create", "out");
    *out = nullptr;
    vkfuse::Options o;
    if (device) o.device = device;
    auto* c = new vkfuse_context{vkfuse::Context(o), ""};
    c->name = c->ctx.device().name;
    *out = c;
  });
}

void vkfuse_context_destroy(vkfuse_context* ctx) { delete ctx; }

const char* vkfuse_context_device_name(const vkfuse_context* ctx) { return ctx ? ctx->name.c_str() : ""; }

int vkfuse_model_load(const char* path, vkfuse_model** out) {
  return guard("vkfuse_model_load", [&] {
    need(out, "vkfuse_model_load", "out");
    *out = nullptr;
    need(path, "vkfuse_model_load", "path");
    *out = new vkfuse_model{vkfuse::Model::load(path)};
  });
}

void vkfuse_model_destroy(vkfuse_model* model) { delete model; }

const char* vkfuse_model_arch(const vkfuse_model* model) { return model ? model->model.arch().c_str() : ""; }

int vkfuse_session_create(vkfuse_context* ctx, const vkfuse_model* model, int need_weights, vkfuse_session** out) {
  return guard("vkfuse_session_create", [&] {
    need(out, "vkfuse_session_create", "out");
    *out = nullptr;
    need(ctx, "vkfuse_session_create", "the context");
    need(model, "vkfuse_session_create", "the model");
    *out = new vkfuse_session{vkfuse::Session(ctx->ctx, model->model, need_weights != 0),
                              vkfuse::Preprocessor(model->model), {}, false};
  });
}

void vkfuse_session_destroy(vkfuse_session* session) { delete session; }

int vkfuse_session_set_input(vkfuse_session* session, const char* name, vkfuse_dtype dtype, const int64_t* shape,
                             int rank, const void* data) {
  return guard("vkfuse_session_set_input", [&] {
    const char* where = "vkfuse_session_set_input";
    need(session, where, "the session");
    need(name, where, "name");
    if (rank < 0 || rank > 8) throw vkfuse::Error(std::string(where) + ": rank " + std::to_string(rank) + " is not 0 to 8");
    if (rank > 0) need(shape, where, "shape");
    vkfuse::Shape s(shape, shape + rank);
    int64_t n = 1;
    for (int64_t d : s) {
      if (d < 0) throw vkfuse::Error(std::string(where) + ": input '" + name + "' has a negative dimension");
      n *= d;
    }
    if (n > 0) need(data, where, "data");
    session->session.set_input(name, to_dtype(dtype), s, data);
  });
}


int vkfuse_session_set_texts(vkfuse_session* session, const char* const* texts, int count) {
  return guard("vkfuse_session_set_texts", [&] {
    need(session, "vkfuse_session_set_texts", "the session");
    set_all(session, session->pre.inputs(strings(texts, count, "vkfuse_session_set_texts"), {}));
  });
}

int vkfuse_session_set_images(vkfuse_session* session, const char* const* paths, int count) {
  return guard("vkfuse_session_set_images", [&] {
    need(session, "vkfuse_session_set_images", "the session");
    const auto files = strings(paths, count, "vkfuse_session_set_images");
    std::vector<vkfuse::Image> pictures;
    for (const auto& f : files) pictures.push_back(vkfuse::read_image(f));
    set_all(session, session->pre.inputs({}, pictures, files));
  });
}

int vkfuse_session_run(vkfuse_session* session) {
  return guard("vkfuse_session_run", [&] {
    need(session, "vkfuse_session_run", "the session");
    session->ran = false;
    session->out = session->session.run();
    session->ran = true;
  });
}


int vkfuse_session_output(vkfuse_session* session, const char* name, const float** data, const int64_t** shape,
                          int* rank) {
  return guard("vkfuse_session_output", [&] {
    *data = output_of(session, name, "vkfuse_session_output", false, data, shape, rank).data.data();
  });
}

int vkfuse_session_output_i64(vkfuse_session* session, const char* name, const int64_t** data, const int64_t** shape,
                              int* rank) {
  return guard("vkfuse_session_output_i64", [&] {
    *data = output_of(session, name, "vkfuse_session_output_i64", true, data, shape, rank).ints.data();
  });
}

}  // extern "C"
