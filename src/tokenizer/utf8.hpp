// UTF-8 helpers: decoding with the Unicode "maximal subpart" replacement rule
// (what Python's errors="replace" and the WHATWG decoder do), encoding, and
// finding where the last complete character of a byte buffer ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::tokenizer::utf8 {

inline constexpr uint32_t kReplacement = 0xFFFD;

// Length in bytes of the well-formed sequence starting at s[pos], or 0 when the
// bytes there are not a complete well-formed sequence. `*subpart` (optional)
// receives the length of the maximal subpart to replace with U+FFFD (>= 1).
size_t sequence_length(std::string_view s, size_t pos, size_t* subpart = nullptr);

// Decodes the well-formed sequence of `len` bytes at s[pos].
uint32_t decode_at(std::string_view s, size_t pos, size_t len);

// Appends the UTF-8 encoding of a code point (must be <= U+10FFFF).
void append(std::string& out, uint32_t cp);

// Code points of `s`, each ill-formed subpart replaced by U+FFFD.
std::vector<uint32_t> decode_lossy(std::string_view s);

// `s` with each ill-formed subpart replaced by U+FFFD; returns `s` unchanged
// (no copy made by the caller) when it is already valid.
bool is_valid(std::string_view s);
std::string make_valid(std::string_view s);

// Number of leading bytes of `s` that can be emitted now without splitting a
// character: everything except a trailing, still-incomplete (but so far
// well-formed) sequence of at most 3 bytes.
size_t complete_prefix(std::string_view s);

}  // namespace pensieve::tokenizer::utf8
