// Unicode general-category flags per code point, for the pre-tokenizer
// scanners (what `\p{L}`, `\p{N}`, `\p{P}`, `\s`… match in the reference
// regexes). Tables are generated into unicode_tables.cpp by
// gen_unicode_tables.py; lookups go through a two-stage table built once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pensieve::tokenizer::unicode {

enum Flag : uint16_t {
    kLetter = 0x01,       // \p{L}
    kNumber = 0x02,       // \p{N}
    kPunctuation = 0x04,  // \p{P}
    kSymbol = 0x08,       // \p{S}
    kMark = 0x10,         // \p{M}
    kSeparator = 0x20,    // \p{Z}
    kOther = 0x40,        // \p{C} (controls, unassigned, surrogates, private use)
    kWhitespace = 0x80,   // White_Space property: what \s matches
    // Letter sub-categories (each also has kLetter), for the o200k/Tekken
    // split regexes that tell upper- from lower-case letter runs.
    kUpper = 0x100,         // \p{Lu}
    kLower = 0x200,         // \p{Ll}
    kTitle = 0x400,         // \p{Lt}
    kModifier = 0x800,      // \p{Lm}
    kOtherLetter = 0x1000,  // \p{Lo}
};

struct CategoryRange {
    uint32_t first;
    uint32_t last;
    uint16_t flags;
};

extern const char* const kUnicodeVersion;
extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;

// Flags of a code point; code points above U+10FFFF get kOther.
uint16_t flags(uint32_t cp);

inline bool is_letter(uint32_t cp) {
    return flags(cp) & kLetter;
}
inline bool is_number(uint32_t cp) {
    return flags(cp) & kNumber;
}
inline bool is_punctuation(uint32_t cp) {
    return flags(cp) & kPunctuation;
}
inline bool is_whitespace(uint32_t cp) {
    return flags(cp) & kWhitespace;
}

}  // namespace pensieve::tokenizer::unicode
