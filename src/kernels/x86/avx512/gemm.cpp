// AVX-512 VNNI packed matmul path (PackedGemm in dispatch.hpp) for the
// 32-element block formats and Q4_K / Q5_K.
//
// Small batches skip the unpacking (each weight is used once or a few times,
// so writing it to a buffer costs as much as the dots): gemv_rows reads the
// 32-element formats' blocks at b = 1..7, gemv_k_rows the K super-blocks at
// b = 1..3. Larger batches unpack tiles of weight rows once and run the
// register-tiled micro-kernel below over them.
//
// Both operands are brought to one shape so that a single micro-kernel serves
// every format and every batch size:
//
//   group g = 4 blocks of 32 = 128 elements, held as two 64-byte vectors:
//     lo = [blk0 e0..15 | blk1 e0..15 | blk2 e0..15 | blk3 e0..15]
//     hi = [blk0 e16..31 | ...                      | blk3 e16..31]
//   so that vpdpbusd(lo) + vpdpbusd(hi) leaves block j's sum in int32 lanes
//   4j..4j+3, and one float vector of per-lane scales ("dx", each block's
//   scale repeated 4 times) weights all four blocks at once. This is also the
//   natural nibble order of Q4_0/Q4_1/Q5_x (low nibbles = elements 0..15).
//
// Weights (unpacked per tile into a per-thread buffer): unsigned quants u
// (0..255) with x = dx * (u - offset) + m per block. offset is 8 / 16 / 128
// for Q4_0 / Q5_0 / Q8_0 (applied exactly, in int32, through the activation
// block sums), m the float offset of Q4_1 / Q5_1 / Q4_K / Q5_K.
//
// Activations (packed once per matmul): the int8 quants and scales of the
// format's vec_dot_type (Q8_0 or Q8_K, quantized by the exact quantizers, so
// the arithmetic is the reference vec_dot's up to summation order), plus per
// group the int32 quant sums per lane (for the offset) and per block s = d *
// Σq (for m).
//
// Row layouts (nb blocks, ng = ceil(nb / 4) groups, n16 = ceil(nb / 16)),
// zero-padded past the last block:
//   activation: qs[ng][128] int8 | dx[ng][16] f32 | isum[ng][16] i32 | s[n16][16] f32
//   weights:    q[ng][128] uint8 | dx[ng][16] f32 | m[n16][16] f32
// GCC 12's AVX-512 headers build "undefined" vectors as `__m512 __Y = __Y;`,
// which -Wuninitialized flags wherever they are inlined (GCC bug 105593,
// fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/k_scales.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/quantize_256.hpp"

namespace pensieve::kernels::avx512 {
namespace {

size_t act_bytes(int64_t k) {
    return Geometry(k).act_bytes();
}

size_t work_bytes(int64_t k) {
    return Geometry(k).w_bytes() * static_cast<size_t>(kPackedTileRows);
}

// Lane i of the result = v[4 * q + i / 4]: block scales of group q of a
// 16-block chunk, each repeated over the block's four lanes.
inline __m512 expand_group(__m512 v, int q) {
    const __m512i idx = _mm512_add_epi32(
        _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                          2),
        _mm512_set1_epi32(4 * q));
    return _mm512_permutexvar_ps(idx, v);
}

// ---- activations -----------------------------------------------------------

// Writes group g of a packed activation row from its int8 quants (lo, hi as
// in the header) and per-block scales d[0..3] (blocks past the row are zero).
inline void put_act_group(uint8_t* row, const Geometry& geo, int64_t g, __m512i lo, __m512i hi,
                          const float* d) {
    _mm512_storeu_si512(row + g * 128, lo);
    _mm512_storeu_si512(row + g * 128 + 64, hi);
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i isum =
        _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, lo), ones, hi);
    _mm512_storeu_si512(row + geo.act_isum() + g * 64, isum);
    alignas(64) int32_t sums[16];
    _mm512_store_si512(sums, isum);
    auto* dx = reinterpret_cast<float*>(row + geo.act_dx()) + g * 16;
    auto* s = reinterpret_cast<float*>(row + geo.act_s()) + g * 4;
    for (int j = 0; j < 4; ++j) {
        for (int l = 0; l < 4; ++l) dx[4 * j + l] = d[j];
        s[j] = d[j] * static_cast<float>(sums[4 * j] + sums[4 * j + 1] + sums[4 * j + 2] +
                                         sums[4 * j + 3]);
    }
}

