// The forward pass, written as named steps over the whole batch:
//   embed → per layer: rmsnorm → q,k,v → (bias) → (q/k norm) → rope (with
//   per-pair frequency factors where the file has them or YaRN computes
//   them) → (mistral3: q × attention temperature) → store
//   k,v → attention → output projection → (post-norm) → residual → rmsnorm →
//   gate,up → act(gate)·up → down (or the mixture of experts, moe.hpp) →
//   (post-norm) → residual
//   → final rmsnorm → logits for the rows that want them.
// Steps in parentheses belong to some families only (see ArchConfig).
#include "model/forward.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/traits.hpp"
#include "model/attention.hpp"
#include "model/gpu_offload.hpp"

namespace pensieve::model {

namespace {

size_t sz(int64_t n) {
    return static_cast<size_t>(n);
}

}  // namespace

kernels::RopeConfig rope_config(const HParams& hp, bool local, const float* factors) {
    return {static_cast<int>(hp.head_dim),
            static_cast<int>(hp.rope_dims),
            local ? hp.rope_base_local : hp.rope_base,
            hp.rope_scale,
            hp.config.rope_style,
            factors,
            hp.rope_attn_factor};
}

Forward::Forward(const Model& model, kernels::ThreadPool& pool, int64_t max_batch, int64_t max_ctx)
    : model_(model), hp_(model.hparams()), pool_(pool), max_batch_(max_batch), max_ctx_(max_ctx) {
    if (max_batch <= 0 || max_ctx <= 0) throw std::invalid_argument("Forward: sizes must be > 0");
    const int64_t b = max_batch;
    x_.resize(sz(b * hp_.n_embd));
    xb_.resize(sz(b * hp_.n_embd));
    xb2_.resize(sz(b * hp_.n_embd));
    q_.resize(sz(b * hp_.q_dim()));
    k_.resize(sz(b * hp_.kv_dim()));
    v_.resize(sz(b * hp_.kv_dim()));
    att_.resize(sz(b * hp_.q_dim()));
    for (int kind = 0; kind < 2; ++kind) {
        rope_cos_[kind].resize(sz(b * (hp_.rope_dims / 2)));
        rope_sin_[kind].resize(rope_cos_[kind].size());
    }
    if (hp_.config.moe) {
        moe_ = std::make_unique<MoeFfn>(hp_, b);
    } else {
        gate_.resize(sz(b * hp_.n_ff));
        up_.resize(sz(b * hp_.n_ff));
    }
    // Reserved here so that no pass allocates.
    const int64_t rows = kRunTokens * (hp_.n_head / hp_.n_head_kv);
    attn_scratch_.resize(sz(pool.size()));
    for (AttentionScratch& s : attn_scratch_) {
        for (auto* v : {&s.q, &s.o}) v->reserve(sz(rows * hp_.head_dim));
        s.qb.reserve(sz(rows * hp_.head_dim));
        for (auto* v : {&s.kt, &s.v}) v->reserve(sz(KvCache::kBlockTokens * hp_.head_dim));
        for (auto* v : {&s.m, &s.l}) v->reserve(sz(rows));
        for (auto* v : {&s.first, &s.last}) v->reserve(sz(rows));
    }
    // Splitting happens only below 2 × threads pairs, each cut into at most
    // ceil(2 × threads / pairs) parts: fewer than 4 × threads parts in all.
    const int64_t max_parts = 4 * static_cast<int64_t>(pool.size());
    const int64_t group = hp_.n_head / hp_.n_head_kv;
    parts_.resize(sz(max_parts * group * hp_.head_dim));
    lse_.resize(sz(max_parts * group));
    tasks_.reserve(sz(std::max(b * hp_.n_head_kv, max_parts)));
    runs_.reserve(sz(b));
    merges_.reserve(sz(max_parts));
    // Keys are cached rotated, so the factors are fixed for the life of the
    // pass: LongRoPE's long factors when it may attend past the context the
    // short ones are for (llama.cpp chooses the same way, by context size).
    const Weights& w = model.weights();
    rope_factors_ = w.rope_freqs;
    if (w.rope_short != nullptr)
        rope_factors_ = max_ctx > hp_.n_ctx_orig ? w.rope_long : w.rope_short;
    if (const GpuOffload* gpu = model.gpu(); gpu != nullptr && gpu->runs_layers())
        gpu_layers_ = std::make_unique<GpuLayers>(model, max_batch, rope_factors_);
}

void Forward::check(std::span<const BatchToken> batch, const KvCache& kv) const {
    if (batch.empty() || static_cast<int64_t>(batch.size()) > max_batch_) {
        throw std::invalid_argument("batch of " + std::to_string(batch.size()) +
                                    " tokens (allowed 1.." + std::to_string(max_batch_) + ")");
    }
    for (const BatchToken& t : batch) {
        if (t.token < 0 || t.token >= hp_.n_vocab) {
            throw std::invalid_argument("token id " + std::to_string(t.token) + " out of range");
        }
        if (t.pos < 0 || t.pos >= max_ctx_ || t.pos >= kv.capacity(t.seq)) {
            throw std::invalid_argument("position " + std::to_string(t.pos) + " of sequence " +
                                        std::to_string(t.seq) + " has no KV slot");
        }
    }
}

void Forward::matmul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) {
    const GpuOffload* gpu = model_.gpu();
    if (gpu != nullptr && gpu->matmul(w, x, n, y)) return;
    kernels::matmul(pool_, w, x, n, y, scratch_);
}

