// The mixture-of-experts layer: route, group the batch's rows by expert,
// gate and up of every used expert as one pool job, SwiGLU, down as one
// job, then each token's weighted sum of its experts' outputs.
#include "model/moe.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/ops.hpp"

namespace pensieve::model {

namespace {

size_t sz(int64_t n) {
    return static_cast<size_t>(n);
}

// Whether expert a comes before expert b in the routing order.
bool before(const float* logits, int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
}

}  // namespace

void route_token(const float* logits, int64_t n_expert, int64_t k, bool renormalise, int32_t* ids,
                 float* weights) {
    float max = logits[0];
    for (int64_t e = 1; e < n_expert; ++e) max = std::max(max, logits[e]);
    double sum = 0;
    for (int64_t e = 0; e < n_expert; ++e) sum += std::exp(static_cast<double>(logits[e] - max));
    // k passes of selection: each picks the first expert in routing order
    // after the previous pick (k is small: 8 of 128 in Qwen3-30B-A3B).
    double chosen = 0;
    for (int64_t j = 0; j < k; ++j) {
        int32_t best = -1;
        for (int32_t e = 0; e < static_cast<int32_t>(n_expert); ++e) {
            if (j > 0 && !before(logits, ids[j - 1], e)) continue;
            if (best < 0 || before(logits, e, best)) best = e;
        }
        // NaN logits (a broken model) order nothing: take the lowest index
        // not chosen yet, so the ids stay valid and the NaN shows in the output.
        for (int32_t e = 0; best < 0; ++e) {
            if (std::find(ids, ids + j, e) == ids + j) best = e;
        }
        ids[j] = best;
        weights[j] = static_cast<float>(std::exp(static_cast<double>(logits[best] - max)) / sum);
        chosen += static_cast<double>(weights[j]);
    }
    if (renormalise) {
        for (int64_t j = 0; j < k; ++j)
            weights[j] = static_cast<float>(static_cast<double>(weights[j]) / chosen);
    }
}

MoeFfn::MoeFfn(const HParams& hp, int64_t max_batch) : hp_(hp) {
    const int64_t rows = max_batch * hp.n_expert_used;
    logits_.resize(sz(max_batch * hp.n_expert));
    ids_.resize(sz(rows));
    weights_.resize(sz(rows));
    offsets_.resize(sz(hp.n_expert + 1));
    fill_.resize(sz(hp.n_expert));
    row_token_.resize(sz(rows));
    row_weight_.resize(sz(rows));
    xg_.resize(sz(rows * hp.n_embd));
    gate_.resize(sz(rows * hp.n_ff_exp));
    up_.resize(sz(rows * hp.n_ff_exp));
    if (hp.config.shared_expert) {
        sgate_.resize(sz(max_batch * hp.n_ff_shexp));
        sup_.resize(sz(max_batch * hp.n_ff_shexp));
        sout_.resize(sz(max_batch * hp.n_embd));
    }
    mats_.reserve(sz(2 * hp.n_expert + 3));
    jobs_.reserve(sz(2 * hp.n_expert + 2));
}

void MoeFfn::run(const LayerWeights& w, const float* x, int64_t n, float* out,
                 kernels::ThreadPool& pool, kernels::MatmulScratch& scratch) {
    const int64_t e_count = hp_.n_expert, k = hp_.n_expert_used;
    const int64_t d = hp_.n_embd, f = hp_.n_ff_exp, fs = hp_.n_ff_shexp;

    // 1. Route every token.
    kernels::matmul(pool, w.router, x, n, logits_.data(), scratch);
    for (int64_t t = 0; t < n; ++t) {
        route_token(&logits_[sz(t * e_count)], e_count, k, hp_.expert_weights_norm,
                    &ids_[sz(t * k)], &weights_[sz(t * k)]);
    }

    // 2. Group the (token, expert) rows by expert, tokens in batch order.
    std::fill(offsets_.begin(), offsets_.end(), 0);
    for (int64_t r = 0; r < n * k; ++r) ++offsets_[sz(ids_[sz(r)] + 1)];
    for (int64_t e = 0; e < e_count; ++e) offsets_[sz(e + 1)] += offsets_[sz(e)];
    std::fill(fill_.begin(), fill_.end(), 0);
    for (int64_t r = 0; r < n * k; ++r) {
        const int32_t e = ids_[sz(r)];
        const int64_t at = offsets_[sz(e)] + fill_[sz(e)]++;
        row_token_[sz(at)] = static_cast<int32_t>(r / k);
        row_weight_[sz(at)] = weights_[sz(r)];
    }
    for (int64_t r = 0; r < n * k; ++r) {
        std::copy_n(x + row_token_[sz(r)] * d, d, &xg_[sz(r * d)]);
    }

    // 3. Gate and up of every used expert (and the shared expert) as one job.
    mats_.clear();
    jobs_.clear();
    for (int64_t e = 0; e < e_count; ++e) {
        const int64_t first = offsets_[sz(e)], rows = offsets_[sz(e + 1)] - first;
        if (rows == 0) continue;
        mats_.push_back(w.gate_exps.at(e));
        jobs_.push_back({&mats_.back(), &xg_[sz(first * d)], rows, &gate_[sz(first * f)]});
        mats_.push_back(w.up_exps.at(e));
        jobs_.push_back({&mats_.back(), &xg_[sz(first * d)], rows, &up_[sz(first * f)]});
    }
    if (w.shexp_gate != nullptr) {
        jobs_.push_back({&w.gate_shexp, x, n, sgate_.data()});
        jobs_.push_back({&w.up_shexp, x, n, sup_.data()});
    }
    kernels::matmul_many(pool, jobs_, scratch);
    kernels::silu_mul(gate_.data(), up_.data(), gate_.data(), n * k * f);
    if (w.shexp_gate != nullptr)
        kernels::silu_mul(sgate_.data(), sup_.data(), sgate_.data(), n * fs);

    // 4. Down of every used expert as one job, into the gathered rows.
    mats_.clear();
    jobs_.clear();
    for (int64_t e = 0; e < e_count; ++e) {
        const int64_t first = offsets_[sz(e)], rows = offsets_[sz(e + 1)] - first;
        if (rows == 0) continue;
        mats_.push_back(w.down_exps.at(e));
        jobs_.push_back({&mats_.back(), &gate_[sz(first * f)], rows, &xg_[sz(first * d)]});
    }
    if (w.shexp_gate != nullptr) jobs_.push_back({&w.down_shexp, sgate_.data(), n, sout_.data()});
    kernels::matmul_many(pool, jobs_, scratch);

    // 5. Each token's weighted sum; the shared expert scaled by its sigmoid gate.
    std::fill_n(out, n * d, 0.0f);
    for (int64_t r = 0; r < n * k; ++r) {
        kernels::axpy_f32(row_weight_[sz(r)], &xg_[sz(r * d)], out + row_token_[sz(r)] * d, d);
    }
    if (w.shexp_gate != nullptr) {
        for (int64_t t = 0; t < n; ++t) {
            const float g = kernels::dot_f32(w.shexp_gate, x + t * d, d);
            kernels::axpy_f32(1.0f / (1.0f + std::exp(-g)), &sout_[sz(t * d)], out + t * d, d);
        }
    }
}

}  // namespace pensieve::model