// Zeroes the per-block s entries past the last group (up to n16 * 16).
inline void clear_s_tail(uint8_t* row, const Geometry& geo) {
    auto* s = reinterpret_cast<float*>(row + geo.act_s());
    for (int64_t i = geo.ng * 4; i < geo.n16 * 16; ++i) s[i] = 0.0f;
}

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

// Q8_0 activations (for the 32-element weight formats).
void pack_act_q8_0(const float* x, void* dst, int64_t k) {
    const Geometry geo(k);
    auto* row = static_cast<uint8_t*>(dst);
    for (int64_t g = 0; g < geo.ng; ++g) {
        const int count = static_cast<int>(geo.nb - 4 * g < 4 ? geo.nb - 4 * g : 4);
        BlockQ8_0 blocks[4] = {};
        x86::quantize_q8_0(x + g * 128, blocks, count * kQK);
        float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int j = 0; j < count; ++j) d[j] = half(blocks[j].d);
        // Blocks past the row stay all-zero (from the initializer).
        const auto* base = reinterpret_cast<const uint8_t*>(blocks[0].qs);
        put_act_group(row, geo, g, gather_halves(base, sizeof(BlockQ8_0), 4, 0),
                      gather_halves(base, sizeof(BlockQ8_0), 4, 1), d);
    }
    clear_s_tail(row, geo);
}

// Q8_K activations (for Q4_K / Q5_K): one scale per 256, repeated per block.
void pack_act_q8_k(const float* x, void* dst, int64_t k) {
    const Geometry geo(k);
    auto* row = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        BlockQ8_K blk;
        x86::quantize_q8_k(x + i * kQKK, &blk, kQKK);
        const float d[4] = {blk.d, blk.d, blk.d, blk.d};
        for (int h = 0; h < 2; ++h) {
            const auto* base = reinterpret_cast<const uint8_t*>(blk.qs + 128 * h);
            put_act_group(row, geo, 2 * i + h, gather_halves(base, 32, 4, 0),
                          gather_halves(base, 32, 4, 1), d);
        }
    }
    clear_s_tail(row, geo);
}

// ---- weight unpacking ------------------------------------------------------

// 32-element formats: q at qs_off (16 nibble bytes, or 32 bytes for Q8_0),
// f16 d at 0 and, for the offset formats, f16 m at 2; Q5 high bits at qh_off.
enum class Legacy { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 };

template <Legacy F>
struct LegacyFormat;
template <>
struct LegacyFormat<Legacy::Q4_0> {
    static constexpr size_t bytes = sizeof(BlockQ4_0), qs = 2, qh = 0;
    static constexpr bool has_m = false;
    static constexpr float offset = 8.0f;
};
template <>
struct LegacyFormat<Legacy::Q4_1> {
    static constexpr size_t bytes = sizeof(BlockQ4_1), qs = 4, qh = 0;
    static constexpr bool has_m = true;
    static constexpr float offset = 0.0f;
};
template <>
struct LegacyFormat<Legacy::Q5_0> {
    static constexpr size_t bytes = sizeof(BlockQ5_0), qs = 6, qh = 2;
    static constexpr bool has_m = false;
    static constexpr float offset = 16.0f;
};
template <>
struct LegacyFormat<Legacy::Q5_1> {
    static constexpr size_t bytes = sizeof(BlockQ5_1), qs = 8, qh = 4;
    static constexpr bool has_m = true;
    static constexpr float offset = 0.0f;
};
template <>
struct LegacyFormat<Legacy::Q8_0> {
    static constexpr size_t bytes = sizeof(BlockQ8_0), qs = 2, qh = 0;
    static constexpr bool has_m = false;
    static constexpr float offset = 128.0f;
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

// Scales of blocks 16c..16c+15 (zero past the row): one gather of the
// leading 32 bits of each block (d, and m for the offset formats).
template <Legacy F>
inline __m512i gather_scales(const uint8_t* src, const Geometry& geo, int64_t c) {
    using Fmt = LegacyFormat<F>;
    const __m512i vindex =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(static_cast<int>(Fmt::bytes)));
    const int64_t valid = geo.nb - 16 * c < 16 ? geo.nb - 16 * c : 16;
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, vindex,
                                       src + static_cast<size_t>(16 * c) * Fmt::bytes, 1);
}

