#include "gpu/vulkan.hpp"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "gpu/shaders.hpp"

namespace pensieve::gpu {

// The entry points the backend calls, by level: global ones come from
// vkGetInstanceProcAddr(nullptr, ...), instance ones after the instance is
// made, device ones from vkGetDeviceProcAddr.
#define PENSIEVE_VK_GLOBAL(X) \
    X(vkCreateInstance)       \
    X(vkEnumerateInstanceExtensionProperties)
#define PENSIEVE_VK_INSTANCE(X)                 \
    X(vkDestroyInstance)                        \
    X(vkEnumeratePhysicalDevices)               \
    X(vkGetPhysicalDeviceProperties2)           \
    X(vkGetPhysicalDeviceFeatures2)             \
    X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkGetPhysicalDeviceMemoryProperties)      \
    X(vkEnumerateDeviceExtensionProperties)     \
    X(vkCreateDevice)                           \
    X(vkGetDeviceProcAddr)
#define PENSIEVE_VK_DEVICE(X)        \
    X(vkDestroyDevice)               \
    X(vkGetDeviceQueue)              \
    X(vkCreateBuffer)                \
    X(vkDestroyBuffer)               \
    X(vkGetBufferMemoryRequirements) \
    X(vkAllocateMemory)              \
    X(vkFreeMemory)                  \
    X(vkBindBufferMemory)            \
    X(vkMapMemory)                   \
    X(vkGetBufferDeviceAddress)      \
    X(vkCreateShaderModule)          \
    X(vkDestroyShaderModule)         \
    X(vkCreatePipelineLayout)        \
    X(vkDestroyPipelineLayout)       \
    X(vkCreateComputePipelines)      \
    X(vkDestroyPipeline)             \
    X(vkCreateCommandPool)           \
    X(vkDestroyCommandPool)          \
    X(vkAllocateCommandBuffers)      \
    X(vkFreeCommandBuffers)          \
    X(vkResetCommandBuffer)          \
    X(vkBeginCommandBuffer)          \
    X(vkEndCommandBuffer)            \
    X(vkCmdBindPipeline)             \
    X(vkCmdPushConstants)            \
    X(vkCmdDispatch)                 \
    X(vkCmdPipelineBarrier)          \
    X(vkCmdCopyBuffer)               \
    X(vkCreateFence)                 \
    X(vkDestroyFence)                \
    X(vkResetFences)                 \
    X(vkWaitForFences)               \
    X(vkQueueSubmit)

struct Api {
#define PENSIEVE_VK_MEMBER(name) PFN_##name name = nullptr;
    PENSIEVE_VK_GLOBAL(PENSIEVE_VK_MEMBER)
    PENSIEVE_VK_INSTANCE(PENSIEVE_VK_MEMBER)
    PENSIEVE_VK_DEVICE(PENSIEVE_VK_MEMBER)
#undef PENSIEVE_VK_MEMBER
    void* library = nullptr;
    PFN_vkGetInstanceProcAddr get_instance_proc = nullptr;

    Api() = default;
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;
    ~Api() {
        if (library != nullptr) dlclose(library);
    }
};

