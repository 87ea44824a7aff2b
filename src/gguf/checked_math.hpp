// Overflow-checked unsigned arithmetic for sizes read from untrusted files.
#pragma once

#include <cstdint>
#include <optional>

namespace pensieve::gguf {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
    uint64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
    uint64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

// Rounds `value` up to a multiple of `alignment` (a power of two).
inline std::optional<uint64_t> checked_align_up(uint64_t value, uint64_t alignment) {
    const auto bumped = checked_add(value, alignment - 1);
    if (!bumped) return std::nullopt;
    return *bumped & ~(alignment - 1);
}

}  // namespace pensieve::gguf