inline __m512 scales_d(__m512i raw) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
}

inline __m512 scales_m(__m512i raw) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(raw, 16)));
}

template <Legacy F>
void unpack_legacy(const uint8_t* src, int64_t k, uint8_t* dst) {
    using Fmt = LegacyFormat<F>;
    const Geometry geo(k);
    for (int64_t g = 0; g < geo.ng; ++g) {
        const int count = static_cast<int>(geo.nb - 4 * g < 4 ? geo.nb - 4 * g : 4);
        __m512i lo, hi;
        load_group<F>(src + static_cast<size_t>(4 * g) * Fmt::bytes, count, lo, hi);
        _mm512_storeu_si512(dst + g * 128, lo);
        _mm512_storeu_si512(dst + g * 128 + 64, hi);
    }
    auto* dx = reinterpret_cast<float*>(dst + geo.w_dx());
    auto* m = reinterpret_cast<float*>(dst + geo.w_m());
    for (int64_t c = 0; c < geo.n16; ++c) {
        const __m512i raw = gather_scales<F>(src, geo, c);
        const __m512 d = scales_d(raw);
        if constexpr (Fmt::has_m) {
            _mm512_storeu_ps(m + 16 * c, scales_m(raw));
        } else {
            _mm512_storeu_ps(m + 16 * c, _mm512_setzero_ps());
        }
        for (int q = 0; q < 4 && 4 * c + q < geo.ng; ++q)
            _mm512_storeu_ps(dx + (4 * c + q) * 16, expand_group(d, q));
    }
}

// Q4_K / Q5_K: each super-block is two groups; sub-block j of super-block i
// is block 8i + j with dx = d * scale_j and m = -dmin * min_j.
template <bool kFive>
void unpack_k(const uint8_t* src, int64_t k, uint8_t* dst) {
    const Geometry geo(k);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // 128-bit lanes [L0, L0, L2, L2] shifted by [0, 4, 0, 4]: see unpack below.
    const __m512i shifts = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    auto* dx = reinterpret_cast<float*>(dst + geo.w_dx());
    auto* m = reinterpret_cast<float*>(dst + geo.w_m());
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const uint8_t* b =
            src + static_cast<size_t>(i) * (kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
        const uint8_t* scales = b + 4;
        const uint8_t* qs = kFive ? b + 16 + 32 : b + 16;
        uint16_t hd = 0, hdmin = 0;
        __builtin_memcpy(&hd, b, 2);
        __builtin_memcpy(&hdmin, b + 2, 2);
        const float d = half(hd), dmin = half(hdmin);
        for (int h = 0; h < 2; ++h) {
            // Blocks 4h..4h+3 = low / high nibbles of qs[64h..64h+31], then of
            // qs[64h+32..64h+63]; their elements 0..15 come from 128-bit lanes
            // 0 and 2 of these 64 bytes, elements 16..31 from lanes 1 and 3.
            const __m512i x = load512(qs + 64 * h);
            const __m512i lo_src = _mm512_shuffle_i64x2(x, x, 0xA0);  // lanes 0,0,2,2
            const __m512i hi_src = _mm512_shuffle_i64x2(x, x, 0xF5);  // lanes 1,1,3,3
            __m512i lo = _mm512_and_si512(_mm512_srlv_epi64(lo_src, shifts), m4);
            __m512i hi = _mm512_and_si512(_mm512_srlv_epi64(hi_src, shifts), m4);
            if constexpr (kFive) {
                // Bit j of qh[l] is bit 4 of element l of sub-block j.
                const uint8_t* qh = b + 16;
                // Every byte of 128-bit lane j selects bit 4h + j.
                const auto bit = [h](int j) {
                    return static_cast<int>(0x01010101u << (4 * h + j));
                };
                const __m512i sel = _mm512_setr_epi32(
                    bit(0), bit(0), bit(0), bit(0), bit(1), bit(1), bit(1), bit(1), bit(2), bit(2),
                    bit(2), bit(2), bit(3), bit(3), bit(3), bit(3));
                const __m512i q_lo =
                    _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qh)));
                const __m512i q_hi = _mm512_broadcast_i32x4(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 16)));
                const __m512i bit4 = _mm512_set1_epi8(0x10);
                lo = _mm512_or_si512(lo,
                                     _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(q_lo, sel), bit4));
                hi = _mm512_or_si512(hi,
                                     _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(q_hi, sel), bit4));
            }
            _mm512_storeu_si512(dst + (2 * i + h) * 128, lo);
            _mm512_storeu_si512(dst + (2 * i + h) * 128 + 64, hi);
        }
        for (int j = 0; j < 8; ++j) {
            int sc = 0, mn = 0;
            k4_scale_min(scales, j, sc, mn);
            const float s = d * static_cast<float>(sc);
            for (int l = 0; l < 4; ++l) dx[(8 * i + j) * 4 + l] = s;
            m[8 * i + j] = -dmin * static_cast<float>(mn);
        }
    }
    for (int64_t j = geo.nb; j < geo.n16 * 16; ++j) m[j] = 0.0f;
}

