// The validation hook itself: a misuse reaches the callback (so a test whose kernels misuse
// Vulkan would fail), and synchronization validation is on (an unsynchronized write after
// write is reported).
#include "runtime/storage.h"
#include "gpu_test.hpp"

namespace {

class Validation : public vkt::GpuTest {};

TEST_F(Validation, MisuseReachesTheCallback) {
  auto& c = *vkt::context(vkt::Mode::Normal).impl();
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = 0;  // VUID-VkBufferCreateInfo-size-00912
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer b = VK_NULL_HANDLE;
  c.vk->vkCreateBuffer(c.device, &bi, nullptr, &b);
  if (b) c.vk->vkDestroyBuffer(c.device, b, nullptr);
  EXPECT_FALSE(vkt::messages().empty());
  vkt::messages().clear();
}

TEST_F(Validation, SynchronizationHazardIsReported) {
  auto& ctx = vkt::context(vkt::Mode::Staged);
  vkfuse::Tensor t = ctx.tensor({64});
  t.write(std::vector<float>(64, 1.f));
  auto& st = *t.storage();
  ctx.impl()->one_shot([&](VkCommandBuffer cb) {
    st.record_upload(cb, 0, 256);
    st.record_upload(cb, 0, 256);  // a second write to the same range with no barrier
  });
  bool hazard = false;
  for (const auto& m : vkt::messages()) hazard = hazard || m.find("SYNC-HAZARD") != std::string::npos;
  EXPECT_TRUE(hazard) << "synchronization validation did not report a write-after-write";
  vkt::messages().clear();
}

}  // namespace
