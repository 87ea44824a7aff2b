// The model's matmuls on a GPU (`--gpu-layers`): the weight matrices of the
// first N transformer layers (and, when every layer goes, the output
// projection) are uploaded once to a Vulkan device, and the forward pass's
// products with them run there (gpu::Gemv, on activations quantized by the
// CPU's own quantizer, so the products equal the CPU reference's); the
// norms, RoPE, attention, the mixture-of-experts FFN and sampling stay on the
// CPU. Matrices of a format the GPU has no shader for stay on the CPU too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "gpu/gemv.hpp"
#include "gpu/vulkan.hpp"
#include "kernels/matmul.hpp"
#include "model/weights.hpp"

namespace pensieve::model {

class GpuOffload {
public:
    // layers < 0 or >= the model's: every layer and the output projection.
    // Throws gpu::GpuError when the device cannot be opened or filled.
    GpuOffload(const Weights& weights, int device, int64_t layers);

    // y[c] = W x[c] for the n rows of x (each w.k floats) into y (each w.n
    // floats) when W is on the device; false (nothing done) otherwise.
    bool matmul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) const;

    const gpu::DeviceInfo& device() const { return context_.info(); }
    int64_t layers() const { return layers_; }
    size_t matrices() const { return on_device_.size(); }
    size_t bytes() const { return bytes_; }

private:
    void upload(const kernels::WeightMatrix& w);

    mutable gpu::Context context_;
    mutable gpu::Gemv gemv_;
    std::unordered_map<const void*, gpu::Buffer> on_device_;
    int64_t layers_ = 0;
    size_t bytes_ = 0;
    // The activations and results of one product, grown to the largest.
    mutable std::mutex mutex_;
    mutable gpu::Buffer x_, y_;
};

}  // namespace pensieve::model