// ---- micro-kernel ----------------------------------------------------------

// y[c][r] for R weight rows x C activation rows over the whole k.
// kOffset: the weights carry an integer offset 2^shift (Q4_0 / Q5_0 / Q8_0);
// otherwise a float m per block.
template <int R, int C, bool kOffset>
void micro(const Geometry& geo, const uint8_t* w, size_t w_stride, const uint8_t* const* act,
           int shift, float* y, int64_t y_stride) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const __m128i count = _mm_cvtsi32_si128(shift);
    const size_t a_dx = geo.act_dx(), a_isum = geo.act_isum(), w_dx = geo.w_dx();
    for (int64_t g = 0; g < geo.ng; ++g) {
        for (int c = 0; c < C; ++c) {
            const uint8_t* a = act[c];
            const __m512i alo = load512(a + g * 128);
            const __m512i ahi = load512(a + g * 128 + 64);
            const __m512 dxa = _mm512_loadu_ps(a + a_dx + g * 64);
            __m512i off = _mm512_setzero_si512();
            if constexpr (kOffset) off = _mm512_sll_epi32(load512(a + a_isum + g * 64), count);
            for (int r = 0; r < R; ++r) {
                const uint8_t* wr = w + static_cast<size_t>(r) * w_stride;
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), load512(wr + g * 128), alo);
                p = _mm512_dpbusd_epi32(p, load512(wr + g * 128 + 64), ahi);
                if constexpr (kOffset) p = _mm512_sub_epi32(p, off);
                const __m512 scale = _mm512_mul_ps(dxa, _mm512_loadu_ps(wr + w_dx + g * 64));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), scale, acc[r][c]);
            }
        }
    }
    if constexpr (!kOffset) {
        const size_t a_s = geo.act_s(), w_m = geo.w_m();
        for (int64_t j = 0; j < geo.n16; ++j) {
            for (int c = 0; c < C; ++c) {
                const __m512 s = _mm512_loadu_ps(act[c] + a_s + j * 64);
                for (int r = 0; r < R; ++r) {
                    const uint8_t* wr = w + static_cast<size_t>(r) * w_stride;
                    acc[r][c] = _mm512_fmadd_ps(_mm512_loadu_ps(wr + w_m + j * 64), s, acc[r][c]);
                }
            }
        }
    }
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
}

template <int R, bool kOffset>
void micro_c(int c_count, const Geometry& geo, const uint8_t* w, size_t w_stride,
             const uint8_t* const* act, int shift, float* y, int64_t y_stride) {
    switch (c_count) {
        case 1:
            micro<R, 1, kOffset>(geo, w, w_stride, act, shift, y, y_stride);
            break;
        case 2:
            micro<R, 2, kOffset>(geo, w, w_stride, act, shift, y, y_stride);
            break;
        case 3:
            micro<R, 3, kOffset>(geo, w, w_stride, act, shift, y, y_stride);
            break;
        default:
            micro<R, 4, kOffset>(geo, w, w_stride, act, shift, y, y_stride);
            break;
    }
}

