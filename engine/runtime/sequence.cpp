// Sequence: transfers and dispatches recorded once into command buffers, replayed per run.
#include <map>

#include "descriptor_arena.h"
#include "dispatch.h"
#include "hazard_tracker.h"
#include "timestamps.h"
#include "workspace.h"
#include "vkfuse/error.hpp"

namespace vkfuse {
namespace detail {

struct Step {
  enum Kind { Upload, Download, Run } kind = Run;
  std::shared_ptr<Storage> storage;  // Upload/Download
  VkDeviceSize offset = 0, size = 0;
  Dispatch dispatch;                 // Run
};

struct SequenceImpl {
  Context ctx;
  ContextImpl& c;
  SequenceOptions options;
  std::vector<Step> steps;
  bool recorded = false;
  VkCommandPool pool = VK_NULL_HANDLE;
  std::unique_ptr<DescriptorArena> descriptors;
  VkFence fence = VK_NULL_HANDLE;
  std::vector<VkCommandBuffer> cbs;
  std::unique_ptr<Timestamps> timestamps;
  std::vector<std::string> labels;  // of the timed dispatches
  size_t dispatches = 0, barriers = 0;
  Workspace workspace;  // the intermediates of the recorded dispatches
  std::string label_prefix;  // put before every dispatch label added (a graph's node names)

