// AVX-512 VNNI packed matmul path (PackedGemm in dispatch.hpp) for the
// 32-element block formats and Q4_K / Q5_K.
//
// Small batches skip the unpacking (each weight is used once or a few times,
// so writing it to a buffer costs as much as the dots): gemv.cpp reads the
// 32-element formats' blocks at b = 1..7, gemv_k.cpp the K super-blocks at
// b = 1..7 (up to three rows per pass). Larger batches unpack tiles of
// weight rows once and run the register-tiled micro-kernel below over them.
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
//               (Q4_K / Q5_K keep their sub-block scales as integers in the
//               dx area instead: see unpack_k and micro_k)
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/legacy_blocks.hpp"
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
// is block 8i + j with m = -dmin * min_j. The scales stay integers (micro_k):
// the dx area of super-block i (two groups, 128 bytes) holds the int16
// scale vector of micro_k's packed lane sums (int16 g = 8L + e of 128-bit
// lane L: scale L for e < 4, else scale 4 + L), then d as a float.
template <bool kFive>
void unpack_k(const uint8_t* src, int64_t k, uint8_t* dst) {
    const Geometry geo(k);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // 128-bit lanes [L0, L0, L2, L2] shifted by [0, 4, 0, 4]: see unpack below.
    const __m512i shifts = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    alignas(64) int16_t idx[32];
    for (int g = 0; g < 32; ++g) idx[g] = static_cast<int16_t>(g / 8 + (g % 8 >= 4 ? 4 : 0));
    const __m512i sidx = _mm512_load_si512(idx);
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
        // The eight 6-bit scales and mins (k4_scale_min) as bytes, four per
        // word, unpacked in registers: a scalar loop here spilled bytes and
        // reloaded them as words, a store-forwarding stall per sub-block that
        // took 40% of the unpacking time.
        const uint32_t s0 = load_u32(scales), s1 = load_u32(scales + 4), s2 = load_u32(scales + 8);
        const uint32_t sc_lo = s0 & 0x3F3F3F3Fu;
        const uint32_t sc_hi = (s2 & 0x0F0F0F0Fu) | ((s0 >> 2) & 0x30303030u);
        const uint32_t mn_lo = s1 & 0x3F3F3F3Fu;
        const uint32_t mn_hi = ((s2 >> 4) & 0x0F0F0F0Fu) | ((s1 >> 2) & 0x30303030u);
        const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(
            _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), 0, 0)));
        _mm512_storeu_si512(dx + 32 * i, _mm512_permutexvar_epi16(sidx, sc));
        dx[32 * i + 16] = d;
        const __m256 mn =
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32(
                              static_cast<int>(mn_lo), static_cast<int>(mn_hi), 0, 0))),
                          _mm256_set1_ps(-dmin));
        _mm256_storeu_ps(m + 8 * i, mn);
    }
    for (int64_t j = geo.nb; j < geo.n16 * 16; ++j) m[j] = 0.0f;
}

// ---- micro-kernel ----------------------------------------------------------

// y[c][r] for R weight rows x C activation rows over the whole k.
// kOffset: the weights carry an integer offset 2^shift (Q4_0 / Q5_0 / Q8_0);
// otherwise a float m per block.
// The formats with a minimum (Q4_1, Q5_1, Q4_K, Q5_K): each weight row's
// per-group mins times the activations' group sums, added to the products.
template <int R, int C>
__attribute__((always_inline)) inline void add_mins(const Geometry& geo, const uint8_t* w,
                                                    size_t w_stride, const uint8_t* const* act,
                                                    __m512 (&acc)[R][C]) {
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

// Each accumulator's lanes summed into its output.
template <int R, int C>
__attribute__((always_inline)) inline void store_sums(const __m512 (&acc)[R][C], float* y,
                                                      int64_t y_stride) {
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
}

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
            // The integer offset's share (Σa << shift), subtracted once per
            // activation row by starting every row's sums from its negation.
            __m512i start = _mm512_setzero_si512();
            if constexpr (kOffset)
                start =
                    _mm512_sub_epi32(start, _mm512_sll_epi32(load512(a + a_isum + g * 64), count));
            for (int r = 0; r < R; ++r) {
                const uint8_t* wr = w + static_cast<size_t>(r) * w_stride;
                __m512i p = _mm512_dpbusd_epi32(start, load512(wr + g * 128), alo);
                p = _mm512_dpbusd_epi32(p, load512(wr + g * 128 + 64), ahi);
                const __m512 scale = _mm512_mul_ps(dxa, _mm512_loadu_ps(wr + w_dx + g * 64));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), scale, acc[r][c]);
            }
        }
    }
    if constexpr (!kOffset) add_mins<R, C>(geo, w, w_stride, act, acc);
    store_sums<R, C>(acc, y, y_stride);
}

