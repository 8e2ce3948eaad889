// `import vkfuse`: the library for Python programs, numpy arrays in and out (the API
// contract's "The Python module"). A thin layer: every check stays in the library, whose
// vkfuse::Error becomes vkfuse.Error with the same one-line message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vkfuse/context.hpp"
#include "vkfuse/device.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/preprocessor.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/session.hpp"
#include "vkfuse/version.h"

namespace py = pybind11;

namespace {

// str, bytes or os.PathLike as the bytes the OS takes: os.fsencode keeps a file name that is
// not valid UTF-8 as it is on disk, where a cast to std::string would refuse it.
std::string fspath(const py::handle& path) {
  return py::module_::import("os").attr("fsencode")(path).cast<std::string>();
}

// The same keys as `vkfuse devices --json`, so the two can be compared.
py::dict limits_dict(const vkfuse::Capabilities& c) {
  py::dict d;
  d["max_workgroup_invocations"] = c.max_workgroup_invocations;
  d["max_workgroup_size"] = py::make_tuple(c.max_workgroup_size[0], c.max_workgroup_size[1], c.max_workgroup_size[2]);
  d["max_workgroup_count"] =
      py::make_tuple(c.max_workgroup_count[0], c.max_workgroup_count[1], c.max_workgroup_count[2]);
  d["max_shared_memory_bytes"] = c.max_shared_memory;
  d["subgroup_size"] = c.subgroup_size;
  d["subgroup_arithmetic"] = c.subgroup_arithmetic;
  d["storage_buffer_16bit"] = c.storage_16bit;
  d["shader_float16"] = c.float16_arithmetic;
  d["cooperative_matrix_16x16x16_f16"] = c.cooperative_matrix;
  d["rgba16_storage_texel_buffers"] = c.rgba16_storage_texels;
  d["max_storage_buffer_range_bytes"] = c.max_storage_buffer_range;
  d["min_storage_buffer_offset_alignment"] = c.min_storage_buffer_offset_alignment;
  d["max_push_constants_bytes"] = c.max_push_constants_size;
  d["device_local_host_visible"] = c.device_local_host_visible;
  d["rgba32f_storage_texel_buffers"] = c.rgba32f_storage_texels;
  d["max_texel_buffer_elements"] = c.max_texel_buffer_elements;
  d["timestamps"] = c.timestamps;
  d["timestamp_period_ns"] = c.timestamp_period_ns;
  d["device_local_heap_bytes"] = c.device_local_heaps;
  return d;
}

py::dict device_dict(const vkfuse::DeviceInfo& info) {
  py::dict d;
  d["index"] = info.index;
  d["name"] = info.name;
  d["type"] = info.type;
  d["vendor"] = info.vendor;
  d["vendor_id"] = info.vendor_id;
  d["device_id"] = info.device_id;
  d["driver_name"] = info.driver_name;
  d["driver_info"] = info.driver_info;
  d["driver_version"] = info.driver_version;
  d["api_version"] = info.api_version;
  d["limits"] = limits_dict(info.caps);
  return d;
}

py::list devices() {
  std::vector<vkfuse::DeviceInfo> list;
  uint32_t pick = 0;
  {
    py::gil_scoped_release nogil;  // creating a Vulkan instance loads every driver
    list = vkfuse::list_devices();
    pick = vkfuse::pick_device(list, "");
  }
  py::list out;
  for (const auto& info : list) {
    py::dict d = device_dict(info);
    d["selected"] = info.index == pick;
    out.append(d);
  }
  return out;
}

const char* numpy_name(vkfuse::DType t) {
  switch (t) {
    case vkfuse::DType::F32: return "float32";
    case vkfuse::DType::F16: return "float16";
    case vkfuse::DType::I32: return "int32";
    case vkfuse::DType::I64: return "int64";
    case vkfuse::DType::U8: return "uint8";
    case vkfuse::DType::Bool: return "bool";
    case vkfuse::DType::BF16: break;  // numpy has no bfloat16
  }
  throw vkfuse::Error(std::string("no numpy dtype for ") + vkfuse::dtype_name(t));
}

std::vector<py::ssize_t> numpy_shape(const vkfuse::Shape& s) { return {s.begin(), s.end()}; }

// One named input as the library reads it, over the buffer of an array this holds.
struct Input {
  std::string name;
  vkfuse::DType dtype;
  vkfuse::Shape shape;
  py::array array;
};

// The dtypes the library takes pass through untouched, C-contiguous arrays without a copy
// (Session::set_input copies them once anyway); other floats become float32, other integers
// int64, anything else is refused here with the input's name.
Input to_input(const std::string& name, const py::handle& value) {
  py::module_ np = py::module_::import("numpy");
  py::array a = np.attr("asarray")(value);
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  std::pair<const char*, vkfuse::DType> to;
  if (kind == 'f')
    to = size == 2 ? std::pair{"float16", vkfuse::DType::F16} : std::pair{"float32", vkfuse::DType::F32};
  else if (kind == 'b')
    to = {"bool", vkfuse::DType::Bool};
  else if (kind == 'u' && size == 1)
    to = {"uint8", vkfuse::DType::U8};
  else if (kind == 'i' && size == 4)
    to = {"int32", vkfuse::DType::I32};
  else if (kind == 'i' || kind == 'u')
    to = {"int64", vkfuse::DType::I64};
  else
    throw vkfuse::Error("session inputs: input '" + name + "': numpy dtype " + dt.attr("name").cast<std::string>() +
                        " is not a number vkfuse takes (floats, integers, bool)");
  // Byte-swapped arrays differ from the native dtype and are converted too.
  a = np.attr("asarray")(a, py::arg("dtype") = to.first, py::arg("order") = "C");
  vkfuse::Shape shape(a.shape(), a.shape() + a.ndim());
  return {name, to.second, std::move(shape), std::move(a)};
}

std::vector<Input> to_inputs(const py::dict& inputs) {
  std::vector<Input> out;
  for (const auto& [key, value] : inputs) {
    if (!py::isinstance<py::str>(key))
      throw py::type_error("Session.run: input names must be str, got " + py::repr(key).cast<std::string>());
    out.push_back(to_input(key.cast<std::string>(), value));
  }
  return out;
}

// Takes the vector's memory, so outputs are not copied again on their way to Python.
py::array to_numpy(vkfuse::HostTensor&& t) {
  if (t.dtype != vkfuse::DType::F32) {  // an ONNX graph's int64 or bool output
    auto ints = std::make_unique<std::vector<int64_t>>(std::move(t.ints));
    int64_t* p = ints->data();
    py::capsule owner(ints.get(), [](void* v) { delete static_cast<std::vector<int64_t>*>(v); });
    ints.release();
    py::array_t<int64_t> a(numpy_shape(t.shape), p, owner);
    if (t.dtype == vkfuse::DType::Bool) return a.attr("astype")("bool");
    return std::move(a);
  }
  auto data = std::make_unique<std::vector<float>>(std::move(t.data));
  if (static_cast<int64_t>(data->size()) != vkfuse::shape_numel(t.shape))
    throw vkfuse::Error("output of shape " + vkfuse::shape_string(t.shape) + " holds " + std::to_string(data->size()) +
                        " values");
  float* p = data->data();
  py::capsule owner(data.get(), [](void* v) { delete static_cast<std::vector<float>*>(v); });
  data.release();
  return py::array_t<float>(numpy_shape(t.shape), p, owner);
}

py::dict to_numpy(vkfuse::HostTensors&& outputs) {
  py::dict d;
  for (auto& [name, t] : outputs) d[py::str(name)] = to_numpy(std::move(t));
  return d;
}

// A picture: a path, or an array of 8-bit RGB [H, W, 3] already decoded.
struct Picture {
  std::string path;  // empty for an array
  vkfuse::Image image;
};

Picture to_picture(const py::handle& p) {
  if (!py::isinstance<py::array>(p)) return {fspath(p), {}};
  const auto arr = py::reinterpret_borrow<py::array>(p);
  if (arr.dtype().kind() != 'u' || arr.dtype().itemsize() != 1 || arr.ndim() != 3 || arr.shape(2) != 3)
    throw vkfuse::Error("a picture given as an array must be uint8 [height, width, 3] (RGB), got " +
                        arr.dtype().attr("name").cast<std::string>() + " " +
                        py::repr(p.attr("shape")).cast<std::string>());
  if (arr.shape(0) * arr.shape(1) > vkfuse::kMaxImagePixels)
    throw vkfuse::Error("a picture of " + std::to_string(arr.shape(1)) + "x" + std::to_string(arr.shape(0)) +
                        " pixels is larger than vkfuse takes");
  const auto a = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(arr);
  Picture pic;
  pic.image.height = static_cast<int>(a.shape(0));
  pic.image.width = static_cast<int>(a.shape(1));
  pic.image.rgb.assign(a.data(), a.data() + a.size());
  return pic;
}

class PySession {
 public:
  PySession(const py::object& path, const py::object& device, bool need_weights, bool cpu)
      : need_weights_(need_weights), cpu_(cpu) {
    vkfuse::Options options;
    if (!device.is_none()) {
      if (cpu) throw py::value_error("Session: device and cpu=True exclude each other");
      if (py::isinstance<py::bool_>(device) || !(py::isinstance<py::int_>(device) || py::isinstance<py::str>(device)))
        throw py::type_error("Session: device must be None, an index or a part of a device's name");
      options.device = py::str(device).cast<std::string>();
    }
    const std::string file = fspath(path);
    py::gil_scoped_release nogil;  // instance, device, pipelines: the slow part of a start
    model_ = vkfuse::Model::load(file);
    if (!cpu) {
      ctx_ = std::make_unique<vkfuse::Context>(options);
      device_ = ctx_->device();
      session_ = std::make_unique<vkfuse::Session>(*ctx_, *model_, need_weights);
    }
  }

