#include "model/gpu_offload.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace pensieve::model {

namespace {

// What keeps a model's layers from running whole on the GPU, or "".
std::string layers_unsupported(const Weights& weights, const HParams& hp, int64_t layers) {
    if (hp.config.moe) return "a mixture of experts";
    if (hp.attn_temp_scale != 0.0f) return "an attention temperature";
    if (hp.head_dim % 2 != 0 || hp.head_dim > 256) return "a head size the attention shader lacks";
    if (hp.rope_dims <= 0 || hp.rope_dims % 2 != 0 || hp.rope_dims > hp.head_dim)
        return "RoPE dims the shader lacks";
    for (int64_t il = 0; il < layers; ++il) {
        const LayerWeights& w = weights.layers[static_cast<size_t>(il)];
        for (const kernels::WeightMatrix* m :
             {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) {
            if (!gpu::Matmul::supports(m->type))
                return std::string("weights of type ") +
                       std::string(gguf::type_info(m->type).name) + " (no matmul shader)";
        }
    }
    return "";
}

}  // namespace

GpuOffload::GpuOffload(const Weights& weights, const HParams& hp, int device, int64_t layers)
    : context_(device), matmul_(context_), ops_(context_) {
    const auto n_layer = static_cast<int64_t>(weights.layers.size());
    layers_ = layers < 0 ? n_layer : std::min(layers, n_layer);
    why_not_ = layers_unsupported(weights, hp, layers_);
    for (int64_t il = 0; il < layers_; ++il) {
        const LayerWeights& w = weights.layers[static_cast<size_t>(il)];
        for (const kernels::WeightMatrix* m :
             {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
            upload(*m);
        if (!runs_layers()) continue;
        for (const float* v : {w.attn_norm, w.ffn_norm, w.post_attn_norm, w.post_ffn_norm})
            upload(v, hp.n_embd);
        for (const float* v : {w.q_norm, w.k_norm}) upload(v, hp.head_dim);
        upload(w.bq, hp.q_dim());
        upload(w.bk, hp.kv_dim());
        upload(w.bv, hp.kv_dim());
    }
    if (layers_ == n_layer) {
        upload(weights.output);
        if (runs_layers()) upload(weights.output_norm, hp.n_embd);  // the final norm, too
    }
}

void GpuOffload::upload(const kernels::WeightMatrix& w) {
    if (w.data == nullptr || !gpu::Matmul::supports(w.type) || on_device_.contains(w.data)) return;
    const size_t bytes = static_cast<size_t>(w.n) * w.row_stride;
    gpu::Buffer b = context_.buffer(bytes, false);
    context_.upload(b, 0, w.data, bytes);
    bytes_ += bytes;
    ++matrices_;
    on_device_.emplace(w.data, std::move(b));
}

void GpuOffload::upload(const float* v, int64_t n) {
    if (v == nullptr || on_device_.contains(v)) return;
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    gpu::Buffer b = context_.buffer(bytes, false);
    context_.upload(b, 0, v, bytes);
    bytes_ += bytes;
    on_device_.emplace(v, std::move(b));
}

const gpu::Buffer* GpuOffload::on_device(const void* host) const {
    const auto found = on_device_.find(host);
    return found == on_device_.end() ? nullptr : &found->second;
}

namespace {

// A host-visible buffer of at least `bytes`, replaced by a larger one when
// it is too small.
void reserve(gpu::Context& context, gpu::Buffer& b, size_t bytes) {
    if (b.bytes() < bytes) b = context.buffer(std::max(bytes, b.bytes() * 2), true);
}

}  // namespace

bool GpuOffload::matmul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) const {
    const gpu::Buffer* weights = on_device(w.data);
    if (weights == nullptr || n <= 0) return false;
    const std::lock_guard lock(mutex_);
    const size_t x_bytes = static_cast<size_t>(n * w.k) * sizeof(float);
    const size_t y_bytes = static_cast<size_t>(n * w.n) * sizeof(float);
    reserve(context_, x_, x_bytes);
    reserve(context_, y_, y_bytes);
    std::memcpy(x_.mapped(), x, x_bytes);
    std::vector<gpu::Dispatch> dispatches;
    gpu::MatmulArgs args;
    args.type = w.type;
    args.w = weights;
    args.row_bytes = w.row_stride;
    args.rows = static_cast<uint32_t>(w.n);
    args.k = static_cast<uint32_t>(w.k);
    args.x = &x_;
    args.x_stride = static_cast<uint32_t>(w.k);
    args.cols = static_cast<uint32_t>(n);
    args.y = &y_;
    args.y_stride = static_cast<uint32_t>(w.n);
    matmul_.append(args, dispatches);
    context_.run(dispatches);
    std::memcpy(y, y_.mapped(), y_bytes);
    return true;
}

}  // namespace pensieve::model
