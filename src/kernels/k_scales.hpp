// Unpacking of the 6-bit sub-block scales of the K formats, shared by the
// scalar and SIMD kernels. Internal linkage on purpose (see fp16.hpp): ISA
// translation units each get their own copy.
#pragma once

#include <cstdint>

namespace pensieve::kernels {
namespace {

// Q4_K / Q5_K: scale and min of sub-block j (0..7) from the 12 packed bytes.
// Bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3; bytes 8-11 hold
// the low nibbles of scales / mins 4-7, whose top 2 bits sit in the spare
// high bits of bytes 0-7.
inline void k4_scale_min(const uint8_t* s, int j, int& scale, int& min) {
    if (j < 4) {
        scale = s[j] & 63;
        min = s[j + 4] & 63;
    } else {
        scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q3_K: the signed scale (-32..31) of sub-block j (0..15). Bytes 0-7 give the
// low nibbles (scales 0-7 in low halves, 8-15 in high halves); bytes 8-11
// give the top 2 bits, four scales per byte.
inline int k3_scale(const uint8_t* s, int j) {
    const int low = (s[j % 8] >> (4 * (j / 8))) & 0xF;
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

}  // namespace
}  // namespace pensieve::kernels
