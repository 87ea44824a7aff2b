// The 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) as the
// AVX-512 matmul path reads them: their byte layouts, and one group of four
// blocks brought into the lo / hi vector shape of gemm.cpp's header. Shared
// by the tile unpacking (gemm.cpp) and the fused GEMV (gemv.cpp); internal
// linkage, as everything under x86/.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/x86/avx512/packed.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// The elements 0..15 (half 0) or 16..31 (half 1) of up to four 32-byte runs
// at p, p + stride, ... into the 16-byte lanes of one vector; lanes past
// `count` repeat run 0.
inline __m512i gather_halves(const uint8_t* p, size_t stride, int count, int half_index) {
    const auto* q = p + 16 * half_index;
    const auto at = [q, stride](int j) {
        return _mm_loadu_si128(
            reinterpret_cast<const __m128i*>(q + static_cast<size_t>(j) * stride));
    };
    if (count == 4) {
        const __m256i v01 = _mm256_inserti128_si256(_mm256_castsi128_si256(at(0)), at(1), 1);
        const __m256i v23 = _mm256_inserti128_si256(_mm256_castsi128_si256(at(2)), at(3), 1);
        return _mm512_inserti64x4(_mm512_castsi256_si512(v01), v23, 1);
    }
    __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    for (int j = 1; j < count; ++j) {
        v = _mm512_mask_broadcast_i32x4(
            v, static_cast<__mmask16>(0xF << (4 * j)),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + static_cast<size_t>(j) * stride)));
    }
    return v;
}

// 32-element formats: q at qs_off (16 nibble bytes, or 32 bytes for Q8_0),
// f16 d at 0 and, for the offset formats, f16 m at 2; Q5 high bits at qh_off.
// The formats without m store u = q + 2^shift (unsigned quants, see
// gemm.cpp's header).
enum class Legacy { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 };

template <Legacy F>
struct LegacyFormat;
template <>
struct LegacyFormat<Legacy::Q4_0> {
    static constexpr TensorType type = TensorType::Q4_0;
    static constexpr size_t bytes = sizeof(BlockQ4_0), qs = 2, qh = 0;
    static constexpr bool has_m = false;
    static constexpr int shift = 3;
};
template <>
struct LegacyFormat<Legacy::Q4_1> {
    static constexpr TensorType type = TensorType::Q4_1;
    static constexpr size_t bytes = sizeof(BlockQ4_1), qs = 4, qh = 0;
    static constexpr bool has_m = true;
    static constexpr int shift = 0;
};
template <>
struct LegacyFormat<Legacy::Q5_0> {
    static constexpr TensorType type = TensorType::Q5_0;
    static constexpr size_t bytes = sizeof(BlockQ5_0), qs = 6, qh = 2;
    static constexpr bool has_m = false;
    static constexpr int shift = 4;
};
template <>
struct LegacyFormat<Legacy::Q5_1> {
    static constexpr TensorType type = TensorType::Q5_1;
    static constexpr size_t bytes = sizeof(BlockQ5_1), qs = 8, qh = 4;
    static constexpr bool has_m = true;
    static constexpr int shift = 0;
};
template <>
struct LegacyFormat<Legacy::Q8_0> {
    static constexpr TensorType type = TensorType::Q8_0;
    static constexpr size_t bytes = sizeof(BlockQ8_0), qs = 2, qh = 0;
    static constexpr bool has_m = false;
    static constexpr int shift = 7;
};

// Word (16-bit) indices for vpermt2w that move the quants of four
// consecutive blocks into 128-bit lanes 0..3 (see load_group): index i < 32
// takes word i of the first source, 32 + i word i of the second.
struct QuantPermutes {
    alignas(64) uint16_t q8_0_lo[32];  // Q8_0 elements 0..15; sources: words 0..31, 32..63
    alignas(64) uint16_t q8_0_hi[32];  // Q8_0 elements 16..31; sources: words 9..40, 36..67
};