namespace {

std::string result_text(VkResult result) {
    const std::string code = "VkResult " + std::to_string(result);
    switch (result) {
        case VK_ERROR_INCOMPATIBLE_DRIVER:
            return "no Vulkan driver, " + code;
        case VK_ERROR_OUT_OF_HOST_MEMORY:
            return "out of host memory, " + code;
        case VK_ERROR_OUT_OF_DEVICE_MEMORY:
            return "out of device memory, " + code;
        case VK_ERROR_DEVICE_LOST:
            return "device lost, " + code;
        default:
            return code;
    }
}

void check(VkResult result, const char* call) {
    if (result != VK_SUCCESS)
        throw GpuError(std::string(call) + " failed (" + result_text(result) + ")");
}

template <typename Fn>
Fn load(Fn& slot, void* fn, const char* name) {
    if (fn == nullptr) throw GpuError(std::string("the Vulkan loader lacks ") + name);
    slot = reinterpret_cast<Fn>(fn);
    return slot;
}

// Opens the loader and its global entry points.
std::unique_ptr<Api> open_loader() {
    auto api = std::make_unique<Api>();
    for (const char* name : {"libvulkan.so.1", "libvulkan.so"}) {
        api->library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (api->library != nullptr) break;
    }
    if (api->library == nullptr)
        throw GpuError("no Vulkan loader (libvulkan.so.1) on this machine");
    load(api->get_instance_proc, dlsym(api->library, "vkGetInstanceProcAddr"),
         "vkGetInstanceProcAddr");
#define PENSIEVE_VK_LOAD(name) \
    load(api->name, reinterpret_cast<void*>(api->get_instance_proc(nullptr, #name)), #name);
    PENSIEVE_VK_GLOBAL(PENSIEVE_VK_LOAD)
#undef PENSIEVE_VK_LOAD
    return api;
}

VkInstance create_instance(Api& api) {
    uint32_t count = 0;
    api.vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> available(count);
    api.vkEnumerateInstanceExtensionProperties(nullptr, &count, available.data());
    // MoltenVK lists its devices only to instances that ask for portability
    // enumeration.
    std::vector<const char*> extensions;
    VkInstanceCreateFlags flags = 0;
    for (const VkExtensionProperties& e : available) {
        if (std::strcmp(e.extensionName, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME) == 0) {
            extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
            flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
        }
    }
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "pensieve";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.flags = flags;
    info.pApplicationInfo = &app;
    info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    VkInstance instance = VK_NULL_HANDLE;
    check(api.vkCreateInstance(&info, nullptr, &instance), "vkCreateInstance");
#define PENSIEVE_VK_LOAD(name) \
    load(api.name, reinterpret_cast<void*>(api.get_instance_proc(instance, #name)), #name);
    PENSIEVE_VK_INSTANCE(PENSIEVE_VK_LOAD)
#undef PENSIEVE_VK_LOAD
    return instance;
}

// Marks every library the process holds never to be unloaded. Drivers keep
// one-time state that their globals point to (set up under pthread_once,
// JIT compilers), and the loader unloads a driver with the last instance
// that used it: loaded again, the driver sets itself up again and what the
// last load allocated is lost (Mesa's lavapipe on a Zen 4: two blocks of 128
// bytes per load, which LeakSanitizer reports). Called once a device list
// has loaded the drivers, so they stay, as in most Vulkan programs.
void keep_drivers_loaded() {
    static std::once_flag once;
    std::call_once(once, [] {
        dl_iterate_phdr(
            [](dl_phdr_info* info, size_t, void*) {
                // An extra reference, never released, on a library already
                // loaded (RTLD_NOLOAD): a no-op for the program's own.
                if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0')
                    dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
                return 0;
            },
            nullptr);
    });
}

std::vector<VkPhysicalDevice> physical_devices(const Api& api, VkInstance instance) {
    uint32_t count = 0;
    check(api.vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
    keep_drivers_loaded();
    std::vector<VkPhysicalDevice> devices(count);
    check(api.vkEnumeratePhysicalDevices(instance, &count, devices.data()),
          "vkEnumeratePhysicalDevices");
    devices.resize(count);
    return devices;
}

std::string version_text(uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
           "." + std::to_string(VK_API_VERSION_PATCH(v));
}

const char* type_name(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return "cpu";
        default:
            return "other";
    }
}

// The first queue family that runs compute, or -1.
int compute_family(const Api& api, VkPhysicalDevice device) {
    uint32_t count = 0;
    api.vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    api.vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
    for (uint32_t i = 0; i < count; ++i) {
        if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) != 0) return static_cast<int>(i);
    }
    return -1;
}

DeviceInfo describe(const Api& api, VkPhysicalDevice device, int index) {
    VkPhysicalDeviceSubgroupProperties subgroup{};
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceDriverProperties driver{};
    driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    driver.pNext = &subgroup;
    VkPhysicalDeviceProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props.pNext = &driver;
    api.vkGetPhysicalDeviceProperties2(device, &props);

    VkPhysicalDeviceVulkan12Features v12{};
    v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    VkPhysicalDeviceFeatures2 features{};
    features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    features.pNext = &v12;
    const bool v12_ok = props.properties.apiVersion >= VK_API_VERSION_1_2;
    if (v12_ok) api.vkGetPhysicalDeviceFeatures2(device, &features);

    uint32_t count = 0;
    api.vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> extensions(count);
    api.vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data());
    const auto has = [&](const char* name) {
        return std::any_of(extensions.begin(), extensions.end(),
                           [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
    };

    VkPhysicalDeviceMemoryProperties memory{};
    api.vkGetPhysicalDeviceMemoryProperties(device, &memory);

    DeviceInfo d;
    d.index = index;
    d.name = props.properties.deviceName;
    d.type = type_name(props.properties.deviceType);
    d.api_version = version_text(props.properties.apiVersion);
    d.driver = std::string(driver.driverName) + " " + driver.driverInfo;
    for (uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
        if ((memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0)
            d.device_local_bytes =
                std::max<uint64_t>(d.device_local_bytes, memory.memoryHeaps[h].size);
    }
    d.subgroup_size = subgroup.subgroupSize;
    d.fp16 = v12_ok && v12.shaderFloat16 == VK_TRUE;
    d.int8 = v12_ok && v12.shaderInt8 == VK_TRUE;
    d.integer_dot_product = has("VK_KHR_shader_integer_dot_product");
    d.cooperative_matrix = has("VK_KHR_cooperative_matrix");

    std::vector<std::string> missing;
    if (!v12_ok) missing.emplace_back("Vulkan 1.2");
    if (compute_family(api, device) < 0) missing.emplace_back("a compute queue");
    if (v12_ok && v12.bufferDeviceAddress != VK_TRUE) missing.emplace_back("bufferDeviceAddress");
    if (v12_ok && v12.storageBuffer8BitAccess != VK_TRUE)
        missing.emplace_back("storageBuffer8BitAccess");
    if (features.features.shaderInt64 != VK_TRUE) missing.emplace_back("shaderInt64");
    if ((subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) == 0 ||
        (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) == 0)
        missing.emplace_back("subgroup arithmetic in compute shaders");
    d.usable = missing.empty();
    for (size_t i = 0; i < missing.size(); ++i) d.why_not += (i ? ", " : "lacks ") + missing[i];
    return d;
}

}  // namespace

Discovery list_devices() {
    Discovery found;
    try {
        auto api = open_loader();
        VkInstance instance = create_instance(*api);
        try {
            const auto devices = physical_devices(*api, instance);
            for (size_t i = 0; i < devices.size(); ++i)
                found.devices.push_back(describe(*api, devices[i], static_cast<int>(i)));
        } catch (...) {
            api->vkDestroyInstance(instance, nullptr);
            throw;
        }
        api->vkDestroyInstance(instance, nullptr);
        if (found.devices.empty()) found.error = "the Vulkan loader reports no device";
    } catch (const GpuError& e) {
        found.error = e.what();
    }
    return found;
}

// ---- Buffer ------------------------------------------------------------------

Buffer::Buffer(Buffer&& other) noexcept {
    *this = std::move(other);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
        memory_ = std::exchange(other.memory_, VK_NULL_HANDLE);
        address_ = std::exchange(other.address_, 0);
        mapped_ = std::exchange(other.mapped_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

Buffer::~Buffer() {
    release();
}

void Buffer::release() {
    if (owner_ == nullptr) return;
    const Api& api = owner_->api();
    if (buffer_ != VK_NULL_HANDLE) api.vkDestroyBuffer(owner_->device(), buffer_, nullptr);
    if (memory_ != VK_NULL_HANDLE) api.vkFreeMemory(owner_->device(), memory_, nullptr);
    owner_ = nullptr;
}

// ---- Pipeline ----------------------------------------------------------------

Pipeline::Pipeline(const Context& context, std::string_view shader) : context_(context) {
    const std::span<const uint32_t> code = shader_code(shader);
    if (code.empty()) throw GpuError("no shader named " + std::string(shader));
    const Api& api = context.api();
    VkShaderModuleCreateInfo module_info{};
    module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    module_info.codeSize = code.size_bytes();
    module_info.pCode = code.data();
    VkShaderModule module = VK_NULL_HANDLE;
    check(api.vkCreateShaderModule(context.device(), &module_info, nullptr, &module),
          "vkCreateShaderModule");

    VkPushConstantRange push{};
    push.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    push.size = kPushBytes;
    VkPipelineLayoutCreateInfo layout_info{};
    layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layout_info.pushConstantRangeCount = 1;
    layout_info.pPushConstantRanges = &push;
    VkResult result = api.vkCreatePipelineLayout(context.device(), &layout_info, nullptr, &layout_);
    if (result == VK_SUCCESS) {
        VkComputePipelineCreateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        info.stage.module = module;
        info.stage.pName = "main";
        info.layout = layout_;
        result = api.vkCreateComputePipelines(context.device(), VK_NULL_HANDLE, 1, &info, nullptr,
                                              &pipeline_);
    }
    api.vkDestroyShaderModule(context.device(), module, nullptr);
    if (result != VK_SUCCESS) {
        if (layout_ != VK_NULL_HANDLE)
            api.vkDestroyPipelineLayout(context.device(), layout_, nullptr);
        check(result, "creating the compute pipeline");
    }
}

Pipeline::~Pipeline() {
    const Api& api = context_.api();
    api.vkDestroyPipeline(context_.device(), pipeline_, nullptr);
    api.vkDestroyPipelineLayout(context_.device(), layout_, nullptr);
}

// ---- Context -----------------------------------------------------------------

Context::Context(int index) : api_(open_loader()) {
    instance_ = create_instance(*api_);
    try {
        const auto devices = physical_devices(*api_, instance_);
        if (index < 0 || static_cast<size_t>(index) >= devices.size())
            throw GpuError("no GPU " + std::to_string(index) + " (the loader lists " +
                           std::to_string(devices.size()) + ")");
        const VkPhysicalDevice physical = devices[static_cast<size_t>(index)];
        info_ = describe(*api_, physical, index);
        if (!info_.usable) throw GpuError("GPU " + info_.name + " " + info_.why_not);

        VkPhysicalDeviceProperties2 props{};
        props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        api_->vkGetPhysicalDeviceProperties2(physical, &props);
        max_groups_x_ = props.properties.limits.maxComputeWorkGroupCount[0];
        api_->vkGetPhysicalDeviceMemoryProperties(physical, &memory_);

        const auto family = static_cast<uint32_t>(compute_family(*api_, physical));
        const float priority = 1.0f;
        VkDeviceQueueCreateInfo queue_info{};
        queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
        queue_info.queueFamilyIndex = family;
        queue_info.queueCount = 1;
        queue_info.pQueuePriorities = &priority;
        VkPhysicalDeviceVulkan12Features v12{};
        v12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
        v12.bufferDeviceAddress = VK_TRUE;
        v12.storageBuffer8BitAccess = VK_TRUE;
        VkPhysicalDeviceFeatures2 features{};
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
        features.pNext = &v12;
        features.features.shaderInt64 = VK_TRUE;
        VkDeviceCreateInfo device_info{};
        device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
        device_info.pNext = &features;
        device_info.queueCreateInfoCount = 1;
        device_info.pQueueCreateInfos = &queue_info;
        check(api_->vkCreateDevice(physical, &device_info, nullptr, &device_), "vkCreateDevice");
#define PENSIEVE_VK_LOAD(name) \
    load(api_->name, reinterpret_cast<void*>(api_->vkGetDeviceProcAddr(device_, #name)), #name);
        PENSIEVE_VK_DEVICE(PENSIEVE_VK_LOAD)
#undef PENSIEVE_VK_LOAD
        api_->vkGetDeviceQueue(device_, family, 0, &queue_);

        VkCommandPoolCreateInfo pool_info{};
        pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pool_info.queueFamilyIndex = family;
        check(api_->vkCreateCommandPool(device_, &pool_info, nullptr, &pool_),
              "vkCreateCommandPool");
        VkCommandBufferAllocateInfo alloc{};
        alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        alloc.commandPool = pool_;
        alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        alloc.commandBufferCount = 1;
        check(api_->vkAllocateCommandBuffers(device_, &alloc, &commands_),
              "vkAllocateCommandBuffers");
        VkFenceCreateInfo fence_info{};
        fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        check(api_->vkCreateFence(device_, &fence_info, nullptr, &fence_), "vkCreateFence");
    } catch (...) {
        close();
        throw;
    }
}

Context::~Context() {
    close();
}

void Context::close() {
    if (device_ != VK_NULL_HANDLE) {
        if (fence_ != VK_NULL_HANDLE) api_->vkDestroyFence(device_, fence_, nullptr);
        if (pool_ != VK_NULL_HANDLE) api_->vkDestroyCommandPool(device_, pool_, nullptr);
        if (api_->vkDestroyDevice != nullptr) api_->vkDestroyDevice(device_, nullptr);
        device_ = VK_NULL_HANDLE;
    }
    if (instance_ != VK_NULL_HANDLE) {
        api_->vkDestroyInstance(instance_, nullptr);
        instance_ = VK_NULL_HANDLE;
    }
}

Buffer Context::buffer(size_t bytes, bool host_visible) const {
    Buffer b;
    b.owner_ = this;
    b.bytes_ = bytes;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = std::max<size_t>(bytes, 4);
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT |
                 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(api_->vkCreateBuffer(device_, &info, nullptr, &b.buffer_), "vkCreateBuffer");
    VkMemoryRequirements needs{};
    api_->vkGetBufferMemoryRequirements(device_, b.buffer_, &needs);

    const VkMemoryPropertyFlags wanted =
        host_visible ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                     : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t t = 0; t < memory_.memoryTypeCount && type == UINT32_MAX; ++t) {
        if ((needs.memoryTypeBits & (1u << t)) != 0 &&
            (memory_.memoryTypes[t].propertyFlags & wanted) == wanted)
            type = t;
    }
    if (type == UINT32_MAX)
        throw GpuError(std::string("no ") + (host_visible ? "host-visible" : "device-local") +
                       " memory type for a buffer");
    VkMemoryAllocateFlagsInfo flags{};
    flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
    flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.pNext = &flags;
    alloc.allocationSize = needs.size;
    alloc.memoryTypeIndex = type;
    check(api_->vkAllocateMemory(device_, &alloc, nullptr, &b.memory_),
          ("vkAllocateMemory of " + std::to_string(needs.size) + " bytes").c_str());
    check(api_->vkBindBufferMemory(device_, b.buffer_, b.memory_, 0), "vkBindBufferMemory");
    if (host_visible)
        check(api_->vkMapMemory(device_, b.memory_, 0, VK_WHOLE_SIZE, 0, &b.mapped_),
              "vkMapMemory");
    VkBufferDeviceAddressInfo address{};
    address.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
    address.buffer = b.buffer_;
    b.address_ = api_->vkGetBufferDeviceAddress(device_, &address);
    return b;
}

void Context::submit_and_wait(VkCommandBuffer commands, uint64_t timeout_ms) {
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &commands;
    check(api_->vkResetFences(device_, 1, &fence_), "vkResetFences");
    check(api_->vkQueueSubmit(queue_, 1, &submit, fence_), "vkQueueSubmit");
    const VkResult waited =
        api_->vkWaitForFences(device_, 1, &fence_, VK_TRUE, timeout_ms * 1'000'000ull);
    if (waited == VK_TIMEOUT)
        throw GpuError("the GPU did not finish within " + std::to_string(timeout_ms) + " ms");
    check(waited, "vkWaitForFences");
}

namespace {

// once: the recording is submitted once, then recorded again.
void begin(const Api& api, VkCommandBuffer commands, bool once = true) {
    check(api.vkResetCommandBuffer(commands, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo info{};
    info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    info.flags = once ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT : 0;
    check(api.vkBeginCommandBuffer(commands, &info), "vkBeginCommandBuffer");
}

// Makes what the stages in `from` wrote visible to the stages in `to`.
void barrier(const Api& api, VkCommandBuffer commands, VkPipelineStageFlags from,
             VkPipelineStageFlags to) {
    VkMemoryBarrier b{};
    b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                      VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_READ_BIT;
    api.vkCmdPipelineBarrier(commands, from, to, 0, 1, &b, 0, nullptr, 0, nullptr);
}

}  // namespace

void Context::copy(const Buffer& src, size_t src_offset, const Buffer& dst, size_t dst_offset,
                   size_t bytes) {
    begin(*api_, commands_);
    VkBufferCopy region{src_offset, dst_offset, bytes};
    api_->vkCmdCopyBuffer(commands_, src.buffer_, dst.buffer_, 1, &region);
    barrier(*api_, commands_, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT);
    check(api_->vkEndCommandBuffer(commands_), "vkEndCommandBuffer");
    submit_and_wait(commands_, 60'000);
}

namespace {

void check_range(const Buffer& b, size_t offset, size_t bytes) {
    if (offset > b.bytes() || bytes > b.bytes() - offset)
        throw GpuError("a copy of " + std::to_string(bytes) + " bytes at " +
                       std::to_string(offset) + " runs past a buffer of " +
                       std::to_string(b.bytes()));
}

// Staging buffers move at most this much per copy.
constexpr size_t kStagingBytes = size_t{64} << 20;

}  // namespace

void Context::upload(const Buffer& dst, size_t offset, const void* src, size_t bytes) {
    check_range(dst, offset, bytes);
    if (dst.mapped() != nullptr) {
        std::memcpy(static_cast<std::byte*>(dst.mapped()) + offset, src, bytes);
        return;
    }
    const Buffer staging = buffer(std::min(bytes, kStagingBytes), true);
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(bytes - done, kStagingBytes);
        std::memcpy(staging.mapped(), static_cast<const std::byte*>(src) + done, n);
        copy(staging, 0, dst, offset + done, n);
        done += n;
    }
}

void Context::download(const Buffer& src, size_t offset, void* dst, size_t bytes) {
    check_range(src, offset, bytes);
    if (src.mapped() != nullptr) {
        std::memcpy(dst, static_cast<const std::byte*>(src.mapped()) + offset, bytes);
        return;
    }
    const Buffer staging = buffer(std::min(bytes, kStagingBytes), true);
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(bytes - done, kStagingBytes);
        copy(src, offset + done, staging, 0, n);
        std::memcpy(static_cast<std::byte*>(dst) + done, staging.mapped(), n);
        done += n;
    }
}

void Context::record_into(VkCommandBuffer commands, std::span<const Dispatch> dispatches,
                          bool once) const {
    begin(*api_, commands, once);
    for (size_t i = 0; i < dispatches.size(); ++i) {
        const Dispatch& d = dispatches[i];
        if (i > 0)
            barrier(*api_, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
        api_->vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->pipeline_);
        api_->vkCmdPushConstants(commands, d.pipeline->layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                 d.push_bytes, d.push.data());
        api_->vkCmdDispatch(commands, d.groups[0], d.groups[1], d.groups[2]);
    }
    barrier(*api_, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT);
    check(api_->vkEndCommandBuffer(commands), "vkEndCommandBuffer");
}

void Context::run(std::span<const Dispatch> dispatches, uint64_t timeout_ms) {
    record_into(commands_, dispatches, true);
    submit_and_wait(commands_, timeout_ms);
}

Recording Context::record(std::span<const Dispatch> dispatches) const {
    Recording r;
    r.owner_ = this;
    VkCommandBufferAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc.commandPool = pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    check(api_->vkAllocateCommandBuffers(device_, &alloc, &r.commands_),
          "vkAllocateCommandBuffers");
    record_into(r.commands_, dispatches, false);
    return r;
}

void Context::submit(const Recording& recording, uint64_t timeout_ms) {
    if (recording.owner_ != this) throw GpuError("a recording submitted to another device");
    submit_and_wait(recording.commands_, timeout_ms);
}

Recording::Recording(Recording&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      commands_(std::exchange(other.commands_, VK_NULL_HANDLE)) {}

Recording& Recording::operator=(Recording&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        commands_ = std::exchange(other.commands_, VK_NULL_HANDLE);
    }
    return *this;
}

Recording::~Recording() {
    release();
}

void Recording::release() {
    if (owner_ != nullptr && commands_ != VK_NULL_HANDLE)
        owner_->api().vkFreeCommandBuffers(owner_->device(), owner_->pool_, 1, &commands_);
    commands_ = VK_NULL_HANDLE;
    owner_ = nullptr;
}

}  // namespace pensieve::gpu
