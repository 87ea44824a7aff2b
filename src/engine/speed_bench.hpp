// Prefill and decode speed, measured like llama-bench's pp/tg tests: prefill
// evaluates prompt_tokens at once after `depth` tokens already in the
// context; decode generates gen_tokens one at a time after the same depth
// (llama-bench -d). The depth is filled once, untimed; each repetition then
// rewrites the positions after it. Repeated, after a warm-up.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/evaluator.hpp"

namespace pensieve::engine {

struct SpeedSample {
    double prefill_tok_s = 0;
    double decode_tok_s = 0;
};

struct SpeedResult {
    std::vector<SpeedSample> samples;
    double prefill_mean = 0, prefill_sd = 0, prefill_median = 0;
    double decode_mean = 0, decode_sd = 0, decode_median = 0;
};

SpeedResult measure_speed(Evaluator& evaluator, int64_t prompt_tokens, int64_t gen_tokens,
                          int repetitions, int64_t depth = 0);

}  // namespace pensieve::engine

namespace pensieve::engine {

// Aggregate decode throughput with n_seqs sequences decoding together (one
// token each per forward pass, as the scheduler batches them): every
// sequence starts from one token and decodes gen_tokens more. Returns the
// median over repetitions of n_seqs × gen_tokens / seconds.
double measure_batched_decode(const model::Model& model, kernels::ThreadPool& pool, int64_t n_seqs,
                              int64_t gen_tokens, int repetitions);

}  // namespace pensieve::engine

namespace pensieve::engine {

// Speed at a given depth of context, for the context-size sweep: prefill
// positions [from, to) after the ones already there (in the evaluator's
// n_batch chunks), then decode decode_tokens more at positions to, to + 1, …
// (a later call with from = to overwrites them). Growing one sequence step
// by step costs one fill of the largest context, not one per size.
struct FillResult {
    double prefill_tok_s = 0;  // of the new positions [from, to)
    double decode_tok_s = 0;   // at depth to .. to + decode_tokens
};
FillResult extend_context(Evaluator& evaluator, int64_t from, int64_t to, int64_t decode_tokens);

}  // namespace pensieve::engine
