// Helpers for the GGUF tests: a small valid model file built with our writer,
// and parse-expectations that report the reader's message on failure.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/writer.hpp"

namespace pensieve::gguf::testing {

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(rng());
    return out;
}

// A writer holding a bit of every kind of metadata and three tensors of
// different types, so truncation and mutation tests cross every field.
inline GgufWriter sample_writer() {
    GgufWriter w;
    w.set("general.architecture", std::string("llama"));
    w.set("general.name", std::string("tiny"));
    w.set("llama.context_length", uint32_t{128});
    w.set("llama.embedding_length", uint32_t{64});
    w.set("llama.block_count", uint32_t{1});
    w.set("llama.attention.head_count", uint32_t{4});
    w.set("tokenizer.ggml.tokens", make_array<std::string>({"<s>", "a", "b"}));
    w.set("tokenizer.ggml.scores", make_array<float>({0.f, -1.f, -2.f}));
    w.set("flag", true);
    w.set("nested", make_array<Array>({make_array<int32_t>({1, 2}), make_array<int32_t>({})}));
    w.add_tensor("token_embd.weight", TensorType::F32, {64, 3}, random_bytes(64 * 3 * 4, 1));
    w.add_tensor("blk.0.attn_q.weight", TensorType::Q4_0, {64, 64},
                 random_bytes(64 * 64 / 32 * 18, 2));
    w.add_tensor("output_norm.weight", TensorType::F16, {64}, random_bytes(128, 3));
    return w;
}

// Parses `bytes` and expects a gguf::Error whose message contains `needle`.
inline void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& needle,
                            const Limits& limits = {}) {
    try {
        GgufFile::parse(bytes, limits);
        ADD_FAILURE() << "accepted a malformed file; expected an error containing '" << needle
                      << "'";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "error was: " << e.what();
    }
}

}  // namespace pensieve::gguf::testing