void Forward::matmuls(std::initializer_list<std::pair<const kernels::WeightMatrix*, float*>> ws,
                      const float* x, int64_t n) {
    if (model_.gpu() != nullptr) {
        for (const auto& [w, y] : ws) matmul(*w, x, n, y);
        return;
    }
    std::array<kernels::MatmulJob, 3> jobs;
    size_t count = 0;
    for (const auto& [w, y] : ws) jobs.at(count++) = {w, x, n, y};
    kernels::matmul_many(pool_, std::span(jobs.data(), count), scratch_);
}

void Forward::embed(std::span<const BatchToken> batch) {
    const kernels::WeightMatrix& e = model_.weights().token_embd;
    const kernels::TypeTraits& tr = kernels::traits(e.type);
    const float scale = hp_.config.embed_scale ? std::sqrt(static_cast<float>(hp_.n_embd)) : 1.0f;
    for (size_t i = 0; i < batch.size(); ++i) {
        float* row = &x_[i * sz(hp_.n_embd)];
        const auto* src = static_cast<const uint8_t*>(e.data) + sz(batch[i].token) * e.row_stride;
        tr.dequantize_row(src, row, hp_.n_embd);
        if (scale != 1.0f) kernels::scale(row, scale, hp_.n_embd);
    }
}

// Local layers attend inside their sliding window; 0: the whole context.
int64_t Forward::window(int64_t il) const {
    return hp_.layer_window(il);
}

// One task per (run, KV head): a run is up to kRunTokens consecutive tokens
// of one sequence (a prefill chunk; a decoding sequence is a run of one),
// cut where a position is a multiple of kRunTokens, so that a token's run
// does not depend on where its chunk started (a prefix cache hit, the
// server's chunking) but only on where its chunk ends.
// With too few tasks to keep every thread busy (a lone decoding sequence of
// SmolLM2 has 3 KV heads for 2 threads), each long range of a lone token is
// cut into equal parts, so that tasks ≥ 2 × threads. Runs are listed last
// first: under a causal mask the later tokens attend more, and the pool
// hands tasks out in order, so the longest go first.
void Forward::plan_attention(int64_t il, std::span<const BatchToken> batch) {
    const auto n = static_cast<int64_t>(batch.size());
    runs_.clear();
    for (int64_t row = 0; row < n; ++row) {
        const BatchToken& t = batch[sz(row)];
        if (!runs_.empty()) {
            auto& [start, len] = runs_.back();
            const BatchToken& prev = batch[sz(row - 1)];
            if (t.pos % kRunTokens != 0 && prev.seq == t.seq && prev.pos + 1 == t.pos) {
                ++len;
                continue;
            }
        }
        runs_.emplace_back(row, 1);
    }
    const auto pairs = static_cast<int64_t>(runs_.size()) * hp_.n_head_kv;
    const int64_t threads = pool_.size();
    const bool split = split_kv_from_ > 0 && pairs < 2 * threads;
    const int64_t want = (2 * threads + pairs - 1) / pairs;
    constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
    tasks_.clear();
    merges_.clear();
    int64_t next_part = 0;
    for (auto run = runs_.rbegin(); run != runs_.rend(); ++run) {
        const auto [row, len] = *run;
        const BatchToken& t = batch[sz(row)];
        const int64_t first = first_attended(t.pos, window(il));
        const int64_t span = t.pos - first + 1;
        // Parts of at least a step of FP16 attention (kernels::
        // kFp16StepTokens, a multiple of the BF16 steps' positions), cut on
        // step edges: a row's steps are then those of the unsplit pass,
        // whether its sequence decodes alone or beside others.
        constexpr int64_t st = kernels::kFp16StepTokens;
        static_assert(st % (kernels::kBf16StepTiles * kernels::kKvBlockTokens) == 0);
        const int64_t parts = split && len == 1 && span >= split_kv_from_
                                  ? std::clamp<int64_t>(span / st, 1, want)
                                  : 1;
        const auto cut = [&](int64_t c) {
            return c == parts ? t.pos + 1 : c == 0 ? first : (first + span * c / parts) / st * st;
        };
        for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
            if (parts == 1) {
                tasks_.push_back({row, len, h, 0, kAll, -1});
                continue;
            }
            merges_.push_back({row, h, next_part, parts});
            for (int64_t c = 0; c < parts; ++c) {
                tasks_.push_back({row, 1, h, cut(c), cut(c + 1) - 1, next_part++});
            }
        }
    }
}