template <bool kOffset>
void micro_rc(int r_count, int c_count, const Geometry& geo, const uint8_t* w, size_t w_stride,
              const uint8_t* const* act, int shift, float* y, int64_t y_stride) {
    switch (r_count) {
        case 1:
            micro_c<1, kOffset>(c_count, geo, w, w_stride, act, shift, y, y_stride);
            break;
        case 2:
            micro_c<2, kOffset>(c_count, geo, w, w_stride, act, shift, y, y_stride);
            break;
        case 3:
            micro_c<3, kOffset>(c_count, geo, w, w_stride, act, shift, y, y_stride);
            break;
        default:
            micro_c<4, kOffset>(c_count, geo, w, w_stride, act, shift, y, y_stride);
            break;
    }
}

// b = 1..4 for the 32-element formats: the weights go straight from their
// blocks into the dot products with C activation rows (unpacking to a
// buffer first costs as much as the dots when each weight is used a few
// times), R weight rows sharing the activation loads. Each group's block scales come out of the vectors loaded from its
// first bytes (one word permute); a 16-block gather of them per row cost
// more than the rest of the loop. The offsets m of Q4_1 / Q5_1 are applied
// per lane with the activation's dx * isum. Rows stream from memory, so each
// prefetches ahead (packed.hpp).
template <Legacy F, int R, int C>
void gemv_rows(const Geometry& geo, const uint8_t* w, size_t w_stride, const uint8_t* const* act,
               int shift, float* y, int64_t y_stride) {
    using Fmt = LegacyFormat<F>;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // Words [d0 x4, d1 x4, d2 x4, d3 x4] (and for Q4_1 / Q5_1 [m0 x4, ...]
    // after them) of the group's words 0..31 and 32..63: blocks of kWords
    // words have d at word kWords * j and m at kWords * j + 1.
    constexpr int kWords = static_cast<int>(Fmt::bytes / 2);
    const auto pair = [](int word) { return (word << 16) | word; };
    const auto m_pair = [&pair](int word) { return Fmt::has_m ? pair(word + 1) : 0; };
    const __m512i sc_idx = _mm512_setr_epi32(
        pair(0), pair(0), pair(kWords), pair(kWords), pair(2 * kWords), pair(2 * kWords),
        pair(3 * kWords), pair(3 * kWords), m_pair(0), m_pair(0), m_pair(kWords),
        m_pair(kWords), m_pair(2 * kWords), m_pair(2 * kWords), m_pair(3 * kWords),
        m_pair(3 * kWords));
    const __m512i q4_idx =
        _mm512_setr_epi32(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 28, 29, 30, 31);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const __m128i count_shift = _mm_cvtsi32_si128(shift);
    const size_t a_dx = geo.act_dx(), a_isum = geo.act_isum();
    const size_t row_bytes = static_cast<size_t>(geo.nb) * Fmt::bytes;
    const size_t skip = R * w_stride - row_bytes;
    for (int64_t g = 0; g < geo.ng; ++g) {
        const int count = static_cast<int>(geo.nb - 4 * g < 4 ? geo.nb - 4 * g : 4);
        __m512 dxa[C], s_lane[C];
        __m512i off[C];
        for (int c = 0; c < C; ++c) {
            dxa[c] = _mm512_loadu_ps(act[c] + a_dx + g * 64);
            const __m512i isum = load512(act[c] + a_isum + g * 64);
            off[c] = _mm512_setzero_si512();
            s_lane[c] = _mm512_setzero_ps();
            if constexpr (Fmt::has_m) {
                s_lane[c] = _mm512_mul_ps(dxa[c], _mm512_cvtepi32_ps(isum));
            } else {
                off[c] = _mm512_sll_epi32(isum, count_shift);
            }
        }
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + static_cast<size_t>(r) * w_stride;
            const size_t pos = static_cast<size_t>(4 * g) * Fmt::bytes;
            const uint8_t* blk = row + pos;
            __m512i lo, hi, sc;
            prefetch_ahead<2, F == Legacy::Q4_0 ? 1024 : 1536>(row, pos, row_bytes, skip);
            if constexpr (F == Legacy::Q4_0 || F == Legacy::Q5_0 || F == Legacy::Q5_1) {
                // The nibble bytes by 128-bit loads (for Q4_0 a word permute
                // of two vectors measured 5% slower).
                const int words = kWords * count;
                load_group<F>(blk, count, lo, hi);
                if constexpr (3 * kWords + 1 < 32) {  // Q4_0: the scales in words 0..31
                    sc = _mm512_permutexvar_epi16(sc_idx, load_words(blk, words));
                } else {
                    sc = _mm512_permutex2var_epi16(load_words(blk, words), sc_idx,
                                                   load_words(blk + 64, words - 32));
                }
            } else if constexpr (F == Legacy::Q4_1) {
                const int words = 10 * count;
                const __m512i v0 = load_words(blk, words);
                const __m512i raw =
                    _mm512_permutex2var_epi32(v0, q4_idx, load_words(blk + 16, words - 8));
                lo = _mm512_and_si512(raw, m4);
                hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
                sc = _mm512_permutexvar_epi16(sc_idx, v0);
            } else {
                const int words = 17 * count;
                const __m512i c0 = load_words(blk, words), c1 = load_words(blk + 64, words - 32);
                lo = _mm512_xor_si512(
                    _mm512_permutex2var_epi16(c0, load_table(kQuantPermutes.q8_0_lo), c1), flip);
                hi = _mm512_xor_si512(_mm512_permutex2var_epi16(load_words(blk + 18, words - 9),
                                                                load_table(kQuantPermutes.q8_0_hi),
                                                                load_words(blk + 72, words - 36)),
                                      flip);
                sc = _mm512_permutex2var_epi16(c0, sc_idx, c1);
            }
            // Lanes of blocks past the row hold garbage scales: zero them.
            const auto valid = static_cast<__mmask16>((1u << (4 * count)) - 1u);
            const __m512 d = _mm512_maskz_cvtph_ps(valid, _mm512_castsi512_si256(sc));
            __m512 m = _mm512_setzero_ps();
            if constexpr (Fmt::has_m)
                m = _mm512_maskz_cvtph_ps(valid, _mm512_extracti64x4_epi64(sc, 1));
            for (int c = 0; c < C; ++c) {
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, load512(act[c] + g * 128));
                p = _mm512_dpbusd_epi32(p, hi, load512(act[c] + g * 128 + 64));
                if constexpr (Fmt::has_m) {
                    acc[r][c] = _mm512_fmadd_ps(m, s_lane[c], acc[r][c]);
                } else {
                    p = _mm512_sub_epi32(p, off[c]);
                }
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(d, dxa[c]),
                                            acc[r][c]);
            }
        }
    }
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
}

