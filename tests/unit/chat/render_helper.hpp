// Test helpers: render a template source with variables given as JSON, read a
// real template from tests/data/chat_templates, build a vocabulary of control
// tokens, check a generated id's shape.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../tokenizer/test_support.hpp"
#include "chat/json_io.hpp"
#include "chat/template.hpp"
#include "gguf/file.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::chat::testing {

inline std::string render(const std::string& source,
                          const nlohmann::ordered_json& vars = nlohmann::ordered_json::object(),
                          const Limits& limits = {}) {
    DictData context;
    for (const auto& [k, v] : vars.items()) context.set(Value::string(k), from_json(v));
    return Template::parse(source, limits).render(context);
}

// The fastest of three renders with no variables, in seconds: a loaded
// machine only ever adds time (for checks that 4x the input costs ~4x).
inline double seconds_to_render(const Template& t) {
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        t.render(DictData{});
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// The source of tests/data/chat_templates/<name>.jinja.
inline std::string template_source(const std::string& name) {
    const auto path = std::filesystem::path(PENSIEVE_SOURCE_DIR) / "tests" / "data" /
                      "chat_templates" / (name + ".jinja");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("missing test template " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A byte-level vocabulary in which each of `controls` is one control token.
inline tokenizer::Tokenizer control_vocabulary(const std::vector<std::string>& controls) {
    std::vector<tokenizer::testing::TinyToken> extra;
    for (const auto& t : controls) extra.push_back({t, 3});  // TokenType::Control
    const std::vector<uint8_t> bytes =
        tokenizer::testing::tiny_byte_level_vocab(extra, {}).to_bytes();
    return tokenizer::Tokenizer::from_gguf(gguf::GgufFile::parse(bytes));
}

// Whether `s` is `prefix` followed by `n` base62 characters (n = 0: any number >= 1).
inline bool has_shape(const std::string& s, const std::string& prefix, std::size_t n) {
    if (s.rfind(prefix, 0) != 0) return false;
    const std::string rest = s.substr(prefix.size());
    if (rest.empty() || (n != 0 && rest.size() != n)) return false;
    for (const char c : rest) {
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

}  // namespace pensieve::chat::testing