  py::dict run(const py::dict& inputs) {
    std::vector<Input> in = to_inputs(inputs);
    vkfuse::HostTensors out;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) throw vkfuse::Error("Session: closed");
      if (cpu_) {
        std::vector<std::pair<std::string, vkfuse::TensorBytes>> t;
        for (const auto& x : in) t.push_back({x.name, {x.dtype, x.shape, x.array.data()}});
        out = model_->run(vkfuse::SafetensorsFile::from_tensors("session inputs", t), need_weights_, nullptr);
      } else {
        // A dict is the whole input: nothing of an earlier call's stays set.
        vkfuse::Session& s = *session_;
        s.clear_inputs();
        for (const auto& x : in) s.set_input(x.name, x.dtype, x.shape, x.array.data());
        out = s.run();
        s.clear_inputs();  // the copies would otherwise stay until the next run
      }
    }
    return to_numpy(std::move(out));
  }

  std::vector<std::vector<int64_t>> tokenize(const std::vector<std::string>& texts) {
    const vkfuse::Tokenizer& tok = preprocessor().tokenizer();
    std::vector<std::vector<int64_t>> ids;
    py::gil_scoped_release nogil;  // the tokenizer is immutable
    for (const auto& t : texts) ids.push_back(tok.encode(t));
    return ids;
  }

  py::array preprocess_image(const py::handle& picture) {
    const vkfuse::ImagePreprocess& pre = preprocessor().image_preprocess();
    Picture pic = to_picture(picture);
    std::vector<float> v;
    int h = 0, w = 0;
    {
      py::gil_scoped_release nogil;  // decoding and resampling a large photo takes a while
      if (!pic.path.empty()) pic.image = vkfuse::read_image(pic.path);
      v = pre.apply(pic.image, h, w);
    }
    return to_numpy(vkfuse::HostTensor{{3, h, w}, std::move(v)});
  }

  py::dict inputs(const std::vector<std::string>& texts, const py::list& images) {
    const vkfuse::Preprocessor& pre = preprocessor();
    std::vector<Picture> pics;
    for (const auto& p : images) pics.push_back(to_picture(p));
    std::optional<vkfuse::SafetensorsFile> file;
    {
      py::gil_scoped_release nogil;
      std::vector<vkfuse::Image> decoded;
      std::vector<std::string> names;
      for (size_t i = 0; i < pics.size(); ++i) {
        decoded.push_back(pics[i].path.empty() ? std::move(pics[i].image) : vkfuse::read_image(pics[i].path));
        names.push_back(pics[i].path.empty() ? "picture " + std::to_string(i) : pics[i].path);
      }
      file.emplace(pre.inputs(texts, decoded, names));
    }
    py::dict d;
    for (const auto& name : file->names()) {
      const auto& t = file->tensor(name);
      py::array a(py::dtype(numpy_name(t.dtype)), numpy_shape(t.shape));
      if (t.bytes) std::memcpy(a.mutable_data(), t.data, t.bytes);  // t.data need not be aligned
      d[py::str(name)] = a;
    }
    return d;
  }

  // The model stays mapped (it is host memory, and the properties read it).
  void close() {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mutex_);  // after a run in flight
    closed_ = true;
    session_.reset();
    ctx_.reset();
  }

  std::string path() const { return model().path(); }
  std::string arch() const { return model().arch(); }
  py::object config() const { return py::module_::import("json").attr("loads")(model().config_json()); }
  std::map<std::string, std::string> metadata() const { return model().metadata(); }
  py::object device() const { return device_ ? py::object(device_dict(*device_)) : py::object(py::none()); }
  bool need_weights() const { return need_weights_; }
  bool cpu() const { return cpu_; }
  bool has_tokenizer() { return preprocessor().has_tokenizer(); }
  bool has_image_preprocess() { return preprocessor().has_image_preprocess(); }

  std::string repr() const {
    return "<vkfuse.Session " + model_->path() + " (" + model_->arch() + ") on " +
           (device_ ? device_->name : std::string("the CPU reference")) + (closed_ ? ", closed>" : ">");
  }

 private:
  const vkfuse::Model& model() const { return *model_; }
  // Made at its first use, with the GIL held (so once): a CLIP tokenizer's vocabulary is
  // megabytes of JSON that a model run alone never needs.
  const vkfuse::Preprocessor& preprocessor() {
    if (!preprocessor_) preprocessor_.emplace(model());
    return *preprocessor_;
  }

  bool need_weights_, cpu_;
  std::optional<vkfuse::Model> model_;  // set by the constructor: Model has no empty state
  std::optional<vkfuse::DeviceInfo> device_;
  std::optional<vkfuse::Preprocessor> preprocessor_;
  // The GIL is released during runs, so these are used under the mutex alone: one run of a
  // session at a time, and close() after the run in flight.
  std::mutex mutex_;
  std::atomic<bool> closed_{false};  // read by repr() without the mutex
  std::unique_ptr<vkfuse::Context> ctx_;      // declared before the session that uses it,
  std::unique_ptr<vkfuse::Session> session_;  // so the session goes first
};

}  // namespace

