// The device the GPU tests run on: the first usable one the loader lists.
// None is a failure (install mesa-vulkan-drivers for lavapipe), not a skip.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "gpu/vulkan.hpp"

namespace pensieve::gpu {

inline int first_usable_device() {
    const Discovery found = list_devices();
    for (const DeviceInfo& d : found.devices) {
        if (d.usable) return d.index;
    }
    ADD_FAILURE() << "no usable Vulkan device: "
                  << (found.error.empty() ? "none has what the backend needs" : found.error);
    return -1;
}

inline std::unique_ptr<Context> open_test_device() {
    const int index = first_usable_device();
    if (index < 0) return nullptr;
    return std::make_unique<Context>(index);
}

}  // namespace pensieve::gpu
