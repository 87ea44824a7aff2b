// Prefill and decode speed, measured like llama-bench's pp/tg tests: prefill
// evaluates prompt_tokens at once after `depth` tokens already in the
// context; decode generates gen_tokens one at a time after the same depth
// (llama-bench -d). The depth is filled once, untimed; each repetition then
// rewrites the positions after it. Repeated, after a warm-up.
#pragma once

#include <cstdint>
#include <span>
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

// Prefill of prompt_tokens and decode of gen_tokens after `depth` tokens, as
// llama-bench's pp and tg with -d: either count may be 0 (that test is not
// run, its figures stay 0), not both.
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

namespace pensieve::engine {

// The work-split model: how a forward pass's parallel calls would spread
// over more cores than the machine has. Each call's tasks are recorded with
// a pool of the thread count in question (so the task sizes are the ones
// the matmul planner picks for it) and timed by their threads' CPU clocks;
// on that many free cores, the shared counter would hand them out in order
// to whichever thread is free first.

// When the last of `task_seconds` (in hand-out order) would finish on
// `threads` threads that each take the next task as they come free.
double list_schedule(std::span<const double> task_seconds, int threads);

// Figures per token of one recorded pass on `threads` threads.
struct SplitFigures {
    int threads = 0;
    double calls = 0;             // calls of two or more tasks: the synchronisation points
    double serial_calls = 0;      // calls of one task, which the caller runs alone
    double tasks = 0;             // tasks of every call
    double short_calls = 0;       // calls with fewer tasks than threads (serial ones too)
    double short_share = 0;       // share of the CPU time spent in those calls
    double tasks_per_thread = 0;  // median over calls of tasks / threads
    double bytes_per_task = 0;    // weight bytes per task, over the calls reading weights
    double work_seconds = 0;      // CPU time of every task
    double span_seconds = 0;      // Σ over calls of list_schedule on `threads`
};
SplitFigures split_figures(std::span<const kernels::ThreadPool::CallRecord> calls, int threads,
                           int64_t tokens);

struct SplitModel {
    std::vector<SplitFigures> prefill;  // one per thread count, per prompt token
    std::vector<SplitFigures> decode;   // per decoded token
};

// Records, for each thread count, one prefill of prompt_tokens after
// `depth` tokens (filled unrecorded) and decode_tokens decode steps after
// them, after a warm-up. Threads may exceed the cores: only CPU time counts.
SplitModel model_split(const model::Model& model, std::span<const int> threads,
                       int64_t prompt_tokens, int64_t decode_tokens, int64_t depth,
                       gguf::TensorType kv_type);

}  // namespace pensieve::engine