  SequenceImpl(Context& ctx_, const SequenceOptions& o) : ctx(ctx_), c(*ctx_.impl()), options(o) {}
  ~SequenceImpl() {
    if (fence) {
      c.vk->vkWaitForFences(c.device, 1, &fence, VK_TRUE, UINT64_MAX);
      c.vk->vkDestroyFence(c.device, fence, nullptr);
    }
    timestamps.reset();
    descriptors.reset();
    if (pool) c.vk->vkDestroyCommandPool(c.device, pool, nullptr);
  }
  void record();
  // Undoes a record() that threw, so a later run starts from nothing.
  void forget_recording() {
    timestamps.reset();
    descriptors.reset();
    if (pool) c.vk->vkDestroyCommandPool(c.device, pool, nullptr);
    if (fence) c.vk->vkDestroyFence(c.device, fence, nullptr);
    pool = VK_NULL_HANDLE;
    fence = VK_NULL_HANDLE;
    cbs.clear();
    labels.clear();
    barriers = 0;
  }
};

namespace {

void memory_barrier(const VulkanFunctions& vk, VkCommandBuffer cb) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vk.vkCmdPipelineBarrier(cb, st, st, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

}  // namespace

void SequenceImpl::record() {
  const VulkanFunctions& vk = *c.vk;
  std::vector<const Dispatch*> dispatched;
  for (const auto& s : steps)
    if (s.kind == Step::Run) dispatched.push_back(&s.dispatch);
  const uint32_t sets = static_cast<uint32_t>(dispatched.size());
  descriptors = std::make_unique<DescriptorArena>(vk, c.device, dispatched);
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = c.queue_family;
  VK_CHECK(vk.vkCreateCommandPool(c.device, &pci, nullptr, &pool));
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  fci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
  VK_CHECK(vk.vkCreateFence(c.device, &fci, nullptr, &fence));
  if (options.timestamps) {
    if (!c.caps.timestamps) throw Error("device '" + c.info.name + "' has no timestamp queries");
    if (sets) timestamps = std::make_unique<Timestamps>(vk, c.device, 2 * sets, c.timestamp_valid_bits,
                                                        c.caps.timestamp_period_ns);
  }

  const uint32_t per_submit = options.max_dispatches_per_submit ? options.max_dispatches_per_submit : UINT32_MAX;
  // How many dispatches each command buffer will hold, for its query reset.
  std::vector<uint32_t> cb_dispatches(1, 0);
  for (const auto& s : steps)
    if (s.kind == Step::Run) {
      if (cb_dispatches.back() == per_submit) cb_dispatches.push_back(0);
      ++cb_dispatches.back();
    }

  // On host-visible (direct) memory an upload or download moves nothing: the host writes
  // before the submit and reads after the fence. That means the same as a staged copy only
  // for uploads before any dispatch touches the tensor and downloads after the last one
  // writes it; anything else would give different answers on different devices.
  {
    std::map<const Storage*, bool> used, downloaded;
    for (const auto& s : steps) {
      if (s.kind == Step::Upload && s.storage->direct && used[s.storage.get()])
        throw Error("sequence: an upload after a dispatch used the same tensor; with host-visible device memory "
                    "uploads happen before the run, so put them first");
      if (s.kind == Step::Download && s.storage->direct) downloaded[s.storage.get()] = true;
      if (s.kind == Step::Run)
        for (const auto& b : s.dispatch.bindings) {
          used[b.storage.get()] = true;
          if (b.write && b.storage->direct && downloaded[b.storage.get()])
            throw Error("sequence: '" + s.dispatch.label + "' writes a tensor downloaded earlier; with host-visible "
                        "device memory downloads happen after the run, so put them last");
        }
    }
  }
  HazardTracker hazards;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  uint32_t in_cb = 0, query = 0;
  auto begin = [&] {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VK_CHECK(vk.vkAllocateCommandBuffers(c.device, &ai, &cb));
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_CHECK(vk.vkBeginCommandBuffer(cb, &bi));
    if (timestamps) timestamps->reset(cb, query, 2 * cb_dispatches[cbs.size()]);
    if (cbs.empty()) full_barrier(vk, cb, false);  // after whatever ran before this run
    cbs.push_back(cb);
    in_cb = 0;
  };
  begin();
  for (auto& s : steps) {
    std::vector<Binding> uses;
    if (s.kind == Step::Run)
      uses = s.dispatch.bindings;
    else
      uses = {Binding{s.storage, s.kind == Step::Upload}};
    if (s.kind == Step::Run && in_cb == per_submit) {
      VK_CHECK(vk.vkEndCommandBuffer(cb));
      begin();
    }
    bool moves_data = s.kind == Step::Run || !s.storage->direct;
    if (moves_data && hazards.needs_barrier(uses)) {
      memory_barrier(vk, cb);
      ++barriers;
      hazards.clear();
    }
    if (moves_data) hazards.mark(uses);
    if (s.kind == Step::Upload) {
      if (!s.storage->direct) s.storage->record_upload(cb, s.offset, s.size);
      continue;
    }
    if (s.kind == Step::Download) {
      if (!s.storage->direct) s.storage->record_download(cb, s.offset, s.size);
      continue;
    }
    const Dispatch& d = s.dispatch;
    VkDescriptorSet set = descriptors->bind(d);
    vk.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->pipeline);
    vk.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->layout, 0, 1, &set, 0, nullptr);
    if (!d.push.empty())
      vk.vkCmdPushConstants(cb, d.pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                            static_cast<uint32_t>(d.push.size()), d.push.data());
    if (timestamps) timestamps->write(cb, query++);
    vk.vkCmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
    if (timestamps) {
      timestamps->write(cb, query++);
      labels.push_back(d.label);
    }
    ++in_cb;
  }
  full_barrier(vk, cb, true);  // shader and transfer writes visible to the host
  VK_CHECK(vk.vkEndCommandBuffer(cb));
  recorded = true;
}

void add_dispatch(Sequence& s, Dispatch d) {
  SequenceImpl& q = s.impl();
  if (q.recorded) throw Error("sequence: '" + d.label + "' added after the sequence was recorded");
  for (int i = 0; i < 3; ++i)
    if (d.groups[i] > q.c.caps.max_workgroup_count[i])
      throw Error(d.label + ": " + std::to_string(d.groups[i]) + " workgroups on axis " +
                  std::to_string(i) + " exceed the device limit of " +
                  std::to_string(q.c.caps.max_workgroup_count[i]));
  for (const auto& b : d.bindings)
    if (b.storage->ctx.get() != &q.c) throw Error(d.label + ": a tensor belongs to another context");
  // The op against its shader's table (shaders/<shader>.variants): a mismatch is a bug here.
  if (!d.pipeline || d.bindings.size() != d.pipeline->bindings || d.push.size() != d.pipeline->push_bytes)
    throw Error("internal error: dispatch '" + d.label + "' gives " + std::to_string(d.bindings.size()) +
                " bindings and " + std::to_string(d.push.size()) + " bytes of push constants to '" +
                (d.pipeline ? d.pipeline->name : std::string("no pipeline")) + "', which takes " +
                (d.pipeline ? std::to_string(d.pipeline->bindings) + " and " + std::to_string(d.pipeline->push_bytes)
                            : std::string("a pipeline")));
  if (d.groups[0] == 0 || d.groups[1] == 0 || d.groups[2] == 0) return;  // empty tensors
  if (!q.label_prefix.empty()) d.label = q.label_prefix + d.label;
  Step st;
  st.kind = Step::Run;
  st.dispatch = std::move(d);
  q.steps.push_back(std::move(st));
  ++q.dispatches;
}

Workspace& workspace_of(Sequence& s) { return s.impl().workspace; }

void set_label_prefix(Sequence& s, std::string prefix) { s.impl().label_prefix = std::move(prefix); }
const SequenceOptions& options_of(Sequence& s) { return s.impl().options; }

}  // namespace detail

