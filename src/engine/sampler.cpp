// Sampling pipeline (llama.cpp's default order): penalties → top-k → softmax
// with temperature → top-p → min-p → draw.
#include "engine/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace pensieve::engine {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::apply_penalties(std::span<const int32_t> history) {
    const bool any = params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                     params_.presence_penalty != 0.0f;
    if (!any || params_.penalty_last_n == 0 || history.empty()) return;
    const size_t n = params_.penalty_last_n < 0
                         ? history.size()
                         : std::min(history.size(), static_cast<size_t>(params_.penalty_last_n));
    std::unordered_map<int32_t, int> counts;
    for (size_t i = history.size() - n; i < history.size(); ++i) ++counts[history[i]];
    for (const auto& [id, count] : counts) {
        if (id < 0 || static_cast<size_t>(id) >= candidates_.size()) continue;
        float& l = candidates_[static_cast<size_t>(id)].logit;
        if (params_.repeat_penalty != 1.0f) {
            l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
        }
        l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history,
                        std::span<const uint64_t> allowed) {
    const size_t n_vocab = logits.size();
    candidates_.resize(n_vocab);
    // Only numbers that order: the sorts below need a strict weak order,
    // which a NaN breaks, and the softmax a finite maximum.
    constexpr float kTop = std::numeric_limits<float>::max();
    for (size_t i = 0; i < n_vocab; ++i) {
        const float l = logits[i];
        candidates_[i] = {static_cast<int32_t>(i), std::isnan(l)
                                                       ? -std::numeric_limits<float>::infinity()
                                                       : std::min(l, kTop)};
    }
    if (!allowed.empty()) {
        // Disallowed tokens get no probability at all, before anything else
        // looks at the logits.
        constexpr float kNever = -std::numeric_limits<float>::infinity();
        for (size_t i = 0; i < n_vocab; ++i) {
            const size_t w = i >> 6;
            if (w >= allowed.size() || !((allowed[w] >> (i & 63)) & 1))
                candidates_[i].logit = kNever;
        }
    }
    apply_penalties(history);

    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    const auto best = std::min_element(candidates_.begin(), candidates_.end(), by_logit);
    if (best == candidates_.end() || best->logit == -std::numeric_limits<float>::infinity()) {
        throw SamplingError(
            "no token can be drawn: the model's logits are NaN or -inf for every token this "
            "step allows");
    }
    if (params_.temperature <= 0.0f) return best->id;
    size_t n = n_vocab;
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
        // Select the k best in linear time, then order only those: far
        // cheaper than a partial sort over a 50k-262k vocabulary.
        n = static_cast<size_t>(params_.top_k);
        std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<long>(n - 1),
                         candidates_.end(), by_logit);
        std::sort(candidates_.begin(), candidates_.begin() + static_cast<long>(n), by_logit);
    } else {
        std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    // Softmax over the survivors, with temperature.
    probs_.resize(n);
    const float max_logit = candidates_[0].logit;
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        probs_[i] =
            std::exp(static_cast<double>((candidates_[i].logit - max_logit) / params_.temperature));
        sum += probs_[i];
    }
    for (size_t i = 0; i < n; ++i) probs_[i] /= sum;
    // Top-p: the smallest prefix whose mass reaches top_p.
    if (params_.top_p < 1.0f) {
        double mass = 0.0;
        for (size_t i = 0; i < n; ++i) {
            mass += probs_[i];
            if (mass >= static_cast<double>(params_.top_p)) {
                n = i + 1;
                break;
            }
        }
    }
    // Min-p: drop tokens far less likely than the best.
    if (params_.min_p > 0.0f) {
        const double floor = static_cast<double>(params_.min_p) * probs_[0];
        size_t keep = 1;
        while (keep < n && probs_[keep] >= floor) ++keep;
        n = keep;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += probs_[i];
    std::uniform_real_distribution<double> uniform(0.0, total);
    double r = uniform(rng_);
    for (size_t i = 0; i < n; ++i) {
        r -= probs_[i];
        if (r <= 0.0) return candidates_[i].id;
    }
    // Rounding can leave r a hair above 0 after the last survivor: take the
    // last one with any probability, never a masked-out token.
    while (n > 1 && probs_[n - 1] <= 0.0) --n;
    return candidates_[n - 1].id;
}

}  // namespace pensieve::engine
