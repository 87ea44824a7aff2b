// Choosing the next token from logits: penalties, then temperature, top-k,
// top-p and min-p, then a seeded draw (or the argmax when temperature is 0).
// The same seed and inputs always give the same tokens.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

namespace pensieve::engine {

struct SamplingParams {
    float temperature = 0.8f;        // 0: greedy
    int32_t top_k = 40;              // 0: off
    float top_p = 0.95f;             // 1: off
    float min_p = 0.05f;             // 0: off; drop tokens below min_p × p(best)
    float repeat_penalty = 1.0f;     // 1: off; divides positive logits of recent tokens
    float frequency_penalty = 0.0f;  // subtracts count × this
    float presence_penalty = 0.0f;   // subtracts this once per seen token
    int32_t penalty_last_n = 64;     // how many recent tokens the penalties look at
    uint64_t seed = 0;
};

struct SamplingError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Sampler {
  public:
    explicit Sampler(const SamplingParams& params);

    // `history` is every token of the sequence so far (prompt and output).
    // `allowed`, when not empty, holds one bit per token id: only those may
    // be drawn (ids past its end never). Allocation-free after the first call
    // for a given vocabulary size. A NaN logit counts as -inf (that token is
    // never drawn) and +inf as the largest float; throws SamplingError when
    // no token that may be drawn has a logit above -inf (a model whose
    // numbers overflowed gives NaN for every token).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                   std::span<const uint64_t> allowed = {});

    const SamplingParams& params() const { return params_; }

  private:
    struct Candidate {
        int32_t id;
        float logit;
    };
    void apply_penalties(std::span<const int32_t> history);

    SamplingParams params_;
    std::mt19937_64 rng_;
    std::vector<Candidate> candidates_;  // [n_vocab] working set
    std::vector<double> probs_;          // [n_vocab] probabilities of the sorted candidates
};

}  // namespace pensieve::engine
