// The grammar of constrained decoding: a graph of JSON value nodes compiled
// from a JSON Schema (schema_compiler.hpp). The matcher (matcher.hpp) walks
// it byte by byte with a stack of frames, one per open value, so nesting and
// local `$ref` recursion need no grammar expansion. Nodes refer to each
// other by index; cycles (recursive `$ref`) are allowed and bounded at match
// time by the matcher's stack depth.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pensieve::grammar {

using NodeId = uint32_t;

enum class NodeKind : uint8_t {
    Object,   // {"key": value, ...}
    Array,    // [value, ...]
    String,   // "..." with length bounds and a simple pattern
    Number,   // any JSON number
    Integer,  // -?(0|[1-9][0-9]*) within [minimum, maximum]
    Literal,  // one of a sorted set of serialized JSON values (enum, const, true/false/null)
    AnyOf,    // one of several nodes (anyOf, type arrays, any value)
};

// Object property: its key as it appears between the quotes (JSON-escaped)
// and the node of its value.
struct Property {
    std::string key;
    NodeId value = 0;
    bool required = false;
};

// What a `pattern` could be reduced to: a literal prefix, then optionally
// every further character from an ASCII class (`^abc`, `^[a-z0-9_]+$`).
struct StringPattern {
    std::string prefix;             // ASCII, no '"' or '\\'
    bool has_class = false;         // the rest must be class characters
    std::array<uint64_t, 2> cls{};  // ASCII bitset of the class
};

struct Node {
    NodeKind kind = NodeKind::AnyOf;
    // Object
    std::vector<Property> properties;  // declared keys in schema order (<= 64)
    std::optional<NodeId> additional;  // value node of extra keys; none = no extra keys
    // Array
    NodeId items = 0;
    uint32_t min_items = 0, max_items = UINT32_MAX;
    // String (lengths in code points)
    uint32_t min_length = 0, max_length = UINT32_MAX;
    std::optional<StringPattern> pattern;
    // Integer (inclusive bounds)
    int64_t minimum = INT64_MIN, maximum = INT64_MAX;
    // Literal: serialized values, sorted and unique
    std::vector<std::string> literals;
    // AnyOf: the alternatives as written; `alts` below is the flattened list
    std::vector<NodeId> options;
    // AnyOf: only the alternatives that may be objects count (a tool's input;
    // `allOf: [schema, {"type": "object"}]`).
    bool objects_only = false;
    // Every concrete (non-AnyOf) node this node may start as. Filled by
    // Grammar::finish; for a concrete node it is {itself}.
    std::vector<NodeId> alts;
    // Filled by Grammar::finish: bit i = properties[i].required; the bytes a
    // concrete node's text may start with (to fork anyOf only where it can go).
    uint64_t required_mask = 0;
    std::array<uint64_t, 4> first_bytes{};
    bool can_start(uint8_t c) const { return (first_bytes[c >> 6] >> (c & 63)) & 1; }
};

// How the model is made to lay out JSON. Whitespace is always canonical:
// Python's json.dumps separators (", " and ": "), nothing else, so one
// document has exactly one spelling (cheaper masks, no whitespace runaway).
struct Layout {
    // Declared keys in schema order (optional ones may be skipped), extra
    // keys after them. false: declared keys in any order.
    bool schema_order = true;
};

struct Grammar {
    std::vector<Node> nodes;
    NodeId root = 0;
    Layout layout;
    // Keywords the compiler could not enforce (e.g. "format", "multipleOf"),
    // each once with the JSON pointer of its first use, for the caller's log.
    std::vector<std::string> relaxed;

    // Fills every node's `alts`; throws SchemaError for anyOf/$ref cycles that
    // never consume input.
    void finish();
    // The memory the grammar holds, about (its containers' elements and
    // out-of-line strings).
    size_t bytes() const;
    // Whether node `id` matches some JSON object (after finish()); whether
    // concrete node `a` may (an object, or literals with an object among them).
    bool may_be_object(NodeId id) const;
    bool may_be_object_alt(NodeId a) const;
};

// An invalid or unsupported schema: `path` is the JSON pointer of the part at
// fault ("/properties/todos/items/type").
class SchemaError : public std::runtime_error {
  public:
    SchemaError(std::string path, const std::string& message)
        : std::runtime_error(message + " at " + (path.empty() ? "/" : path)),
          path_(std::move(path)) {}
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Limits that keep matching bounded whatever the schema.
inline constexpr size_t kMaxStackDepth = 32;      // open values at once
inline constexpr size_t kMaxAlternatives = 64;    // live anyOf branches at once
inline constexpr size_t kMaxProperties = 64;      // declared keys per object
inline constexpr uint32_t kMaxNumberDigits = 20;  // digits in an integer part / fraction
inline constexpr uint32_t kMaxExponentDigits = 3;
inline constexpr size_t kMaxNodes = 100'000;  // compiled nodes per schema

}  // namespace pensieve::grammar