void Forward::attention_layer(int64_t il, std::span<const BatchToken> batch, KvCache& kv) {
    const LayerWeights& w = model_.weights().layers[sz(il)];
    const auto n = static_cast<int64_t>(batch.size());
    const int64_t e = hp_.n_embd;
    for (int64_t i = 0; i < n; ++i) {
        kernels::rms_norm(&x_[sz(i * e)], w.attn_norm, &xb_[sz(i * e)], e, hp_.rms_eps);
    }
    matmuls({{&w.wq, q_.data()}, {&w.wk, k_.data()}, {&w.wv, v_.data()}}, xb_.data(), n);

    const int kind = hp_.is_local_layer(il) ? 1 : 0;
    const kernels::RopeConfig rope = rope_config(hp_, kind == 1, rope_factors_);
    const int64_t pairs = hp_.rope_dims / 2;
    if (!rope_ready_[kind]) {
        for (int64_t i = 0; i < n; ++i) {
            kernels::rope_angles(batch[sz(i)].pos, rope, &rope_cos_[kind][sz(i * pairs)],
                                 &rope_sin_[kind][sz(i * pairs)]);
        }
        rope_ready_[kind] = true;
    }
    const int64_t bt = KvCache::kBlockTokens;
    const int64_t hd = hp_.head_dim;
    const gguf::TensorType kv_type = kv.config().type;
    for (int64_t i = 0; i < n; ++i) {
        float* q = &q_[sz(i * hp_.q_dim())];
        float* k = &k_[sz(i * hp_.kv_dim())];
        float* v = &v_[sz(i * hp_.kv_dim())];
        if (w.bq != nullptr) {
            kernels::add(q, w.bq, q, hp_.q_dim());
            kernels::add(k, w.bk, k, hp_.kv_dim());
            kernels::add(v, w.bv, v, hp_.kv_dim());
        }
        if (w.q_norm != nullptr) {
            for (int64_t h = 0; h < hp_.n_head; ++h) {
                kernels::rms_norm(q + h * hp_.head_dim, w.q_norm, q + h * hp_.head_dim,
                                  hp_.head_dim, hp_.rms_eps);
            }
            for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
                kernels::rms_norm(k + h * hp_.head_dim, w.k_norm, k + h * hp_.head_dim,
                                  hp_.head_dim, hp_.rms_eps);
            }
        }
        const BatchToken& t = batch[sz(i)];
        const float* cs = &rope_cos_[kind][sz(i * pairs)];
        const float* sn = &rope_sin_[kind][sz(i * pairs)];
        kernels::rope_rotate(q, static_cast<int>(hp_.n_head), cs, sn, rope);
        kernels::rope_rotate(k, static_cast<int>(hp_.n_head_kv), cs, sn, rope);
        if (hp_.attn_temp_scale != 0) kernels::scale(q, attn_temperature(hp_, t.pos), hp_.q_dim());
        const int32_t block = kv.block_table(t.seq)[sz(t.pos / bt)];
        for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
            kernels::store_key(kv_type, k + h * hd, hd, kv.key_tile(il, block, h), t.pos % bt);
            kernels::store_value(kv_type, v + h * hd, hd, kv.value_tile(il, block, h), t.pos % bt);
        }
    }

    // Every task is independent once k and v are stored.
    const int64_t group = hp_.n_head / hp_.n_head_kv;
    plan_attention(il, batch);
    pool_.parallel_for(static_cast<int64_t>(tasks_.size()), [&](int64_t i, int thread) {
        const AttendTask& a = tasks_[sz(i)];
        const BatchToken& t = batch[sz(a.row)];
        const int64_t head = a.row * hp_.q_dim() + a.kv_head * group * hd;
        float* out = a.part < 0 ? &att_[sz(head)] : &parts_[sz(a.part * group * hd)];
        float* lse = a.part < 0 ? nullptr : &lse_[sz(a.part * group)];
        attend(kv, kv.block_table(t.seq),
               {il, a.kv_head, hd, group, hp_.attn_scale, /*low_precision=*/true},
               {&q_[sz(head)], hp_.q_dim(), a.n_tokens, t.pos, window(il), a.lo, a.hi},
               attn_scratch_[sz(thread)], out, hp_.q_dim(), lse);
    });
    for (const Merge& m : merges_) {
        merge_attention(&parts_[sz(m.first * group * hd)], &lse_[sz(m.first * group)], m.n, group,
                        hd, &att_[sz(m.row * hp_.q_dim() + m.kv_head * group * hd)]);
    }

    matmul(w.wo, att_.data(), n, xb2_.data());
    for (int64_t i = 0; i < n; ++i) {
        float* o = &xb2_[sz(i * e)];
        if (w.post_attn_norm != nullptr) kernels::rms_norm(o, w.post_attn_norm, o, e, hp_.rms_eps);
        kernels::add(&x_[sz(i * e)], o, &x_[sz(i * e)], e);
    }
}

