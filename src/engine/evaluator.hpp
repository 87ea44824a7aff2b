// Raw evaluation of one token sequence, for measurements that need logits
// rather than a reply: perplexity (every row's logits) and the pp/tg speed
// benchmark (prefill, then one token at a time at chosen positions).
// Generation never comes here: it goes through engine::Scheduler.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/generate.hpp"
#include "kernels/thread_pool.hpp"
#include "model/forward.hpp"
#include "model/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::engine {

struct EvaluatorConfig {
    int64_t n_ctx = 4096;   // positions of the one sequence
    int64_t n_batch = 256;  // tokens per forward call
    int n_threads = 0;      // 0: PENSIEVE_THREADS or all hardware threads
    gguf::TensorType kv_type = gguf::TensorType::F16;  // F16, BF16 or Q8_0
};

class Evaluator {
  public:
    Evaluator(const model::Model& model, const EvaluatorConfig& config);

    // Evaluates tokens at positions [start, start + n) of the sequence and
    // returns logits [n][n_vocab] for all of them (all_logits) or only the
    // last row. Positions >= start are overwritten; earlier ones are kept.
    // Throws ContextError past n_ctx.
    std::span<const float> evaluate(std::span<const int32_t> tokens, int64_t start,
                                    bool all_logits);

    int64_t n_ctx() const { return config_.n_ctx; }
    int64_t n_vocab() const { return forward_.n_vocab(); }
    kernels::ThreadPool& pool() { return pool_; }

  private:
    EvaluatorConfig config_;
    kernels::ThreadPool pool_;
    model::KvCache kv_;
    model::Forward forward_;
    std::vector<model::BatchToken> batch_;
    std::vector<float> all_logits_;  // [n][n_vocab] when evaluate() wants every row
};

}  // namespace pensieve::engine
