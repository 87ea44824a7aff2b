// Fused AVX-512 VNNI GEMV for Q4_K / Q5_K, 1..4 activation rows per call
// (gemm.cpp runs larger batches up to 7 in passes): the weights go from
// their super-blocks straight into the dot products with the packed
// activation rows of gemm.cpp (Q8_K quants, see its header), without the
// unpacking to a buffer that larger batches amortise.
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/blocks.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// The 16 packed 6-bit scales and mins of a Q4_K / Q5_K super-block as eight
// bytes each (byte j = sub-block j). See k4_scale_min for the bit layout.
inline void k4_scales_mins(const uint8_t* s, uint64_t& scales, uint64_t& mins) {
    const uint32_t a = load_u32(s), b = load_u32(s + 4), c = load_u32(s + 8);
    const uint32_t sc_hi = (c & 0x0F0F0F0Fu) | (((a >> 6) & 0x03030303u) << 4);
    const uint32_t mn_hi = ((c >> 4) & 0x0F0F0F0Fu) | (((b >> 6) & 0x03030303u) << 4);
    scales = (a & 0x3F3F3F3Fu) | (static_cast<uint64_t>(sc_hi) << 32);
    mins = (b & 0x3F3F3F3Fu) | (static_cast<uint64_t>(mn_hi) << 32);
}

// The pshufb control that spreads half h's sub-block scales over the int16
// lanes of vpackssdw(lo sums, hi sums): in 128-bit lane L, int16 lanes 0-3
// come from the lo vector (sub-block 4h, or 4h + 2 for L >= 2) and 4-7 from
// the hi vector (4h + 1, or 4h + 3); each takes its scale byte, zero-extended,
// from the eight scale bytes repeated in every 64-bit half.
inline __m512i scale_control(int h) {
    const auto pair = [](int j) { return static_cast<int>(0x80008000u | (j << 16) | j); };
    const int a = pair(4 * h), b = pair(4 * h + 1), c = pair(4 * h + 2), d = pair(4 * h + 3);
    return _mm512_setr_epi32(a, a, b, b, a, a, b, b, c, c, d, d, c, c, d, d);
}

// Half h of super-block i (64 bytes of qs, sub-blocks 4h..4h+3) loads as x;
// x & 15 holds sub-blocks 4h and 4h+2 in 128-bit lanes [0-1 | 2-3] and x >> 4
// sub-blocks 4h+1 and 4h+3. The packed activation groups (lo / hi, see
// gemm.cpp's header) are permuted to match once per task and column: vector
// 4i + 2h of a column's permuted quants meets x & 15, 4i + 2h + 1 meets x >> 4.
void permute_act(const uint8_t* act, int64_t k, uint8_t* out) {
    const __m512i idx_a = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i idx_b = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int64_t g = 0; g < 2 * (k / kQKK); ++g) {
        const __m512i lo = load512(act + g * 128), hi = load512(act + g * 128 + 64);
        _mm512_store_si512(out + g * 128, _mm512_permutex2var_epi64(lo, idx_a, hi));
        _mm512_store_si512(out + g * 128 + 64, _mm512_permutex2var_epi64(lo, idx_b, hi));
    }
}