void Forward::ffn_layer(int64_t il, int64_t n) {
    const LayerWeights& w = model_.weights().layers[sz(il)];
    const int64_t e = hp_.n_embd;
    for (int64_t i = 0; i < n; ++i) {
        kernels::rms_norm(&x_[sz(i * e)], w.ffn_norm, &xb_[sz(i * e)], e, hp_.rms_eps);
    }
    if (moe_ != nullptr) {
        moe_->run(w, xb_.data(), n, xb2_.data(), pool_, scratch_);
    } else {
        dense_ffn(w, n);
    }
    for (int64_t i = 0; i < n; ++i) {
        float* o = &xb2_[sz(i * e)];
        if (w.post_ffn_norm != nullptr) kernels::rms_norm(o, w.post_ffn_norm, o, e, hp_.rms_eps);
        kernels::add(&x_[sz(i * e)], o, &x_[sz(i * e)], e);
    }
}

// gate, up → act(gate)·up → down, into xb2_.
void Forward::dense_ffn(const LayerWeights& w, int64_t n) {
    matmuls({{&w.w_gate, gate_.data()}, {&w.w_up, up_.data()}}, xb_.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        float* g = &gate_[sz(i * hp_.n_ff)];
        const float* u = &up_[sz(i * hp_.n_ff)];
        if (hp_.config.activation == Activation::GeLU)
            kernels::gelu_mul(g, u, g, hp_.n_ff);
        else
            kernels::silu_mul(g, u, g, hp_.n_ff);
    }
    matmul(w.w_down, gate_.data(), n, xb2_.data());
}

std::span<const float> Forward::run(std::span<const BatchToken> batch, KvCache& kv) {
    check(batch, kv);
    const auto n = static_cast<int64_t>(batch.size());
    embed(batch);
    const int64_t e = hp_.n_embd;
    int64_t n_out = 0;
    for (const BatchToken& t : batch) n_out += t.logits ? 1 : 0;
    if (logits_.size() < sz(n_out * hp_.n_vocab)) logits_.resize(sz(n_out * hp_.n_vocab));
    int64_t first_cpu_layer = 0;
    if (gpu_layers_ != nullptr) {
        if (gpu_layers_->run(batch, kv, x_.data(), n_out > 0 ? logits_.data() : nullptr))
            return {logits_.data(), sz(n_out * hp_.n_vocab)};
        first_cpu_layer = gpu_layers_->layers();
    }
    rope_ready_[0] = rope_ready_[1] = false;
    for (int64_t il = first_cpu_layer; il < hp_.n_layer; ++il) {
        attention_layer(il, batch, kv);
        ffn_layer(il, n);
    }
    if (n_out == 0) return {};
    out_rows_.resize(sz(n_out * e));
    int64_t r = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (!batch[sz(i)].logits) continue;
        kernels::rms_norm(&x_[sz(i * e)], model_.weights().output_norm, &out_rows_[sz(r * e)], e,
                          hp_.rms_eps);
        ++r;
    }
    matmul(model_.weights().output, out_rows_.data(), n_out, logits_.data());
    return {logits_.data(), sz(n_out * hp_.n_vocab)};
}

}  // namespace pensieve::model
