// One forward pass over a batch of tokens from any number of sequences:
// [(token, position, sequence)] in, logits for the rows that ask for them out.
// Prefill of a long prompt and decode steps of many sequences are the same
// call. Buffers are sized once for the largest batch, so a pass allocates
// nothing (llama2.c's RunState, with a shape on every buffer).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/ops.hpp"
#include "kernels/thread_pool.hpp"
#include "model/attention.hpp"
#include "model/gpu_layers.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"
#include "model/moe.hpp"

namespace pensieve::model {

// The RoPE of the global (local = false) or sliding-window layers, with the
// per-pair frequency factors chosen for the pass (or null).
kernels::RopeConfig rope_config(const HParams& hp, bool local, const float* factors);

struct BatchToken {
    int32_t token = 0;
    int32_t pos = 0;      // position in its sequence
    int32_t seq = 0;      // sequence id (its block table in the KV cache)
    bool logits = false;  // compute logits for this row
};

class Forward {
  public:
    // max_batch: most tokens per call; max_ctx: longest sequence attended over.
    Forward(const Model& model, kernels::ThreadPool& pool, int64_t max_batch, int64_t max_ctx);

    // Runs the batch; the KV cache must already hold slots for every (seq, pos)
    // in it (KvCache::reserve). Returns the logits of the rows with logits set,
    // in batch order: [n_out][n_vocab], valid until the next call.
    // Throws std::invalid_argument for a batch that breaks those rules.
    std::span<const float> run(std::span<const BatchToken> batch, KvCache& kv);

    int64_t max_batch() const { return max_batch_; }
    // A sequence's consecutive tokens in a batch are attended together, up to
    // this many per task: each cached block is read once for all of them.
    static constexpr int64_t kRunTokens = 32;
    // Split-KV decode: when a batch has fewer (run, KV head) pairs than
    // twice the threads, a lone token attending to at least this many
    // positions has its range cut into parts that separate tasks attend to,
    // merged after. 0 never splits. The default suits decode; tests lower it.
    static constexpr int64_t kSplitKvFrom = 256;
    void set_split_kv_from(int64_t positions) { split_kv_from_ = positions; }

    int64_t n_vocab() const { return model_.hparams().n_vocab; }

  private:
    // y = W x for n rows of x: on the GPU when the model put W there
    // (Model::offload_to_gpu) and the GPU does not run W's layer whole,
    // else on the CPU.
    void matmul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y);
    // Matrices that read the same n activation rows x (q, k and v; gate and
    // up), as one parallel job: one synchronisation of the pool for the set
    // instead of one per matrix, and the activations quantized once.
    void matmuls(std::initializer_list<std::pair<const kernels::WeightMatrix*, float*>> ws,
                 const float* x, int64_t n);
    void embed(std::span<const BatchToken> batch);
    void attention_layer(int64_t il, std::span<const BatchToken> batch, KvCache& kv);
    void ffn_layer(int64_t il, int64_t n);
    void dense_ffn(const LayerWeights& w, int64_t n);
    // One attention task: n_tokens consecutive tokens of one sequence from
    // batch row `row`, for one KV head, over positions [lo, hi] of their
    // ranges; part < 0 writes the output, else part's slot of parts_/lse_
    // (a split lone token).
    struct AttendTask {
        int64_t row, n_tokens, kv_head, lo, hi, part;
    };
    // A token and KV head whose range was cut into n parts from part first.
    struct Merge {
        int64_t row, kv_head, first, n;
    };
    int64_t window(int64_t il) const;
    void plan_attention(int64_t il, std::span<const BatchToken> batch);
    void check(std::span<const BatchToken> batch, const KvCache& kv) const;

    const Model& model_;
    const HParams& hp_;
    kernels::ThreadPool& pool_;
    kernels::MatmulScratch scratch_;
    int64_t max_batch_;
    int64_t max_ctx_;
    int64_t split_kv_from_ = kSplitKvFrom;
    const float* rope_factors_ = nullptr;  // per-pair RoPE frequency factors, or null
    // The batch's RoPE angles, [kind][max_batch][rope_dims / 2] for the
    // global (0) and local (1) layers' bases, computed by the first layer of
    // each kind in a pass and shared by the others (with q and k).
    std::vector<float> rope_cos_[2], rope_sin_[2];
    bool rope_ready_[2] = {false, false};

    std::vector<float> x_;         // [max_batch][n_embd]  residual stream
    std::vector<float> xb_;        // [max_batch][n_embd]  normed input of a sub-layer
    std::vector<float> xb2_;       // [max_batch][n_embd]  sub-layer output
    std::vector<float> q_;         // [max_batch][q_dim]
    std::vector<float> k_;         // [max_batch][kv_dim]
    std::vector<float> v_;         // [max_batch][kv_dim]
    std::vector<float> att_;       // [max_batch][q_dim]   attention output per head
    std::vector<float> gate_;      // [max_batch][n_ff]   (empty for a mixture of experts)
    std::vector<float> up_;        // [max_batch][n_ff]
    std::unique_ptr<MoeFfn> moe_;  // the FFN of a mixture-of-experts model, else null
    // The first layers, when the GPU runs them whole (else null).
    std::unique_ptr<GpuLayers> gpu_layers_;
    std::vector<AttentionScratch> attn_scratch_;  // one per thread
    std::vector<float> parts_;  // [4 threads][group][head_dim] outputs of split parts
    std::vector<float> lse_;    // [4 threads][group]  their log-normalisers
    std::vector<std::pair<int64_t, int64_t>> runs_;  // (first row, tokens) of each run
    std::vector<AttendTask> tasks_;                  // this layer's attention tasks
    std::vector<Merge> merges_;                      // and the split pairs to merge after them
    std::vector<float> out_rows_;  // [n_out][n_embd]    final-normed rows that want logits
    std::vector<float> logits_;    // [n_out][n_vocab]   grows to the most rows asked for
};

}  // namespace pensieve::model