template <int R, bool kOffset>
void micro_c(int c_count, const Geometry& geo, const uint8_t* w, size_t w_stride,
             const uint8_t* const* act, int shift, float* y, int64_t y_stride) {
    with_count<4>(c_count, [&](auto c) {
        micro<R, decltype(c)::value, kOffset>(geo, w, w_stride, act, shift, y, y_stride);
    });
}

template <bool kOffset>
void micro_rc(int r_count, int c_count, const Geometry& geo, const uint8_t* w, size_t w_stride,
              const uint8_t* const* act, int shift, float* y, int64_t y_stride) {
    with_count<4>(r_count, [&](auto r) {
        micro_c<decltype(r)::value, kOffset>(c_count, geo, w, w_stride, act, shift, y, y_stride);
    });
}

// The same kernels from kTileMinBatch rows on, where every batch unpacks
// tiles: long runs of tiles per task, so that the prefetch of the next tile
// (in tile()) reads this thread's next weights. Smaller batches keep the
// task sizes their streaming GEMVs were tuned with.
constexpr int64_t kTileMinBatch = 8;

// Q4_K / Q5_K (weights from unpack_k, Q8_K activations): per super-block
// and row pair, vpdpbusd leaves eight products per int32 lane (one sub-block
// per four lanes; |sum| <= 8 * 31 * 128 fits int16), vpackssdw packs the two
// groups' lanes to int16 and vpdpwssd scales them by the integer sub-block
// scales, so the super-block's sum is exact in int32 and takes one float
// multiply-add instead of two multiplies and two multiply-adds.
template <int R, int C>
void micro_k(const Geometry& geo, const uint8_t* w, size_t w_stride, const uint8_t* const* act,
             float* y, int64_t y_stride) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const size_t a_dx = geo.act_dx(), w_dx = geo.w_dx();
    const __m512i z = _mm512_setzero_si512();
    for (int64_t i = 0; i < geo.ng / 2; ++i) {
        __m512i wq[R][4], scales[R];
        float dw[R];
        for (int r = 0; r < R; ++r) {
            const uint8_t* wr = w + static_cast<size_t>(r) * w_stride;
            for (int v = 0; v < 4; ++v) wq[r][v] = load512(wr + i * 256 + 64 * v);
            scales[r] = load512(wr + w_dx + i * 128);
            dw[r] = *reinterpret_cast<const float*>(wr + w_dx + i * 128 + 64);
        }
        for (int c = 0; c < C; ++c) {
            const uint8_t* a = act[c] + i * 256;
            const __m512i a0 = load512(a), a1 = load512(a + 64), a2 = load512(a + 128),
                          a3 = load512(a + 192);
            const float da = reinterpret_cast<const float*>(act[c] + a_dx)[32 * i];
            for (int r = 0; r < R; ++r) {
                const __m512i p0 =
                    _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, wq[r][0], a0), wq[r][1], a1);
                const __m512i p1 =
                    _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, wq[r][2], a2), wq[r][3], a3);
                const __m512i isum = _mm512_dpwssd_epi32(z, _mm512_packs_epi32(p0, p1), scales[r]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(dw[r] * da),
                                            acc[r][c]);
            }
        }
    }
    add_mins<R, C>(geo, w, w_stride, act, acc);
    store_sums<R, C>(acc, y, y_stride);
}

// Two weight rows (eight vectors of a super-block, held in registers) by six
// activation rows: on 1B-sized shapes 42-44 ms where 4 x 4 (weights reloaded
// per activation row) took 49-50 and the float-scaled kernel 45-48.
constexpr int kKRows = 2, kKCols = 6;
static_assert(kKRows == 2, "tile_k handles one leftover row");

template <int R>
void micro_k_c(int c_count, const Geometry& geo, const uint8_t* w, size_t w_stride,
               const uint8_t* const* act, float* y, int64_t y_stride) {
    with_count<kKCols>(c_count, [&](auto c) {
        micro_k<R, decltype(c)::value>(geo, w, w_stride, act, y, y_stride);
    });
}

