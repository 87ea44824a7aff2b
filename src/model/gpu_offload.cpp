#include "model/gpu_offload.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/traits.hpp"

namespace pensieve::model {

GpuOffload::GpuOffload(const Weights& weights, int device, int64_t layers)
    : context_(device), gemv_(context_) {
    const auto n_layer = static_cast<int64_t>(weights.layers.size());
    layers_ = layers < 0 ? n_layer : std::min(layers, n_layer);
    for (int64_t il = 0; il < layers_; ++il) {
        const LayerWeights& w = weights.layers[static_cast<size_t>(il)];
        for (const kernels::WeightMatrix* m :
             {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
            upload(*m);
    }
    if (layers_ == n_layer) upload(weights.output);
}

void GpuOffload::upload(const kernels::WeightMatrix& w) {
    if (w.data == nullptr || !gpu::Gemv::supports(w.type) || on_device_.contains(w.data)) return;
    const size_t bytes = static_cast<size_t>(w.n) * w.row_stride;
    gpu::Buffer b = context_.buffer(bytes, false);
    context_.upload(b, 0, w.data, bytes);
    bytes_ += bytes;
    on_device_.emplace(w.data, std::move(b));
}

namespace {

// A host-visible buffer of at least `bytes`, replaced by a larger one when
// it is too small.
void reserve(gpu::Context& context, gpu::Buffer& b, size_t bytes) {
    if (b.bytes() < bytes) b = context.buffer(std::max(bytes, b.bytes() * 2), true);
}

}  // namespace

bool GpuOffload::matmul(const kernels::WeightMatrix& w, const float* x, int64_t n,
                        float* y) const {
    const auto found = on_device_.find(w.data);
    if (found == on_device_.end() || n <= 0) return false;
    const std::lock_guard lock(mutex_);
    // The activations as the CPU's kernels take them: quantized by the same
    // quantizer for the quantized formats, F32 for the float ones.
    const kernels::TypeTraits& act = kernels::traits(gpu::Gemv::activation_type(w.type));
    const size_t act_row = kernels::row_bytes(act, w.k);
    const size_t x_bytes = static_cast<size_t>(n) * act_row;
    const size_t y_bytes = static_cast<size_t>(n * w.n) * sizeof(float);
    reserve(context_, x_, x_bytes);
    reserve(context_, y_, y_bytes);
    auto* xq = static_cast<uint8_t*>(x_.mapped());
    for (int64_t i = 0; i < n; ++i)
        act.quantize_row(x + i * w.k, xq + static_cast<size_t>(i) * act_row, w.k);
    std::vector<gpu::Dispatch> dispatches;
    gpu::GemvArgs args;
    args.type = w.type;
    args.w = &found->second;
    args.row_bytes = w.row_stride;
    args.rows = static_cast<uint32_t>(w.n);
    args.k = static_cast<uint32_t>(w.k);
    args.x = &x_;
    args.x_stride = static_cast<uint32_t>(act_row);
    args.cols = static_cast<uint32_t>(n);
    args.y = &y_;
    args.y_stride = static_cast<uint32_t>(w.n);
    gemv_.append(args, dispatches);
    context_.run(dispatches);
    std::memcpy(y, y_.mapped(), y_bytes);
    return true;
}

}  // namespace pensieve::model