// Weight rows interleaved per activation-row count C: kGemvRows streams at
// C = 1 (memory-bound), four at C = 2..4 and two at C = 5..7 (R x C
// accumulators in registers). Engine decode of 2..7 sequences (SmolLM2, 2
// threads) against unpacking tiles for b >= 2: x4 290 -> 470 tok/s
// aggregate, x5..x7 +10-20% over a C <= 4 limit.
template <Legacy F, int C>
void gemv_cols(const PackedGemmArgs& a, int64_t r0, int64_t r1, int shift) {
    const Geometry geo(a.k);
    const auto* w = static_cast<const uint8_t*>(a.w);
    const uint8_t* act[C];
    for (int c = 0; c < C; ++c)
        act[c] = static_cast<const uint8_t*>(a.act) + static_cast<size_t>(c) * a.act_stride;
    constexpr int kRows = C == 1 ? kGemvRows : C <= 4 ? 4 : 2;
    int64_t r = r0;
    for (; r + kRows <= r1; r += kRows)
        gemv_rows<F, kRows, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act,
                               shift, a.y + r, a.y_stride);
    if constexpr (kRows > 4 || C > 4) {
        for (; r + 2 <= r1; r += 2)
            gemv_rows<F, 2, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act,
                               shift, a.y + r, a.y_stride);
    }
    for (; r < r1; ++r)
        gemv_rows<F, 1, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act, shift,
                           a.y + r, a.y_stride);
}

