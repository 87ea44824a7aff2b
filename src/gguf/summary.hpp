// The facts `pensieve info` reports about a GGUF file, computed from its
// metadata and tensor table (no tensor data is read).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "gguf/file.hpp"

namespace pensieve::gguf {

struct TypeUsage {
    uint64_t tensors = 0;
    uint64_t bytes = 0;
    uint64_t elements = 0;
};

struct Summary {
    uint32_t version = 0;
    std::string architecture;  // general.architecture, "" if absent
    std::string name;          // general.name, "" if absent
    uint64_t parameters = 0;   // total elements over all tensors
    uint64_t tensor_count = 0;
    uint64_t tensor_bytes = 0;
    std::map<std::string, TypeUsage> types;  // by type name, e.g. "q4_K"
    std::optional<int64_t> context_length;   // <arch>.context_length
    std::optional<int64_t> embedding_length;
    std::optional<int64_t> block_count;
    std::optional<int64_t> head_count;
    std::optional<int64_t> head_count_kv;
    std::optional<int64_t> feed_forward_length;
    uint64_t vocab_size = 0;      // entries in tokenizer.ggml.tokens
    std::string tokenizer_model;  // tokenizer.ggml.model
    std::string tokenizer_pre;    // tokenizer.ggml.pre
    bool has_chat_template = false;
};

// Throws gguf::Error when a key it reads has the wrong type.
Summary summarize(const GgufFile& file);

}  // namespace pensieve::gguf
