// Scaled dot-product attention of a run of query tokens over their
// sequence's cached keys and values, for the query heads that share one KV
// head (grouped-query attention). Prefill and decode take the same path:
// blocks of 16 cached positions are turned into F32 tiles once per call and
// multiplied against every query row of the run, with an online softmax
// (kernels::attend_block), so no score row of the whole context is ever
// built and each block is read once per run rather than once per token.
//
// A long range can also be cut into parts that separate tasks attend to,
// then merged (split-KV, or "flash-decoding"), so that a lone decoding
// sequence keeps every thread busy.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "model/kv_cache.hpp"

namespace pensieve::model {

// Which keys and values one attention reads, and its shape.
struct AttentionHead {
    int64_t layer = 0;
    int64_t kv_head = 0;
    int64_t head_dim = 0;
    int64_t group = 0;  // query heads per KV head
    float scale = 1.0f;
    // Allow 16-bit float products where the CPU makes them fast: over
    // whole steps of an F16 cache (kernels::attend_steps_for: FP16 products
    // with AVX512-FP16, else BF16 ones), and for the other caches BF16 ones
    // for runs of many query rows (kernels::AttendBlock::qb). Off: F32
    // products throughout.
    bool low_precision = false;
};

// The first position a token at `pos` attends: causal, and inside the last
// `window` positions when window > 0.
inline int64_t first_attended(int64_t pos, int64_t window) {
    return window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
}

// n_tokens query tokens of one sequence at positions pos0, pos0 + 1, ...,
// each with the group's query heads: head g of token i at
// q + i · q_stride + g · head_dim. Token i attends positions
// [max(lo, pos - window + 1), min(hi, pos)] with pos = pos0 + i (window 0:
// no window, from 0). lo and hi cut out one part of the range (split-KV).
struct AttentionQueries {
    const float* q = nullptr;
    int64_t q_stride = 0;
    int64_t n_tokens = 0;
    int64_t pos0 = 0;
    int64_t window = 0;
    int64_t lo = 0;
    int64_t hi = std::numeric_limits<int64_t>::max();
};

// Working memory of one thread's attend calls; grows to the largest run.
struct AttentionScratch {
    std::vector<float> kt, v;          // one block's F32 tiles
    std::vector<float> q, o, m, l;     // per query row
    std::vector<uint16_t> qb;          // q rounded to BF16, for BF16 products
    std::vector<int32_t> first, last;  // per query row
};

// Head g of token i's output goes to out + i · out_stride + g · head_dim.
// lse, when not null, gets at i · group + g the log Σ_p exp(scale · q·k_p)
// over the token's range, which is what merge_attention needs to join parts;
// a token with nothing to attend in [lo, hi] gets output 0 and lse -inf.
void attend(KvCache& kv, const std::vector<int32_t>& table, const AttentionHead& a,
            const AttentionQueries& queries, AttentionScratch& scratch, float* out,
            int64_t out_stride, float* lse);

// Joins the outputs of n_parts attend calls (one token each) over disjoint
// ranges that together cover a token's range: part c's out is
// parts + c · group · head_dim, its lse lse + c · group. The result equals
// one call over the whole range.
void merge_attention(const float* parts, const float* lse, int64_t n_parts, int64_t group,
                     int64_t head_dim, float* out);

}  // namespace pensieve::model
