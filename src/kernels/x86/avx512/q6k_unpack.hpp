// Q6_K super-block unpacking shared by the AVX-512 Q6_K kernels: the fused
// GEMV (gemv_q6k.cpp) and the tile path for larger batches (gemm_q6k.cpp).
// Internal linkage only, as everything under x86/.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/x86/avx512/packed.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// Super-block half h (elements 128h..128h+127) of a Q6_K block: ql bytes
// 64h..64h+63 hold elements 128h + 0..63 in their low nibbles and 128h +
// 64..127 in their high ones; qh byte 32h + l holds bits 4-5 of elements
// 128h + l, +32, +64, +96 in its bit pairs 0-1, 2-3, 4-5, 6-7. Returns the
// unsigned 6-bit values (q + 32) of elements 128h + 0..63 (lo) and + 64..127 (hi).
inline void q6_unpack_half(const BlockQ6_K& b, int h, __m512i& lo, __m512i& hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    // Per 256-bit half of the register: bits 0-1 (2-3) of qh into bits 4-5
    // for lo, bits 4-5 (6-7) for hi. 16-bit shifts: the 0x30 mask drops what
    // crosses from the neighbouring byte.
    const __m512i up = _mm512_setr_epi64(0x0004000400040004, 0x0004000400040004, 0x0004000400040004,
                                         0x0004000400040004, 0x0002000200020002, 0x0002000200020002,
                                         0x0002000200020002, 0x0002000200020002);
    const __m512i down = _mm512_setr_epi64(0, 0, 0, 0, 0x0002000200020002, 0x0002000200020002,
                                           0x0002000200020002, 0x0002000200020002);
    const __m512i ql = load512(b.ql + 64 * h);
    const __m512i qh =
        _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
    lo =
        _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, up), m30));
    hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                         _mm512_and_si512(_mm512_srlv_epi16(qh, down), m30));
}

}  // namespace
}  // namespace pensieve::kernels::avx512
