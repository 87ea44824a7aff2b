// Weight rows to the AMX tile layout (see amx.hpp): signed int8 quants of
// each 32-element block, one 32-byte row per weight row, with the block's
// float scale dw and offset mw (x = dw * q + mw). Internal linkage only.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"

namespace pensieve::kernels::amx {
namespace {

inline float half(uint16_t h) {
    return _cvtsh_ss(h);
}

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v = 0;
    __builtin_memcpy(&v, p, 2);
    return v;
}

// Where row r of a weight tile keeps block j's quants and scales. The scales
// are row-major ([16][nb]): the kernel broadcasts them one at a time, and the
// K formats write eight consecutive ones per super-block.
struct WeightTile {
    int8_t* q;  // [nb][16][32]
    float* dw;  // [16][nb]
    float* mw;  // [16][nb]
    int64_t nb;
    void put_q(int64_t j, int r, __m256i quants) const {
        _mm256_store_si256(reinterpret_cast<__m256i*>(q + (j * 16 + r) * 32), quants);
    }
};

// 16 nibble bytes -> 32 values: low nibbles are elements 0..15, high 16..31.
inline __m256i nibbles(const uint8_t* qs) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
}

// The leading 32 bits of 16 consecutive blocks of kBytes bytes (f16 d, and
// for Q4_1 f16 m above it): one gather instead of 16 scalar loads.
template <size_t kBytes>
inline __m512i gather_heads(const uint8_t* blocks) {
    const __m512i index =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(static_cast<int>(kBytes)));
    return _mm512_i32gather_epi32(index, blocks, 1);
}

// dw (and mw) of the blocks of one row: 16 at a time from a gather, the
// rest one by one.
template <size_t kBytes, bool kHasM>
inline void unpack_scales(const uint8_t* src, int64_t nb, const WeightTile& t, int r) {
    float* dw = t.dw + r * nb;
    float* mw = t.mw + r * nb;
    int64_t j = 0;
    for (; j + 16 <= nb; j += 16) {
        const __m512i heads = gather_heads<kBytes>(src + static_cast<size_t>(j) * kBytes);
        _mm512_storeu_ps(dw + j, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(heads)));
        _mm512_storeu_ps(
            mw + j, kHasM ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(heads, 16)))
                          : _mm512_setzero_ps());
    }
    for (; j < nb; ++j) {
        const uint8_t* b = src + static_cast<size_t>(j) * kBytes;
        dw[j] = half(load_u16(b));
        mw[j] = kHasM ? half(load_u16(b + 2)) : 0.0f;
    }
}

// Q4_0: x = d * (q - 8).
inline void unpack_q4_0(const uint8_t* src, int64_t nb, const WeightTile& t, int r) {
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t j = 0; j < nb; ++j) {
        const uint8_t* b = src + static_cast<size_t>(j) * sizeof(BlockQ4_0);
        t.put_q(j, r, _mm256_sub_epi8(nibbles(b + 2), eight));
    }
    unpack_scales<sizeof(BlockQ4_0), false>(src, nb, t, r);
}

// Q4_1: x = d * q + m. Four 20-byte blocks (80 bytes) at a time: their
// nibble bytes (dwords 5j+1..5j+4) gathered into the 128-bit lanes of one
// vector, split into low / high nibbles, and the halves of each block put
// side by side.
inline void unpack_q4_1(const uint8_t* src, int64_t nb, const WeightTile& t, int r) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // Dwords of (first 64 bytes, bytes 16..79) holding the four blocks' quants.
    const __m512i pick = _mm512_setr_epi32(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 28, 29, 30, 31);
    // Block j's low then high nibbles: qwords (2j, 2j+1) of lo, then of hi.
    const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    int64_t j = 0;
    for (; j + 4 <= nb; j += 4) {
        const uint8_t* b = src + static_cast<size_t>(j) * sizeof(BlockQ4_1);
        const __m512i raw =
            _mm512_permutex2var_epi32(_mm512_loadu_si512(b), pick, _mm512_loadu_si512(b + 16));
        const __m512i lo = _mm512_and_si512(raw, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        int8_t* dst = t.q + (j * 16 + r) * 32;
        const __m512i b01 = _mm512_permutex2var_epi64(lo, first, hi);
        const __m512i b23 = _mm512_permutex2var_epi64(lo, second, hi);
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst), _mm512_castsi512_si256(b01));
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 512),
                           _mm512_extracti64x4_epi64(b01, 1));
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 1024), _mm512_castsi512_si256(b23));
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 1536),
                           _mm512_extracti64x4_epi64(b23, 1));
    }
    for (; j < nb; ++j)
        t.put_q(j, r, nibbles(src + static_cast<size_t>(j) * sizeof(BlockQ4_1) + 4));
    unpack_scales<sizeof(BlockQ4_1), true>(src, nb, t, r);
}

// Q8_0: x = d * q.
inline void unpack_q8_0(const uint8_t* src, int64_t nb, const WeightTile& t, int r) {
    for (int64_t j = 0; j < nb; ++j) {
        const uint8_t* b = src + static_cast<size_t>(j) * sizeof(BlockQ8_0);
        t.put_q(j, r, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)));
    }
    unpack_scales<sizeof(BlockQ8_0), false>(src, nb, t, r);
}

}  // namespace
}  // namespace pensieve::kernels::amx
