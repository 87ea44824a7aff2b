// The transformer layers a GPU runs whole (GpuOffload::runs_layers): for a
// batch, the residual stream goes to the device once, every offloaded
// layer runs there — RMSNorm, the q/k/v products, biases, per-head norms, RoPE
// (angles from the CPU), storing keys and values in a paged F16 cache on
// the device, attention, the output product, post-norms, residual adds and
// the gated FFN — and the stream comes back once. When every layer and the
// output product are on the device, the final norm of the rows that want
// logits and their logits are computed there too, and only the logits come
// back (see run).
//
// The device's KV cache mirrors the CPU's KvCache block for block: the same
// block ids, from the same block tables, so sharing blocks between
// sequences (the prefix cache) works unchanged, and the CPU's tiles of the
// offloaded layers are never written (never touched, so never resident).
// It is F16 whatever the CPU cache's type. One GpuLayers serves one
// KvCache (the one its Forward runs with).
//
// Everything that changes from one batch to the next (positions, block
// tables, RoPE angles) lives in host-visible buffers, so the commands of
// a batch of n rows are recorded once per n and submitted again after.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "gpu/vulkan.hpp"
#include "model/model.hpp"

namespace pensieve::model {

class GpuOffload;
class KvCache;
struct BatchToken;

class GpuLayers {
  public:
    // rope_factors: the pass's per-pair RoPE frequency factors, or null.
    GpuLayers(const Model& model, int64_t max_batch, const float* rope_factors);

    int64_t layers() const;
    // Runs the offloaded layers over x ([batch][n_embd], in place). When the
    // device holds the whole model and `logits` (room for [rows that want
    // logits][n_vocab]) is given, also writes the logits of the rows whose
    // BatchToken::logits is set, in batch order, and returns true (x is then
    // the last layer's output, as without); false when the caller is left
    // to compute them: a model not whole on the device, or logits over
    // kMaxLogitBytes. Throws std::invalid_argument for a KvCache other than
    // the first one run with, gpu::GpuError when the device fails.
    bool run(std::span<const BatchToken> batch, KvCache& kv, float* x, float* logits);

    // The most logits bytes one batch brings back from the device (a
    // host-visible buffer): 256 rows of a 262,144-token vocabulary.
    static constexpr size_t kMaxLogitBytes = size_t{256} << 20;

  private:
    std::vector<gpu::Dispatch> commands(uint32_t n, uint32_t n_out);
    void bind(const KvCache& kv);
    void fill_inputs(std::span<const BatchToken> batch, const KvCache& kv);

    const Model& model_;
    const HParams& hp_;
    const GpuOffload& gpu_;
    int64_t max_batch_;
    const float* rope_factors_;

    // Activations: [max_batch] rows of each.
    gpu::Buffer x_host_;  // host-visible: the stream in and out
    gpu::Buffer x_, xb_, xb2_, q_, k_, v_, att_, gate_, up_;
    // Per batch, host-visible: (pos, table offset) per row, the rows'
    // block tables, and (cos, sin) per rotated pair for global and local
    // layers.
    gpu::Buffer info_, tables_, rope_;
    // Whole model on the device: the batch rows that want logits
    // (host-visible, [max_batch] uint32) and their logits (host-visible,
    // grown as batches ask for more rows).
    bool logits_on_device_ = false;
    gpu::Buffer out_rows_, logits_;
    // The device KV cache of each offloaded layer.
    std::vector<gpu::Buffer> k_cache_, v_cache_;
    uint64_t kv_id_ = 0;  // the KvCache they mirror (0: none yet)

    std::vector<std::pair<int32_t, int32_t>> table_offsets_;  // (seq, offset in tables_)
    // By (batch rows, rows that want logits on the device).
    std::map<std::pair<uint32_t, uint32_t>, gpu::Recording> recordings_;
};

}  // namespace pensieve::model
