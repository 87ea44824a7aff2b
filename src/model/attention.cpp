// Attention over a range of cached positions, and the merge of several ranges.
#include "model/attention.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/ops.hpp"

namespace pensieve::model {

void attend_range(KvCache& kv, const std::vector<int32_t>& table, const AttentionHead& a,
                  const float* q, int64_t first, int64_t last, float* scores, int64_t scores_stride,
                  float* out, float* lse) {
    const int64_t hd = a.head_dim;
    const int64_t n = last - first + 1;
    const int64_t bt = kv.config().block_tokens;
    const int64_t stride = kv.config().kv_dim;  // between consecutive positions of a block
    // One kernel call per run of positions inside one block.
    auto for_each_run = [&](auto&& fn) {
        for (int64_t p = first; p <= last;) {
            const int64_t end = std::min<int64_t>((p / bt + 1) * bt, last + 1);
            fn(p, end - p, table[static_cast<size_t>(p / bt)], p % bt);
            p = end;
        }
    };
    for_each_run([&](int64_t p, int64_t count, int32_t block, int64_t slot) {
        kernels::dot_f16_rows(kv.key(a.layer, block, slot) + a.kv_head * hd, stride, count, q,
                              a.group, hd, &scores[p - first], scores_stride);
    });
    for (int64_t h = 0; h < a.group; ++h) {
        float* s = &scores[h * scores_stride];
        // The softmax gives p_j = exp(a_j) / Σ exp(a_i), a_i = scale · s_i, so
        // log Σ exp(a_i) = a_j - log p_j for any j: the normaliser comes back
        // from the output without a second pass of exponentials. j is the
        // largest a_j, whose p_j (≥ 1/n) cannot underflow.
        int64_t top = 0;
        if (lse != nullptr) {
            top = (a.scale >= 0 ? std::max_element(s, s + n) : std::min_element(s, s + n)) - s;
        }
        const float m = a.scale * s[top];
        kernels::softmax(s, n, a.scale, nullptr);
        if (lse != nullptr) lse[h] = m - std::log(s[top]);
    }
    std::fill(out, out + a.group * hd, 0.0f);
    for_each_run([&](int64_t p, int64_t count, int32_t block, int64_t slot) {
        kernels::axpy_f16_rows(&scores[p - first], scores_stride,
                               kv.value(a.layer, block, slot) + a.kv_head * hd, stride, count,
                               a.group, hd, out);
    });
}

void merge_attention(const float* parts, const float* lse, int64_t n_parts, int64_t group,
                     int64_t head_dim, float* out) {
    for (int64_t h = 0; h < group; ++h) {
        // Part c's share of the whole normaliser is exp(lse_c - L), L = log of
        // the total; subtracting the largest lse first keeps exp in range.
        float top = lse[h];
        for (int64_t c = 1; c < n_parts; ++c) top = std::max(top, lse[c * group + h]);
        float total = 0.0f;
        for (int64_t c = 0; c < n_parts; ++c) total += std::exp(lse[c * group + h] - top);
        float* o = out + h * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        for (int64_t c = 0; c < n_parts; ++c) {
            const float w = std::exp(lse[c * group + h] - top) / total;
            kernels::axpy_f32(w, parts + (c * group + h) * head_dim, o, head_dim);
        }
    }
}

}  // namespace pensieve::model
