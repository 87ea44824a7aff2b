// Splits a template into text and tag tokens the way jinja2's lexer does with
// Hugging Face's settings: trim_blocks (drop the first newline after a block or
// comment tag), lstrip_blocks (drop spaces/tabs before a block or comment tag that
// starts a line), "-" / "+" whitespace control, newline normalization and the removal
// of one trailing newline (keep_trailing_newline=False).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pensieve::chat {

enum class Tok : uint8_t {
    Text,        // literal output
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,
    String,   // text holds the unescaped value
    Integer,  // text holds the digits without underscores (base prefix kept)
    Float,
    Op,  // text holds the operator
    Eof,
};

struct Token {
    Tok type;
    std::string text;
    uint32_t offset;  // byte offset in the normalized source, for error positions
};

class SourceMap {
  public:
    explicit SourceMap(std::string_view source);
    // 1-based line and column (in characters) of a byte offset.
    std::pair<int, int> position(uint32_t offset) const;

  private:
    std::string_view source_;
    std::vector<uint32_t> line_starts_;
};

// Returns the source as jinja2 sees it: \r\n and \r become \n, one trailing \n dropped.
std::string normalize_source(std::string_view source);

// Tokenizes a normalized source. Throws TemplateSyntaxError with the position.
std::vector<Token> tokenize(std::string_view source);

}  // namespace pensieve::chat
