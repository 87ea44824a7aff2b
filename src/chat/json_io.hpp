// JSON at the boundary: request JSON -> Value (once per render), and Value -> JSON text
// exactly as Python's json.dumps writes it (the `tojson` filter transformers installs:
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chat/limits.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

// Object key order is kept (Python dicts keep insertion order, and tojson output of a
// tool schema must list its keys in the order the client sent them). Every string and
// key is client text (client_text.hpp): this is how request JSON enters a render.
Value from_json(const nlohmann::ordered_json& j, std::size_t max_depth = 256);

struct JsonDumpOptions {
    bool ensure_ascii = false;
    std::optional<std::string> indent;          // nullopt: single line
    std::optional<std::string> item_separator;  // default ", " (or "," when indented)
    std::string key_separator = ": ";
    bool sort_keys = false;
};

// Past `max_depth` levels or `max_bytes` of text: TemplateLimitError.
std::string to_json(const Value& v, const JsonDumpOptions& options, std::size_t max_depth = 256,
                    std::size_t max_bytes = Limits{}.max_output_bytes);
// The same text, each string literal marked as client text when its value had any.
// `render`, when given, has its deadline checked as items are written and keys sorted
// (sorting a dict of two million keys is seconds).
TrackedText to_json_tracked(const Value& v, const JsonDumpOptions& options,
                            std::size_t max_depth = 256,
                            std::size_t max_bytes = Limits{}.max_output_bytes,
                            const Interpreter* render = nullptr);

}  // namespace pensieve::chat