PYBIND11_MODULE(vkfuse, m) {
  m.doc() = "vkfuse: transformer encoders and vision-text models on any Vulkan GPU (numpy in, numpy out)";
  m.attr("__version__") = VKFUSE_VERSION_STRING;
  m.attr("__commit__") = VKFUSE_COMMIT_STRING;
  py::register_local_exception<vkfuse::Error>(m, "Error", PyExc_RuntimeError);
  m.attr("Error").attr("__doc__") = "A failure vkfuse reports: what failed and where, in one line.";

  m.def("devices", &devices,
        "Every Vulkan device, in the loader's order: name, type, vendor, driver, api_version, the limits vkfuse "
        "uses, and 'selected' for the one a Session takes by default (VKFUSE_DEVICE, else the best).");

  py::class_<PySession>(m, "Session",
                        "A model file on a device (or, with cpu=True, on the CPU reference). The first run of an "
                        "input shape records the GPU program; later runs of that shape replay it.")
      .def(py::init<const py::object&, const py::object&, bool, bool>(), py::arg("path"),
           py::arg("device") = py::none(), py::arg("need_weights") = false, py::arg("cpu") = false,
           "device: None (VKFUSE_DEVICE, else the best), an index or a part of a device's name. need_weights: the "
           "runs also return the attention weights the arch defines.")
      .def("run", &PySession::run, py::arg("inputs"),
           "The forward pass on {name: array}: float32/float16, int64/int32, uint8, bool as they are; other floats "
           "as float32, other integers as int64. Returns {name: float32 array}.")
      .def("tokenize", &PySession::tokenize, py::arg("texts"),
           "The ids of each text, special tokens included, by the tokenizer the model file carries.")
      .def("preprocess_image", &PySession::preprocess_image, py::arg("picture"),
           "A picture (a path, or a uint8 array [H, W, 3]) as the model's input: float32 [3, H, W].")
      .def("inputs", &PySession::inputs, py::arg("texts") = std::vector<std::string>{},
           py::arg("images") = py::list(),
           "The model's inputs from texts and pictures, as its file's preprocessing makes them: input_ids and "
           "attention_mask int64 [B, T], the picture input float32 [B, 3, H, W] (pixel_values; image for "
           "vision_text_fusion); for run().")
      .def("close", &PySession::close, "Frees the device's memory now rather than when the session is collected.")
      .def("__enter__", [](PySession& s) -> PySession& { return s; }, py::return_value_policy::reference)
      .def("__exit__", [](PySession& s, const py::args&) { s.close(); })
      .def("__repr__", &PySession::repr)
      .def_property_readonly("path", &PySession::path)
      .def_property_readonly("arch", &PySession::arch)
      .def_property_readonly("config", &PySession::config, "The arch's config (the file's vkfuse.config)")
      .def_property_readonly("metadata", &PySession::metadata, "Every metadata string of the file")
      .def_property_readonly("device", &PySession::device, "The device the session runs on; None with cpu=True")
      .def_property_readonly("need_weights", &PySession::need_weights)
      .def_property_readonly("cpu", &PySession::cpu)
      .def_property_readonly("has_tokenizer", &PySession::has_tokenizer)
      .def_property_readonly("has_image_preprocess", &PySession::has_image_preprocess);
}
