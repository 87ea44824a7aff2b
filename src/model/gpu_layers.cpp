#include "model/gpu_layers.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "gguf/tensor_type.hpp"
#include "gpu/ops.hpp"
#include "kernels/ops.hpp"
#include "model/forward.hpp"
#include "model/gpu_offload.hpp"
#include "model/kv_cache.hpp"

namespace pensieve::model {

namespace {

size_t sz(int64_t n) {
    return static_cast<size_t>(n);
}
uint32_t u32(int64_t n) {
    return static_cast<uint32_t>(n);
}

constexpr size_t kF = sizeof(float);
static_assert(KvCache::kBlockTokens == gpu::kKvBlockTokens,
              "the device's KV cache mirrors the CPU's blocks");
// A batch on a slow device (lavapipe runs on the CPU) may take long; a
// device that stops answering is still reported.
constexpr uint64_t kTimeoutMs = 600'000;

}  // namespace

GpuLayers::GpuLayers(const Model& model, int64_t max_batch, const float* rope_factors)
    : model_(model),
      hp_(model.hparams()),
      gpu_(*model.gpu()),
      max_batch_(max_batch),
      rope_factors_(rope_factors) {
    gpu::Context& c = gpu_.context();
    const size_t b = sz(max_batch);
    x_host_ = c.buffer(b * sz(hp_.n_embd) * kF, true);
    for (gpu::Buffer* buf : {&x_, &xb_, &xb2_}) *buf = c.buffer(b * sz(hp_.n_embd) * kF, false);
    for (gpu::Buffer* buf : {&q_, &att_}) *buf = c.buffer(b * sz(hp_.q_dim()) * kF, false);
    for (gpu::Buffer* buf : {&k_, &v_}) *buf = c.buffer(b * sz(hp_.kv_dim()) * kF, false);
    for (gpu::Buffer* buf : {&gate_, &up_}) *buf = c.buffer(b * sz(hp_.n_ff) * kF, false);
    info_ = c.buffer(b * 2 * sizeof(int32_t), true);
    tables_ = c.buffer(b * 64 * sizeof(int32_t), true);
    rope_ = c.buffer(2 * b * sz(hp_.rope_dims) * kF, true);
    table_offsets_.reserve(b);
    const Weights& w = model.weights();
    logits_on_device_ = layers() == hp_.n_layer && gpu_.on_device(w.output.data) != nullptr &&
                        gpu_.on_device(w.output_norm) != nullptr;
    if (logits_on_device_) out_rows_ = c.buffer(b * sizeof(uint32_t), true);
}

int64_t GpuLayers::layers() const {
    return gpu_.layers();
}

void GpuLayers::bind(const KvCache& kv) {
    if (kv_id_ == kv.id()) return;
    if (kv_id_ != 0)
        throw std::invalid_argument("a forward pass with layers on the GPU serves one KV cache");
    const KvCacheConfig& cfg = kv.config();
    const size_t bytes =
        sz(cfg.n_blocks * hp_.n_head_kv * KvCache::kBlockTokens * hp_.head_dim) * 2;
    try {
        for (int64_t il = 0; il < layers(); ++il) {
            k_cache_.push_back(gpu_.context().buffer(bytes, false));
            v_cache_.push_back(gpu_.context().buffer(bytes, false));
        }
    } catch (const gpu::GpuError& e) {
        k_cache_.clear();
        v_cache_.clear();
        throw gpu::GpuError("the GPU has no room for the KV cache of " + std::to_string(layers()) +
                            " layers (" + std::to_string(2 * bytes * sz(layers()) >> 20) +
                            " MiB; fewer --gpu-layers or a smaller context): " + e.what());
    }
    kv_id_ = kv.id();
    recordings_.clear();
}

// Positions and block tables of the rows, and the RoPE angles of their
// positions for global and local layers.
void GpuLayers::fill_inputs(std::span<const BatchToken> batch, const KvCache& kv) {
    std::vector<std::pair<int32_t, int32_t>>& offsets = table_offsets_;
    offsets.clear();
    size_t entries = 0;
    for (const BatchToken& t : batch) {
        const bool seen = std::any_of(offsets.begin(), offsets.end(),
                                      [&](const auto& o) { return o.first == t.seq; });
        if (seen) continue;
        offsets.emplace_back(t.seq, static_cast<int32_t>(entries));
        entries += kv.block_table(t.seq).size();
    }
    if (entries * sizeof(int32_t) > tables_.bytes()) {
        // A larger buffer has another address: the recordings name the old.
        tables_ =
            gpu_.context().buffer(std::max(entries, tables_.bytes() / 2) * sizeof(int32_t), true);
        recordings_.clear();
    }
    auto* tables = static_cast<int32_t*>(tables_.mapped());
    for (const auto& [seq, offset] : offsets) {
        const std::vector<int32_t>& table = kv.block_table(seq);
        std::copy(table.begin(), table.end(), tables + offset);
    }
    auto* info = static_cast<int32_t*>(info_.mapped());
    auto* angles = static_cast<float*>(rope_.mapped());
    const int64_t pairs = hp_.rope_dims / 2;
    for (size_t i = 0; i < batch.size(); ++i) {
        const BatchToken& t = batch[i];
        info[2 * i] = t.pos;
        info[2 * i + 1] = std::find_if(offsets.begin(), offsets.end(), [&](const auto& o) {
                              return o.first == t.seq;
                          })->second;
        // The local layers' table only where some layer is local.
        for (int local = 0; local < (hp_.config.swa_pattern > 0 ? 2 : 1); ++local) {
            const kernels::RopeConfig rope = rope_config(hp_, local != 0, rope_factors_);
            float* row = angles + (sz(local * max_batch_) + i) * sz(hp_.rope_dims);
            for (int64_t p = 0; p < pairs; ++p) {
                const auto [cs, sn] = kernels::rope_angle(t.pos, rope, static_cast<int>(p));
                row[2 * p] = cs;
                row[2 * p + 1] = sn;
            }
        }
    }
}

// The commands of one batch of n rows, every offloaded layer in order, then
// the final norm and logits of n_out rows (the rows out_rows_ names).
std::vector<gpu::Dispatch> GpuLayers::commands(uint32_t n, uint32_t n_out) {
    gpu::Ops& ops = gpu_.ops();
    std::vector<gpu::Dispatch> d;
    const uint32_t e = u32(hp_.n_embd), qd = u32(hp_.q_dim()), kvd = u32(hp_.kv_dim());
    const uint32_t hd = u32(hp_.head_dim), ff = u32(hp_.n_ff);
    const float eps = hp_.rms_eps;
    const auto dev = [&](const void* host) { return gpu_.on_device(host)->address(); };
    // out = W in, for `cols` rows of W.k floats.
    const auto product_of = [&](const kernels::WeightMatrix& w, const gpu::Buffer& in,
                                const gpu::Buffer& out, uint32_t cols) {
        gpu::MatmulArgs a;
        a.type = w.type;
        a.w = gpu_.on_device(w.data);
        a.row_bytes = w.row_stride;
        a.rows = u32(w.n);
        a.k = u32(w.k);
        a.x = &in;
        a.x_stride = u32(w.k);
        a.cols = cols;
        a.y = &out;
        a.y_stride = u32(w.n);
        gpu_.matmul().append(a, d);
    };
    const auto product = [&](const kernels::WeightMatrix& w, const gpu::Buffer& in,
                             const gpu::Buffer& out) { product_of(w, in, out, n); };
    // A norm of rows of `width` into `out` (in place when out is x).
    const auto norm = [&](const gpu::Buffer& x, const float* w, const gpu::Buffer& out,
                          uint32_t width, uint32_t rows) {
        ops.rms_norm(x.address(), width, dev(w), out.address(), width, width, rows, eps, d);
    };
    const bool neox = hp_.config.rope_style == kernels::RopeStyle::NeoX;
    const uint32_t rope_dims = u32(hp_.rope_dims);

    ops.add(x_host_.address(), e, 0, 0, x_.address(), e, e, n, d);
    for (int64_t il = 0; il < layers(); ++il) {
        const LayerWeights& w = model_.weights().layers[sz(il)];
        norm(x_, w.attn_norm, xb_, e, n);
        product(w.wq, xb_, q_);
        product(w.wk, xb_, k_);
        product(w.wv, xb_, v_);
        if (w.bq != nullptr) {
            ops.add(q_.address(), qd, dev(w.bq), 0, q_.address(), qd, qd, n, d);
            ops.add(k_.address(), kvd, dev(w.bk), 0, k_.address(), kvd, kvd, n, d);
            ops.add(v_.address(), kvd, dev(w.bv), 0, v_.address(), kvd, kvd, n, d);
        }
        if (w.q_norm != nullptr) {
            norm(q_, w.q_norm, q_, hd, n * u32(hp_.n_head));
            norm(k_, w.k_norm, k_, hd, n * u32(hp_.n_head_kv));
        }
        const uint64_t table = rope_.address() + (hp_.is_local_layer(il) ? sz(max_batch_) : 0) *
                                                     sz(hp_.rope_dims) * kF;
        ops.rope(q_.address(), qd, table, rope_dims, n, u32(hp_.n_head), hd, rope_dims, neox, d);
        ops.rope(k_.address(), kvd, table, rope_dims, n, u32(hp_.n_head_kv), hd, rope_dims, neox,
                 d);
        const gpu::KvArgs kv{k_cache_[sz(il)].address(),
                             v_cache_[sz(il)].address(),
                             info_.address(),
                             tables_.address(),
                             n,
                             u32(hp_.n_head_kv),
                             hd};
        ops.kv_store(kv, k_.address(), v_.address(), kvd, d);
        ops.attention(kv, q_.address(), qd, u32(hp_.n_head), u32(hp_.layer_window(il)),
                      hp_.attn_scale, att_.address(), qd, d);
        product(w.wo, att_, xb2_);
        if (w.post_attn_norm != nullptr) norm(xb2_, w.post_attn_norm, xb2_, e, n);
        ops.add(x_.address(), e, xb2_.address(), e, x_.address(), e, e, n, d);

        norm(x_, w.ffn_norm, xb_, e, n);
        product(w.w_gate, xb_, gate_);
        product(w.w_up, xb_, up_);
        ops.glu(gate_.address(), up_.address(), gate_.address(), n * ff,
                hp_.config.activation == Activation::GeLU, d);
        product(w.w_down, gate_, xb2_);
        if (w.post_ffn_norm != nullptr) norm(xb2_, w.post_ffn_norm, xb2_, e, n);
        ops.add(x_.address(), e, xb2_.address(), e, x_.address(), e, e, n, d);
    }
    ops.add(x_.address(), e, 0, 0, x_host_.address(), e, e, n, d);
    if (n_out > 0) {
        const Weights& w = model_.weights();
        ops.rms_norm(x_.address(), e, dev(w.output_norm), xb_.address(), e, e, n_out, eps, d,
                     out_rows_.address());
        product_of(w.output, xb_, logits_, n_out);
    }
    return d;
}

bool GpuLayers::run(std::span<const BatchToken> batch, KvCache& kv, float* x, float* logits) {
    const auto n = static_cast<uint32_t>(batch.size());
    if (n == 0 || n > max_batch_) throw std::invalid_argument("GpuLayers: batch size out of range");
    const std::lock_guard lock(gpu_.queue_mutex());
    bind(kv);
    fill_inputs(batch, kv);
    uint32_t n_out = 0;
    if (logits_on_device_ && logits != nullptr) {
        auto* rows = static_cast<uint32_t*>(out_rows_.mapped());
        for (uint32_t i = 0; i < n; ++i) {
            if (batch[i].logits) rows[n_out++] = i;
        }
        const size_t logit_bytes = sz(n_out) * sz(hp_.n_vocab) * kF;
        if (logit_bytes > kMaxLogitBytes) {
            n_out = 0;
        } else if (logit_bytes > logits_.bytes()) {
            // A larger buffer has another address: the recordings name the old.
            logits_ = gpu_.context().buffer(logit_bytes, true);
            recordings_.clear();
        }
    }
    const size_t bytes = sz(n) * sz(hp_.n_embd) * kF;
    std::memcpy(x_host_.mapped(), x, bytes);
    const std::pair key{n, n_out};
    auto found = recordings_.find(key);
    if (found == recordings_.end())
        found = recordings_.emplace(key, gpu_.context().record(commands(n, n_out))).first;
    gpu_.context().submit(found->second, kTimeoutMs);
    std::memcpy(x, x_host_.mapped(), bytes);
    if (n_out == 0) return false;
    std::memcpy(logits, logits_.mapped(), sz(n_out) * sz(hp_.n_vocab) * kF);
    return true;
}

}  // namespace pensieve::model
