// Blockwise attention of a run of tokens over cached positions, and the merge of ranges.
#include "model/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/traits.hpp"

namespace pensieve::model {

void attend(KvCache& kv, const std::vector<int32_t>& table, const AttentionHead& a,
            const AttentionQueries& qs, AttentionScratch& s, float* out, int64_t out_stride,
            float* lse) {
    const int64_t hd = a.head_dim;
    const int64_t bt = KvCache::kBlockTokens;
    const int64_t rows = qs.n_tokens * a.group;
    const auto n = static_cast<size_t>(rows);
    s.q.resize(n * static_cast<size_t>(hd));
    s.o.assign(n * static_cast<size_t>(hd), 0.0f);
    s.m.assign(n, -INFINITY);
    s.l.assign(n, 0.0f);
    s.first.resize(n);
    s.last.resize(n);
    s.kt.resize(static_cast<size_t>(bt * hd));
    s.v.resize(static_cast<size_t>(bt * hd));

    // Rows are token-major, so first and last never decrease from one row to
    // the next: the rows that reach into a block are one contiguous run.
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = -1;
    for (int64_t i = 0; i < qs.n_tokens; ++i) {
        const int64_t pos = qs.pos0 + i;
        const int64_t first = std::max(qs.lo, first_attended(pos, qs.window));
        const int64_t last = std::min(qs.hi, pos);
        if (first <= last) {
            lo = std::min(lo, first);
            hi = std::max(hi, last);
        }
        for (int64_t g = 0; g < a.group; ++g) {
            const auto row = static_cast<size_t>(i * a.group + g);
            std::copy_n(qs.q + i * qs.q_stride + g * hd, hd, &s.q[row * static_cast<size_t>(hd)]);
            s.first[row] = static_cast<int32_t>(first);
            s.last[row] = static_cast<int32_t>(last);
        }
    }
    // BF16 queries, for the CPUs whose attend_block multiplies in BF16.
    const bool bf16 = a.low_precision && kernels::attend_multiplies_bf16();
    if (bf16) {
        s.qb.resize(s.q.size());
        kernels::traits(gguf::TensorType::BF16)
            .quantize_row(s.q.data(), s.qb.data(), static_cast<int64_t>(s.q.size()));
    }
    const gguf::TensorType type = kv.config().type;
    int64_t r_lo = 0, r_hi = 0;  // rows reaching into the current block
    const int64_t first_block = hi < 0 ? 0 : lo / bt;
    const int64_t end_block = hi < 0 ? 0 : hi / bt + 1;  // nothing to attend: no block
    // Positions up to hi are all written (the run's own keys included).
    const auto whole = [&](int64_t b) { return hi - b * bt + 1 >= bt; };
    constexpr int64_t kSpanTiles = 64;  // per attend_f16_span call
    const uint16_t* k_span[kSpanTiles];
    const uint16_t* v_span[kSpanTiles];
    const auto tile16 = [](uint8_t* p) { return reinterpret_cast<const uint16_t*>(p); };
    for (int64_t b = first_block; b < end_block; ++b) {
        const int64_t p0 = b * bt;
        while (r_lo < rows && s.last[static_cast<size_t>(r_lo)] < p0) ++r_lo;
        while (r_hi < rows && s.first[static_cast<size_t>(r_hi)] <= p0 + bt - 1) ++r_hi;
        if (r_lo >= r_hi) continue;
        const auto r = static_cast<size_t>(r_lo);
        const kernels::AttendBlock step{&s.q[r * static_cast<size_t>(hd)],
                                        r_hi - r_lo,
                                        hd,
                                        nullptr,
                                        nullptr,
                                        p0,
                                        &s.first[r],
                                        &s.last[r],
                                        a.scale,
                                        &s.m[r],
                                        &s.l[r],
                                        &s.o[r * static_cast<size_t>(hd)],
                                        bf16 ? &s.qb[r * static_cast<size_t>(hd)] : nullptr};
        // Runs of many rows take BF16 products block by block where the CPU
        // has fast ones, and spans of F16 tiles otherwise. FP16 products
        // (AttendBlock::fp16_products) stay off: their sums round per step
        // from where a span starts, which moves with the prefill chunking,
        // and the server's chunks change with load, so batched greedy
        // replies parted from one-at-a-time ones more often than F32 noise
        // makes them.
        const bool many = r_hi - r_lo > kernels::kF16TileMaxRows;
        if (type == gguf::TensorType::F16 && whole(b) && !(many && bf16)) {
            // A span of whole F16 tiles on which the same rows stay (a
            // decoding token's whole range but its last block; the blocks
            // before a prefill run).
            int64_t count = 0;
            for (;;) {
                const int32_t at = table[static_cast<size_t>(b)];
                k_span[count] = tile16(kv.key_tile(a.layer, at, a.kv_head));
                v_span[count] = tile16(kv.value_tile(a.layer, at, a.kv_head));
                ++count;
                const int64_t next = (b + 1) * bt;
                if (count == kSpanTiles || b + 1 >= end_block || !whole(b + 1) ||
                    s.last[r] < next ||
                    (r_hi < rows && s.first[static_cast<size_t>(r_hi)] <= next + bt - 1))
                    break;
                ++b;
            }
            kernels::attend_f16_span(step, k_span, v_span, count);
            continue;
        }
        const int32_t block = table[static_cast<size_t>(b)];
        kernels::attend_tiles(type, kv.key_tile(a.layer, block, a.kv_head),
                              kv.value_tile(a.layer, block, a.kv_head), std::min(bt, hi - p0 + 1),
                              step, s.kt.data(), s.v.data());
    }

    for (int64_t i = 0; i < qs.n_tokens; ++i) {
        for (int64_t g = 0; g < a.group; ++g) {
            const auto row = static_cast<size_t>(i * a.group + g);
            const float l = s.l[row];
            const float inv = l > 0.0f ? 1.0f / l : 0.0f;
            float* dst = out + i * out_stride + g * hd;
            const float* o = &s.o[row * static_cast<size_t>(hd)];
            for (int64_t d = 0; d < hd; ++d) dst[d] = o[d] * inv;
            if (lse != nullptr)
                lse[i * a.group + g] = l > 0.0f ? s.m[row] + std::log(l) : -INFINITY;
        }
    }
}

void merge_attention(const float* parts, const float* lse, int64_t n_parts, int64_t group,
                     int64_t head_dim, float* out) {
    for (int64_t h = 0; h < group; ++h) {
        // Part c's share of the whole normaliser is exp(lse_c - L), L = log of
        // the total; subtracting the largest lse first keeps exp in range.
        float top = lse[h];
        for (int64_t c = 1; c < n_parts; ++c) top = std::max(top, lse[c * group + h]);
        float* o = out + h * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        if (top == -INFINITY) continue;  // no part attended anything
        float total = 0.0f;
        for (int64_t c = 0; c < n_parts; ++c) total += std::exp(lse[c * group + h] - top);
        for (int64_t c = 0; c < n_parts; ++c) {
            const float w = std::exp(lse[c * group + h] - top) / total;
            kernels::axpy_f32(w, parts + (c * group + h) * head_dim, o, head_dim);
        }
    }
}

}  // namespace pensieve::model
