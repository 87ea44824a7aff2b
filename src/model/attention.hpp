// Scaled dot-product attention of one token over its sequence's cached F16
// keys and values, for the query heads that share one KV head (grouped-query
// attention). Forward runs it per (token, KV head); a long range can also be
// cut into chunks that separate tasks attend to, then merged (split-KV, or
// "flash-decoding"), so that a lone decoding sequence keeps every thread busy.
#pragma once

#include <cstdint>
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
};

// out[h] (h < group, head_dim floats each, consecutive) = the softmax of
// scale · q_h·k_p over positions p in [first, last], weighting the v_p; q has
// the group's heads consecutive too. table is the sequence's block table.
// scores: group rows of scores_stride (≥ last - first + 1) floats to work in.
// lse, when not null, gets per head log Σ_p exp(scale · q_h·k_p), which is
// what merge_attention needs to join ranges.
void attend_range(KvCache& kv, const std::vector<int32_t>& table, const AttentionHead& a,
                  const float* q, int64_t first, int64_t last, float* scores, int64_t scores_stride,
                  float* out, float* lse);

// Joins the outputs of n_parts attend_range calls over disjoint ranges that
// together cover a token's range: part c's out is parts + c · group · head_dim,
// its lse lse + c · group. The result equals one call over the whole range.
void merge_attention(const float* parts, const float* lse, int64_t n_parts, int64_t group,
                     int64_t head_dim, float* out);

}  // namespace pensieve::model
