// Sampling flags shared by `run` and `chat`.
#pragma once

#include <CLI/CLI.hpp>

#include "engine/sampler.hpp"

namespace pensieve::cli {

inline void add_sampling_options(CLI::App& cmd, engine::SamplingParams& p) {
    cmd.add_option("--temperature", p.temperature, "Sampling temperature (0: greedy)")
        ->check(CLI::Range(0.0f, 100.0f));
    cmd.add_option("--top-k", p.top_k, "Keep the k most likely tokens (0: off)")
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("--top-p", p.top_p, "Nucleus sampling mass (1: off)")
        ->check(CLI::Range(0.0f, 1.0f));
    cmd.add_option("--min-p", p.min_p, "Drop tokens below min-p × p(best) (0: off)")
        ->check(CLI::Range(0.0f, 1.0f));
    cmd.add_option("--repeat-penalty", p.repeat_penalty, "Penalty for recent tokens (1: off)")
        ->check(CLI::Range(0.0f, 10.0f));
    cmd.add_option("--frequency-penalty", p.frequency_penalty, "Subtract count × this");
    cmd.add_option("--presence-penalty", p.presence_penalty, "Subtract this once per seen token");
    cmd.add_option("--seed", p.seed, "Random seed (same seed, same output)");
}

}  // namespace pensieve::cli