// R weight rows x C (1..4) activation rows over the whole k, straight from
// the super-blocks, against the permuted quants `av` of each column.
// vpdpbusd leaves four products per int32 lane (|sum| <= 4 * 31 * 128 fits
// int16), vpackssdw packs a lo and a hi vector's sums to int16 and vpdpwssd
// weights them by the 6-bit scales into one int32 sum per super-block (three
// port-0 operations per 64 weights, where vpmaddubsw + vpdpwssd on each of
// lo and hi took four), converted once; the mins' share (dmin * min_j * s_j,
// in the low eight lanes) goes into the same accumulator, one register per
// row and column.
template <bool kFive, int R, int C>
void gemv_k_rows(const Geometry& geo, int64_t k, const uint8_t* w, size_t w_stride,
                 const uint8_t* const* act, const uint8_t* const* av, float* y, int64_t y_stride) {
    constexpr size_t kBlock = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    constexpr size_t kQs = kFive ? 48 : 16;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i ctrl[2] = {scale_control(0), scale_control(1)};
    const __m512i z = _mm512_setzero_si512();
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    const size_t a_dx = geo.act_dx(), a_s = geo.act_s();
    const size_t row_bytes = static_cast<size_t>(k / kQKK) * kBlock;
    const size_t skip = R * w_stride - row_bytes;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        float da[C];
        __m512 s8[C];
        for (int c = 0; c < C; ++c) {
            da[c] = reinterpret_cast<const float*>(act[c] + a_dx)[2 * i * 16];
            s8[c] = _mm512_zextps256_ps512(
                _mm256_loadu_ps(reinterpret_cast<const float*>(act[c] + a_s) + 8 * i));
        }
        // Unrolled so that acc stays in registers (rolled, GCC keeps it on
        // the stack).
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + static_cast<size_t>(r) * w_stride;
            const uint8_t* b = row + static_cast<size_t>(i) * kBlock;
            prefetch_ahead<(kBlock + 63) / 64, 2048, _MM_HINT_T1>(
                row, static_cast<size_t>(i) * kBlock, row_bytes, skip);
            uint64_t sc = 0, mn = 0;
            k4_scales_mins(b + 4, sc, mn);
            const __m512i sc_all = _mm512_set1_epi64(static_cast<int64_t>(sc));
            __m512i isum[C];
            for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
            for (int h = 0; h < 2; ++h) {
                const __m512i x = load512(b + kQs + 64 * h);
                __m512i lo = _mm512_and_si512(x, m4);
                __m512i hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
                if constexpr (kFive) {
                    // Bit j of qh[l] is bit 4 of element l of sub-block j; qh
                    // repeats over both 256-bit halves like the elements do.
                    const __m512i qh = _mm512_broadcast_i64x4(
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16)));
                    const auto sel = [h](int j0, int j1) {
                        const auto bits = [](int j) {
                            return static_cast<long long>(0x0101010101010101ull << j);
                        };
                        const long long b0 = bits(4 * h + j0), b1 = bits(4 * h + j1);
                        return _mm512_setr_epi64(b0, b0, b0, b0, b1, b1, b1, b1);
                    };
                    const __m512i bit4 = _mm512_set1_epi8(0x10);
                    lo = _mm512_or_si512(
                        lo, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(qh, sel(0, 2)), bit4));
                    hi = _mm512_or_si512(
                        hi, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(qh, sel(1, 3)), bit4));
                }
                const __m512i s = _mm512_shuffle_epi8(sc_all, ctrl[h]);
                for (int c = 0; c < C; ++c) {
                    const uint8_t* q = av[c] + (2 * i + h) * 128;
                    const __m512i p_lo = _mm512_dpbusd_epi32(z, lo, load512(q));
                    const __m512i p_hi = _mm512_dpbusd_epi32(z, hi, load512(q + 64));
                    isum[c] = _mm512_dpwssd_epi32(isum[c], _mm512_packs_epi32(p_lo, p_hi), s);
                }
            }
            // d and dmin in one conversion: lane 0 = d, lane 1 = dmin.
            const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(load_u32(b))));
            const __m512 m8 = _mm512_zextps256_ps512(_mm256_mul_ps(
                _mm256_cvtepi32_ps(
                    _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(mn)))),
                _mm256_broadcastss_ps(_mm_movehdup_ps(dd))));
            for (int c = 0; c < C; ++c) {
                acc[r][c] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]),
                                    _mm512_broadcastss_ps(_mm_mul_ss(dd, _mm_set_ss(da[c]))),
                                    _mm512_fnmadd_ps(m8, s8[c], acc[r][c]));
            }
        }
    }
    for (int c = 0; c < C; ++c) {
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
    }
}

template <bool kFive, int C>
void gemv_k_cols(const PackedGemmArgs& a, int64_t r0, int64_t r1) {
    const Geometry geo(a.k);
    const auto* w = static_cast<const uint8_t*>(a.w);
    const auto* abase = static_cast<const uint8_t*>(a.act);
    // 64-byte aligned, for the stores.
    struct alignas(64) Line {
        uint8_t bytes[64];
    };
    const auto per_col = static_cast<size_t>(4 * (a.k / kQKK));  // lines
    thread_local std::vector<Line> permuted;
    if (permuted.size() < C * per_col) permuted.resize(C * per_col);
    const uint8_t* act[C];
    const uint8_t* av[C];
    for (int c = 0; c < C; ++c) {
        act[c] = abase + static_cast<size_t>(c) * a.act_stride;
        uint8_t* out = permuted[c * per_col].bytes;
        permute_act(act[c], a.k, out);
        av[c] = out;
    }
    // kGemvRows at b = 1: with the mins folded into the one accumulator per
    // row, eight rows fit in registers and keep more row streams in flight
    // (2-core Xeon, Llama-3.2-1B-shape Q4_K_M decode 28.8 -> 29.7 tok/s with
    // Q6_K's eight rows, interleaved runs).
    constexpr int kRows = C == 1 ? kGemvRows : 2;
    int64_t r = r0;
    for (; r + kRows <= r1; r += kRows)
        gemv_k_rows<kFive, kRows, C>(geo, a.k, w + static_cast<size_t>(r) * a.w_stride, a.w_stride,
                                     act, av, a.y + r, a.y_stride);
    for (; r < r1; ++r)
        gemv_k_rows<kFive, 1, C>(geo, a.k, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act,
                                 av, a.y + r, a.y_stride);
}

}  // namespace

void gemv_k_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, bool five) {
    const auto run = [&]<bool kFive>() {
        switch (a.b) {
            case 1:
                gemv_k_cols<kFive, 1>(a, r0, r1);
                break;
            case 2:
                gemv_k_cols<kFive, 2>(a, r0, r1);
                break;
            case 3:
                gemv_k_cols<kFive, 3>(a, r0, r1);
                break;
            default:
                gemv_k_cols<kFive, 4>(a, r0, r1);
                break;
        }
    };
    if (five) {
        run.template operator()<true>();
    } else {
        run.template operator()<false>();
    }
}

}  // namespace pensieve::kernels::avx512
