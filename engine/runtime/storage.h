#pragma once
#include <memory>

#include "context_impl.h"

namespace vkfuse::detail {

// The memory behind a tensor and its views: device memory, and the host side a user writes
// and reads (the same mapped memory on UMA devices, else a staging range made on first use).
struct Storage {
  std::shared_ptr<ContextImpl> ctx;
  Allocation device;
  Allocation staging;
  VkDeviceSize bytes = 0;
  bool direct = false;

  Storage(std::shared_ptr<ContextImpl> c, VkDeviceSize bytes);
  ~Storage();
  uint8_t* host();  // mapped host side
  // Staged storages only: copy the host side to the device and back (recorded commands).
  void record_upload(VkCommandBuffer cb, VkDeviceSize offset, VkDeviceSize size);
  void record_download(VkCommandBuffer cb, VkDeviceSize offset, VkDeviceSize size);
};

}  // namespace vkfuse::detail
