// Python `str` semantics over UTF-8 bytes: what jinja2 templates see when they index,
// slice, strip, split or change the case of a string. Python counts code points, not
// bytes, and has its own idea of whitespace; both matter for byte-exact prompts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/client_text.hpp"

namespace pensieve::chat::pystr {

// Decodes one code point at `pos` (advancing it). Invalid bytes decode as themselves
// (one byte each) so that nothing is ever lost; templates only ever see valid UTF-8
// from JSON, but the template source itself is not checked.
char32_t decode(std::string_view s, std::size_t& pos);
void append_utf8(std::string& out, char32_t cp);

bool is_ascii(std::string_view s);
std::size_t length(std::string_view s);  // in code points
// The start of the code point that ends at byte `end` (0 < end <= s.size()), as
// decode() splits `s`, invalid bytes included.
std::size_t prev_start(std::string_view s, std::size_t end);

bool is_space(char32_t cp);      // str.isspace()
bool is_linebreak(char32_t cp);  // str.splitlines() boundaries

// The byte span of what strip() keeps, so callers can carry client ranges along.
ByteRange strip_span(std::string_view s, bool left, bool right);
ByteRange strip_chars_span(std::string_view s, std::string_view chars, bool left, bool right);
std::string strip(std::string_view s, bool left, bool right);
std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string swapcase(std::string_view s);     // str.swapcase()
std::string capitalize(std::string_view s);   // str.capitalize()
std::string title(std::string_view s);        // str.title()
std::string jinja_title(std::string_view s);  // the `title` filter (splits on -, space, brackets)

// Byte spans of the parts split()/rsplit()/splitlines() return.
std::vector<ByteRange> split_spans(std::string_view s, std::string_view sep, bool whitespace,
                                   int64_t maxsplit);
std::vector<ByteRange> rsplit_spans(std::string_view s, std::string_view sep, bool whitespace,
                                    int64_t maxsplit);
// splitlines_spans stops after max_lines + 1 lines: a caller bounding the count can
// tell "more than max_lines" without materializing them all.
std::vector<ByteRange> splitlines_spans(std::string_view s, bool keepends,
                                        std::size_t max_lines = SIZE_MAX);
// str.split(): sep empty = split on whitespace runs; maxsplit < 0 = no limit.
std::vector<std::string> split(std::string_view s, std::string_view sep, bool whitespace,
                               int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, std::string_view sep, bool whitespace,
                                int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// Byte offset of the first `sub` in `s` at or after `from` (npos if none), in time
// linear in their sizes: std::string::find compares `sub` at each candidate, which
// for 'a' * 20000000 ~ 'b' in 'a' * 60000000 is hours in one call. An empty `sub`
// is found at `from`.
std::size_t find_bytes(std::string_view s, std::string_view sub, std::size_t from = 0);
// Byte offset of the last `sub` in `s` (npos if none), in linear time.
std::size_t rfind_bytes(std::string_view s, std::string_view sub);

int64_t count(std::string_view s, std::string_view sub);
int64_t find(std::string_view s, std::string_view sub, bool reverse);  // code point index

// Python's repr() of a str, quotes included. Escapes make it up to four times longer
// than `s`: past `max_bytes` it stops early, longer than max_bytes but incomplete, for
// the caller's size check to refuse.
std::string repr(std::string_view s, std::size_t max_bytes = SIZE_MAX);

}  // namespace pensieve::chat::pystr
