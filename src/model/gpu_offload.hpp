// A model on a GPU (`--gpu-layers`): the weights of the first N transformer
// layers (and, when every layer goes, the output projection) are uploaded
// once to a Vulkan device.
//
// When the GPU can run those layers whole (runs_layers(): a dense model
// whose matrices all have a matmul shader and whose heads the attention
// shader takes), their norm weights and biases go too, and each forward
// pass's GpuLayers (gpu_layers.hpp) runs them there, activations and keys
// and values staying on the device (with every layer, the final norm and
// the logits too). Otherwise (a mixture of experts,
// Mistral 3's attention temperature, a weight format without a shader)
// only the products go to the GPU, through matmul(); the rest stays on the
// CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gpu/matmul.hpp"
#include "gpu/ops.hpp"
#include "gpu/vulkan.hpp"
#include "kernels/matmul.hpp"
#include "model/hparams.hpp"
#include "model/weights.hpp"

namespace pensieve::model {

class GpuOffload {
  public:
    // layers < 0 or >= the model's: every layer and the output projection.
    // Throws gpu::GpuError when the device cannot be opened or filled.
    GpuOffload(const Weights& weights, const HParams& hp, int device, int64_t layers);

    // y[c] = W x[c] for the n rows of x (each w.k floats) into y (each w.n
    // floats) when W is on the device; false (nothing done) otherwise.
    bool matmul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) const;

    // Whether the first layers() layers run whole on the GPU; if not,
    // why_not() says what keeps them on the CPU.
    bool runs_layers() const { return why_not_.empty(); }
    const std::string& why_not() const { return why_not_; }

    const gpu::DeviceInfo& device() const { return context_.info(); }
    int64_t layers() const { return layers_; }
    size_t matrices() const { return matrices_; }
    size_t bytes() const { return bytes_; }

    // For GpuLayers: the device, its shaders, and the device copy of the
    // weight tensor whose host data is at `host` (null when not uploaded).
    gpu::Context& context() const { return context_; }
    gpu::Matmul& matmul() const { return matmul_; }
    gpu::Ops& ops() const { return ops_; }
    const gpu::Buffer* on_device(const void* host) const;
    // Held while the device's queue runs work (it is shared by every pass).
    std::mutex& queue_mutex() const { return mutex_; }

  private:
    void upload(const kernels::WeightMatrix& w);
    void upload(const float* v, int64_t n);

    mutable gpu::Context context_;
    mutable gpu::Matmul matmul_;
    mutable gpu::Ops ops_;
    std::unordered_map<const void*, gpu::Buffer> on_device_;
    int64_t layers_ = 0;
    size_t matrices_ = 0;
    size_t bytes_ = 0;
    std::string why_not_;
    // The activations and results of one product, grown to the largest.
    mutable std::mutex mutex_;
    mutable gpu::Buffer x_, y_;
};

}  // namespace pensieve::model
