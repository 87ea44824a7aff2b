// 16 x 16 transpose of 32-bit lanes, for the packed paths of the float
// weight formats (gemm_bf16.cpp, gemm_f32.cpp), which turn 16 weight or
// activation rows into vectors across the rows. Internal linkage only, as
// everything under x86/.
#pragma once

#include <immintrin.h>

namespace pensieve::kernels::avx512 {
namespace {

// In place: v[r] lane p (32 bits) -> v[p] lane r.
inline void transpose16(__m512i* v) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    // u[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j.
    __m512i u[16];
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int j = 0; j < 4; ++j) {
        const __m512i ab_lo = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);
        const __m512i ab_hi = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);
        const __m512i cd_lo = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
        const __m512i cd_hi = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
        v[j] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0x88);
        v[4 + j] = _mm512_shuffle_i32x4(ab_lo, cd_lo, 0xDD);
        v[8 + j] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0x88);
        v[12 + j] = _mm512_shuffle_i32x4(ab_hi, cd_hi, 0xDD);
    }
}

}  // namespace
}  // namespace pensieve::kernels::avx512
