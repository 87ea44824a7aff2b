// Vulkan compute for the GPU backend: the loader (libvulkan.so.1) is opened
// at run time, never linked, so a machine without it still runs everything
// on the CPU. list_devices() says what the loader sees; a Context is one
// device opened for compute: buffers reached by device address, compute
// pipelines from the SPIR-V compiled into the binary (shaders.hpp), and a
// queue that runs a list of dispatches and waits for them.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::gpu {

// Every failure of the backend: no loader, no usable device, a Vulkan call
// that failed (named, with its VkResult), a dispatch that timed out.
struct GpuError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct DeviceInfo {
    int index = 0;  // position in the loader's list (`--gpu N`)
    std::string name;
    std::string type;  // "discrete", "integrated", "virtual", "cpu" or "other"
    std::string api_version;
    std::string driver;
    uint64_t device_local_bytes = 0;  // the largest device-local heap
    uint32_t subgroup_size = 0;
    bool fp16 = false;                 // shaderFloat16
    bool int8 = false;                 // shaderInt8
    bool integer_dot_product = false;  // VK_KHR_shader_integer_dot_product
    bool cooperative_matrix = false;   // VK_KHR_cooperative_matrix
    // What the backend needs: Vulkan 1.2, a compute queue, buffer device
    // addresses, 8-bit storage, 64-bit integers and subgroup arithmetic in
    // compute shaders. When false, why_not says what is missing.
    bool usable = false;
    std::string why_not;
};

struct Discovery {
    std::vector<DeviceInfo> devices;
    std::string error;  // why there are none (no loader, instance refused)
};

Discovery list_devices();

class Context;

// A device buffer with its device address. Host-visible buffers are mapped
// for their whole life (`mapped`); the others are filled through staging.
class Buffer {
  public:
    Buffer() = default;
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer();

    size_t bytes() const { return bytes_; }
    VkDeviceAddress address() const { return address_; }
    void* mapped() const { return mapped_; }

  private:
    friend class Context;
    void release();
    const Context* owner_ = nullptr;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    VkDeviceAddress address_ = 0;
    void* mapped_ = nullptr;
    size_t bytes_ = 0;
};

// A compute pipeline of one embedded shader, its arguments all in push
// constants (at most kPushBytes).
class Pipeline {
  public:
    static constexpr uint32_t kPushBytes = 128;
    Pipeline(const Context& context, std::string_view shader);
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    ~Pipeline();

  private:
    friend class Context;
    const Context& context_;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    VkPipeline pipeline_ = VK_NULL_HANDLE;
};

// One vkCmdDispatch: its pipeline, push constants and workgroup counts.
struct Dispatch {
    const Pipeline* pipeline = nullptr;
    std::array<std::byte, Pipeline::kPushBytes> push{};
    uint32_t push_bytes = 0;
    std::array<uint32_t, 3> groups{1, 1, 1};
};

struct Api;

// Dispatches recorded once into a command buffer of their own, to be
// submitted any number of times (Context::submit): the buffers they name
// must outlive it, and what they read may change between submissions.
class Recording {
  public:
    Recording() = default;
    Recording(Recording&& other) noexcept;
    Recording& operator=(Recording&& other) noexcept;
    Recording(const Recording&) = delete;
    Recording& operator=(const Recording&) = delete;
    ~Recording();

  private:
    friend class Context;
    void release();
    const Context* owner_ = nullptr;
    VkCommandBuffer commands_ = VK_NULL_HANDLE;
};

class Context {
  public:
    // Opens device `index` of list_devices(); throws GpuError when it is
    // missing or unusable.
    explicit Context(int index);
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context();

    const DeviceInfo& info() const { return info_; }
    const Api& api() const { return *api_; }
    VkDevice device() const { return device_; }
    uint32_t max_groups_x() const { return max_groups_x_; }

    // A buffer in device-local memory (upload() fills it) or, with
    // host_visible, one the CPU maps (host-visible, coherent).
    Buffer buffer(size_t bytes, bool host_visible) const;
    // Copies bytes into / out of a buffer at offset, through a staging
    // buffer when it is not mapped.
    void upload(const Buffer& dst, size_t offset, const void* src, size_t bytes);
    void download(const Buffer& src, size_t offset, void* dst, size_t bytes);

    // Records the dispatches in order, each reading what the ones before it
    // wrote, submits them and waits (GpuError after timeout_ms).
    void run(std::span<const Dispatch> dispatches, uint64_t timeout_ms = 60'000);
    // The same, recorded once to be run by submit() as often as wanted.
    Recording record(std::span<const Dispatch> dispatches) const;
    void submit(const Recording& recording, uint64_t timeout_ms = 60'000);

  private:
    friend class Recording;
    void close();  // destroys the handles made so far
    void record_into(VkCommandBuffer commands, std::span<const Dispatch> dispatches,
                     bool once) const;
    void submit_and_wait(VkCommandBuffer commands, uint64_t timeout_ms);
    void copy(const Buffer& src, size_t src_offset, const Buffer& dst, size_t dst_offset,
              size_t bytes);

    std::unique_ptr<Api> api_;
    DeviceInfo info_;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer commands_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    uint32_t max_groups_x_ = 65535;
    VkPhysicalDeviceMemoryProperties memory_{};
};

}  // namespace pensieve::gpu