constexpr QuantPermutes make_quant_permutes() {
    QuantPermutes p{};
    for (int j = 0; j < 4; ++j) {
        for (int l = 0; l < 8; ++l) {
            // Q8_0: 34-byte blocks, elements 0..15 at words 17j+1..17j+8,
            // elements 16..31 at words 17j+9..17j+16.
            p.q8_0_lo[8 * j + l] = static_cast<uint16_t>(17 * j + 1 + l);
            const int w8 = 17 * j + 9 + l;
            p.q8_0_hi[8 * j + l] = static_cast<uint16_t>(j < 2 ? w8 - 9 : 32 + w8 - 36);
        }
    }
    return p;
}

constexpr QuantPermutes kQuantPermutes = make_quant_permutes();

// The first `words` 16-bit words at p (64 bytes at most), zero past them;
// whole-vector loads when nothing is cut off.
inline __m512i load_words(const uint8_t* p, int words) {
    if (words >= 32) return load512(p);
    if (words <= 0) return _mm512_setzero_si512();
    return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((1ull << words) - 1), p);
}

inline __m512i load_table(const uint16_t* t) {
    return _mm512_load_si512(t);
}

// Group g's unsigned quants (lo, hi as in the header) of `count` blocks at blk.
// Q4_1 / Q8_0 read the group's bytes with whole-vector loads and one
// permute per vector (the blocks' quants sit at word / dword boundaries);
// lanes past `count` are zero (their block scales are zero too).
template <Legacy F>
inline void load_group(const uint8_t* blk, int count, __m512i& lo, __m512i& hi) {
    using Fmt = LegacyFormat<F>;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    if constexpr (F == Legacy::Q4_1) {
        // 20-byte blocks: quants at dwords 5j+1..5j+4.
        const __m512i idx =
            _mm512_setr_epi32(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 28, 29, 30, 31);
        const int words = 10 * count;
        const __m512i raw =
            _mm512_permutex2var_epi32(load_words(blk, words), idx, load_words(blk + 16, words - 8));
        lo = _mm512_and_si512(raw, m4);
        hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
    } else if constexpr (F == Legacy::Q8_0) {
        const int words = 17 * count;
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        lo = _mm512_xor_si512(
            _mm512_permutex2var_epi16(load_words(blk, words), load_table(kQuantPermutes.q8_0_lo),
                                      load_words(blk + 64, words - 32)),
            flip);
        hi = _mm512_xor_si512(_mm512_permutex2var_epi16(load_words(blk + 18, words - 9),
                                                        load_table(kQuantPermutes.q8_0_hi),
                                                        load_words(blk + 72, words - 36)),
                              flip);
    } else {
        // Q4_0 (a word permute measured slower than these 128-bit loads when
        // unpacking) and Q5_0 / Q5_1: lanes 0..3 hold the 16 nibble bytes of
        // blocks 0..3.
        const __m512i raw = gather_halves(blk + Fmt::qs, Fmt::bytes, count, 0);
        lo = _mm512_and_si512(raw, m4);
        hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        if constexpr (F == Legacy::Q4_0) return;
        uint64_t klo = 0, khi = 0;
        for (int j = 0; j < count; ++j) {
            const uint32_t qh = load_u32(blk + static_cast<size_t>(j) * Fmt::bytes + Fmt::qh);
            klo |= static_cast<uint64_t>(qh & 0xFFFF) << (16 * j);
            khi |= static_cast<uint64_t>(qh >> 16) << (16 * j);
        }
        const __m512i bit4 = _mm512_set1_epi8(0x10);
        lo = _mm512_or_si512(lo, _mm512_maskz_mov_epi8(klo, bit4));
        hi = _mm512_or_si512(hi, _mm512_maskz_mov_epi8(khi, bit4));
    }
}

}  // namespace
}  // namespace pensieve::kernels::avx512
