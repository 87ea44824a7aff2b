// The Vulkan layer: device listing, buffers and their copies, typed errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "gpu/vulkan.hpp"
#include "gpu_test_util.hpp"

namespace pensieve::gpu {
namespace {

TEST(Vulkan, ListsAUsableDevice) {
    const Discovery found = list_devices();
    ASSERT_FALSE(found.devices.empty()) << found.error;
    for (const DeviceInfo& d : found.devices) {
        EXPECT_FALSE(d.name.empty());
        EXPECT_EQ(d.usable, d.why_not.empty()) << d.name << ": " << d.why_not;
    }
    EXPECT_GE(first_usable_device(), 0);
}

TEST(Vulkan, BuffersRoundTripThroughUploadAndDownload) {
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    // Past one staging buffer (64 MiB) for the device-local copy.
    for (const bool host : {true, false}) {
        SCOPED_TRACE(host ? "host-visible" : "device-local");
        const size_t bytes = host ? 4096 : (size_t{64} << 20) + 4096;
        const Buffer b = context->buffer(bytes, host);
        EXPECT_EQ(b.bytes(), bytes);
        EXPECT_NE(b.address(), 0u);
        EXPECT_EQ(b.mapped() != nullptr, host);
        std::vector<uint8_t> data(bytes - 100);
        std::iota(data.begin(), data.end(), uint8_t{7});
        context->upload(b, 100, data.data(), data.size());
        std::vector<uint8_t> back(data.size());
        context->download(b, 100, back.data(), back.size());
        EXPECT_EQ(back, data);
    }
}

TEST(Vulkan, CopiesPastABufferAreRefused) {
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    const Buffer b = context->buffer(64, true);
    std::vector<uint8_t> data(65);
    EXPECT_THROW(context->upload(b, 0, data.data(), 65), GpuError);
    EXPECT_THROW(context->download(b, 60, data.data(), 8), GpuError);
    EXPECT_THROW(context->upload(b, SIZE_MAX, data.data(), 2), GpuError);
}

TEST(Vulkan, UnknownDevicesAndShadersAreErrors) {
    EXPECT_THROW(Context(1000), GpuError);
    EXPECT_THROW(Context(-1), GpuError);
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    EXPECT_THROW(Pipeline(*context, "no_such_shader"), GpuError);
}

}  // namespace
}  // namespace pensieve::gpu
