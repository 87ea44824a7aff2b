// Shared helpers for the tokenizer tests: where the test vocabularies and
// the real models live, and the vocab test-vector file format.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer::testing {

inline std::filesystem::path vocab_dir() {
    return std::filesystem::path(PENSIEVE_SOURCE_DIR) / ".." / "shared" / "testdata" / "vocab";
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The model store of `pensieve pull`: $PENSIEVE_HOME/models, else
// ~/.cache/pensieve/models. nullopt when the file is not there.
inline std::optional<std::filesystem::path> model_path(const std::string& name) {
    std::filesystem::path home;
    if (const char* h = std::getenv("PENSIEVE_HOME"); h && *h) {
        home = h;
    } else if (const char* u = std::getenv("HOME"); u && *u) {
        home = std::filesystem::path(u) / ".cache" / "pensieve";
    } else {
        return std::nullopt;
    }
    const auto p = home / "models" / name;
    if (std::filesystem::exists(p)) return p;
    return std::nullopt;
}

inline constexpr const char* kSmolLm = "smollm2-135m-instruct-q4_1.gguf";
inline constexpr const char* kGemma3 = "gemma3-270m-q4_k_m.gguf";

// <name>.gguf.inp: text + "\n__ggml_vocab_test__\n", repeated.
inline std::vector<std::string> read_inputs(const std::filesystem::path& p) {
    const std::string all = read_file(p);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < all.size()) {
        const size_t next = all.find(sep, pos);
        if (next == std::string::npos) break;
        out.push_back(all.substr(pos, next - pos));
        pos = next + sep.size();
    }
    return out;
}

// <name>.gguf.out: one line of space-separated ids per input.
inline std::vector<std::vector<TokenId>> read_outputs(const std::filesystem::path& p) {
    std::istringstream in(read_file(p));
    std::vector<std::vector<TokenId>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::vector<TokenId> ids;
        long v;
        while (ls >> v) ids.push_back(static_cast<TokenId>(v));
        out.push_back(ids);
    }
    return out;
}

}  // namespace pensieve::tokenizer::testing
