// GPT-2's reversible byte <-> code point mapping: byte-level BPE vocabularies
// store each byte as a printable code point (e.g. space 0x20 is "Ġ" U+0120).
#pragma once

#include <cstdint>
#include <optional>

namespace pensieve::tokenizer::byte_level {

// The code point that stands for byte b in token texts.
uint32_t byte_to_code_point(uint8_t b);

// The byte a code point stands for; nullopt if it is not one of the 256.
std::optional<uint8_t> code_point_to_byte(uint32_t cp);

}  // namespace pensieve::tokenizer::byte_level