// Batches up to this use gemv_rows; larger ones unpack tiles of weight rows
// (and from 8 rows on the AMX table takes over).
constexpr int64_t kMaxGemvCols = 7;

template <Legacy F>
void gemv_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, int shift) {
    using Cols = void (*)(const PackedGemmArgs&, int64_t, int64_t, int);
    static constexpr Cols kCols[kMaxGemvCols] = {gemv_cols<F, 1>, gemv_cols<F, 2>, gemv_cols<F, 3>,
                                                 gemv_cols<F, 4>, gemv_cols<F, 5>, gemv_cols<F, 6>,
                                                 gemv_cols<F, 7>};
    kCols[a.b - 1](a, r0, r1, shift);
}

// One tile of weight rows: unpack them all, then every activation row in
// groups of four against the unpacked rows in groups of four.
template <void (*Unpack)(const uint8_t*, int64_t, uint8_t*), bool kOffset, int kShift>
void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    const Geometry geo(a.k);
    const size_t w_stride = geo.w_bytes();
    auto* buf = static_cast<uint8_t*>(work);
    const auto* wsrc = static_cast<const uint8_t*>(a.w);
    for (int64_t r = r0; r < r1; ++r)
        Unpack(wsrc + static_cast<size_t>(r) * a.w_stride, a.k,
               buf + static_cast<size_t>(r - r0) * w_stride);
    const auto* abase = static_cast<const uint8_t*>(a.act);
    for (int64_t c = 0; c < a.b; c += 4) {
        const int cn = static_cast<int>(a.b - c < 4 ? a.b - c : 4);
        const uint8_t* act[4];
        for (int j = 0; j < 4; ++j)
            act[j] = abase + static_cast<size_t>(c + (j < cn ? j : 0)) * a.act_stride;
        for (int64_t r = r0; r < r1; r += 4) {
            const int rn = static_cast<int>(r1 - r < 4 ? r1 - r : 4);
            micro_rc<kOffset>(rn, cn, geo, buf + static_cast<size_t>(r - r0) * w_stride, w_stride,
                              act, kShift, a.y + c * a.y_stride + r, a.y_stride);
        }
    }
}

template <Legacy F, int kShift>
void legacy_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    if (a.b <= kMaxGemvCols) {
        gemv_tile<F>(a, r0, r1, kShift);
    } else {
        tile<unpack_legacy<F>, !LegacyFormat<F>::has_m, kShift>(a, r0, r1, work);
    }
}

// b < 4: the fused GEMV (each weight read once, no unpacking to a buffer);
// larger batches amortise the unpacking over four or more activation rows.
template <bool kFive>
void k_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    if (a.b < 4) {
        gemv_k_tile(a, r0, r1, kFive);
    } else {
        tile<unpack_k<kFive>, false, 0>(a, r0, r1, work);
    }
}

template <Legacy F, int kShift>
constexpr PackedGemm legacy_entry() {
    return PackedGemm{act_bytes, work_bytes, pack_act_q8_0, legacy_tile<F, kShift>};
}

}  // namespace

void register_gemm(KernelTable& table) {
    using T = TensorType;
    packed_row(table, T::Q4_0) = legacy_entry<Legacy::Q4_0, 3>();
    packed_row(table, T::Q4_1) = legacy_entry<Legacy::Q4_1, 0>();
    packed_row(table, T::Q5_0) = legacy_entry<Legacy::Q5_0, 4>();
    packed_row(table, T::Q5_1) = legacy_entry<Legacy::Q5_1, 0>();
    packed_row(table, T::Q8_0) = legacy_entry<Legacy::Q8_0, 7>();
    packed_row(table, T::Q4_K) = PackedGemm{act_bytes, work_bytes, pack_act_q8_k, k_tile<false>};
    packed_row(table, T::Q5_K) = PackedGemm{act_bytes, work_bytes, pack_act_q8_k, k_tile<true>};
}

}  // namespace pensieve::kernels::avx512