template <bool kFive>
void tile_k(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    const Geometry geo(a.k);
    const size_t w_stride = geo.w_bytes();
    auto* buf = static_cast<uint8_t*>(work);
    const auto* wsrc = static_cast<const uint8_t*>(a.w);
    for (int64_t r = r0; r < r1; ++r)
        unpack_k<kFive>(wsrc + static_cast<size_t>(r) * a.w_stride, a.k,
                        buf + static_cast<size_t>(r - r0) * w_stride);
    const auto* abase = static_cast<const uint8_t*>(a.act);
    const int64_t parts = (a.b + kKCols - 1) / kKCols;
    for (int64_t c = 0; c < a.b; c += kKCols) {
        if (a.b >= kTileMinBatch) prefetch_next_tile(a.w, a.w_stride, r1, c / kKCols, parts);
        const int cn = static_cast<int>(a.b - c < kKCols ? a.b - c : kKCols);
        const uint8_t* act[kKCols];
        for (int j = 0; j < kKCols; ++j)
            act[j] = abase + static_cast<size_t>(c + (j < cn ? j : 0)) * a.act_stride;
        for (int64_t r = r0; r < r1; r += kKRows) {
            const uint8_t* wb = buf + static_cast<size_t>(r - r0) * w_stride;
            float* y = a.y + c * a.y_stride + r;
            if (r1 - r >= kKRows) {
                micro_k_c<kKRows>(cn, geo, wb, w_stride, act, y, a.y_stride);
            } else {
                micro_k_c<1>(cn, geo, wb, w_stride, act, y, a.y_stride);  // the odd last row
            }
        }
    }
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
    const int64_t parts = (a.b + 3) / 4;
    for (int64_t c = 0; c < a.b; c += 4) {
        if (a.b >= kTileMinBatch) prefetch_next_tile(a.w, a.w_stride, r1, c / 4, parts);
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

template <Legacy F>
void legacy_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    if (a.b <= kMaxGemvCols) {
        gemv_tile(a, r0, r1, LegacyFormat<F>::type);
    } else {
        tile<unpack_legacy<F>, !LegacyFormat<F>::has_m, LegacyFormat<F>::shift>(a, r0, r1, work);
    }
}

// b < kTileMinBatch: the fused GEMV (no unpacking to a buffer), in passes
// of two to four rows from b = 5 on; larger batches amortise the unpacking.
// Batched decode of four sequences (1B-shaped Q4_K_M, 2 threads, Zen 4):
// 59-65 tok/s with the unpacking from b = 4, 76 with the passes.
template <bool kFive>
void k_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    if (a.b <= 4) {
        gemv_k_tile(a, r0, r1, kFive);
    } else if (a.b < kTileMinBatch) {
        // Passes of two to four activation rows of the fused GEMV over the
        // tile: its weights come from memory in the first pass and from
        // cache after, and nothing is unpacked.
        const int64_t passes = (a.b + 3) / 4;
        for (int64_t p = 0, c = 0; p < passes; ++p) {
            const int64_t n = (a.b - c) / (passes - p);
            PackedGemmArgs part = a;
            part.act = static_cast<const uint8_t*>(a.act) + static_cast<size_t>(c) * a.act_stride;
            part.b = n;
            part.y = a.y + c * a.y_stride;
            gemv_k_tile(part, r0, r1, kFive);
            c += n;
        }
    } else {
        tile_k<kFive>(a, r0, r1, work);
    }
}

template <Legacy F>
constexpr PackedGemm legacy_entry() {
    return PackedGemm{act_bytes, work_bytes, pack_act_q8_0, legacy_tile<F>};
}

constexpr PackedGemm large(PackedGemm p) {
    p.min_batch = kTileMinBatch;
    p.long_runs = true;
    return p;
}

}  // namespace

void register_gemm(KernelTable& table) {
    using T = TensorType;
    packed_row(table, T::Q4_0) = legacy_entry<Legacy::Q4_0>();
    packed_row(table, T::Q4_1) = legacy_entry<Legacy::Q4_1>();
    packed_row(table, T::Q5_0) = legacy_entry<Legacy::Q5_0>();
    packed_row(table, T::Q5_1) = legacy_entry<Legacy::Q5_1>();
    packed_row(table, T::Q8_0) = legacy_entry<Legacy::Q8_0>();
    packed_row(table, T::Q4_K) = PackedGemm{act_bytes, work_bytes, pack_act_q8_k, k_tile<false>};
    packed_row(table, T::Q5_K) = PackedGemm{act_bytes, work_bytes, pack_act_q8_k, k_tile<true>};
    packed_row(table, T::Q6_K) = q6_k_entry();
    const T tiled[] = {T::Q4_0, T::Q4_1, T::Q5_0, T::Q5_1, T::Q8_0, T::Q4_K, T::Q5_K};
    for (T t : tiled) packed_large_row(table, t) = large(packed_row(table, t));
    packed_large_row(table, T::Q6_K) = q6_k_tile_entry();
}

}  // namespace pensieve::kernels::avx512