Sequence::Sequence(Context& ctx, const SequenceOptions& o)
    : impl_(std::make_unique<detail::SequenceImpl>(ctx, o)) {}
Sequence::~Sequence() = default;
Sequence::Sequence(Sequence&&) noexcept = default;
Sequence& Sequence::operator=(Sequence&&) noexcept = default;
Context& Sequence::context() { return impl_->ctx; }

namespace {
void add_transfer(detail::SequenceImpl& q, const Tensor& t, detail::Step::Kind kind) {
  if (q.recorded) throw Error("sequence: transfer added after the sequence was recorded");
  if (!t.defined()) throw Error("sequence: transfer of an empty tensor");
  if (!t.contiguous()) throw Error("sequence: transfer of non-contiguous " + t.describe());
  if (t.storage()->ctx.get() != &q.c) throw Error("sequence: the tensor belongs to another context");
  detail::Step s;
  s.kind = kind;
  s.storage = t.storage();
  s.offset = static_cast<VkDeviceSize>(t.offset()) * dtype_size(t.dtype());
  s.size = static_cast<VkDeviceSize>(t.numel()) * dtype_size(t.dtype());
  if (s.size == 0) return;
  s.storage->host();
  q.steps.push_back(std::move(s));
}
}  // namespace

void Sequence::upload(const Tensor& t) { add_transfer(*impl_, t, detail::Step::Upload); }
void Sequence::download(const Tensor& t) { add_transfer(*impl_, t, detail::Step::Download); }

void Sequence::run() {
  detail::SequenceImpl& q = *impl_;
  if (!q.recorded) {
    try {
      q.record();
    } catch (...) {
      q.forget_recording();
      throw;
    }
  }
  const auto& vk = *q.c.vk;
  VK_CHECK(vk.vkWaitForFences(q.c.device, 1, &q.fence, VK_TRUE, UINT64_MAX));
  VK_CHECK(vk.vkResetFences(q.c.device, 1, &q.fence));
  q.c.submit(q.cbs, q.fence);
  VK_CHECK(vk.vkWaitForFences(q.c.device, 1, &q.fence, VK_TRUE, UINT64_MAX));
}

size_t Sequence::dispatch_count() const { return impl_->dispatches; }
size_t Sequence::barrier_count() const { return impl_->barriers; }
size_t Sequence::submit_count() const { return impl_->cbs.size(); }
uint64_t Sequence::intermediate_bytes() const { return impl_->workspace.planned_bytes(); }
uint64_t Sequence::intermediate_bytes_unshared() const { return impl_->workspace.unshared_bytes(); }

std::vector<DispatchTiming> Sequence::timings() const {
  std::vector<DispatchTiming> out;
  if (!impl_->timestamps) return out;
  auto ms = impl_->timestamps->pair_ms();
  for (size_t i = 0; i < ms.size(); ++i) out.push_back({impl_->labels[i], ms[i]});
  return out;
}

double Sequence::total_device_ms() const {
  double s = 0;
  for (const auto& t : timings()) s += t.ms;
  return s;
}

}  // namespace vkfuse
