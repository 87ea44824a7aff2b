// Q6_K matmul on AVX-512 for every batch: activations quantized to Q8_K as
// the reference's vec_dot_type, weights unpacked straight from the
// super-blocks into 512-bit registers, R weight rows interleaved (more row
// streams in flight, prefetched into L2 like the other GEMVs) against up to
// four activation rows at a time.
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/traits.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/avx512/q6k_unpack.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int kCols = 4;  // activation rows per pass

// int16 lane l of vpackssdw(lo sums, hi sums) of half h: 128-bit lane L = l / 8
// holds the sums of sub-block 8h + L (from lo) in int16 lanes 0-3 and of
// 8h + 4 + L (from hi) in 4-7; this picks each one's scale from the 16
// scales widened to int16.
inline __m512i q6_packed_scale_index(int h) {
    alignas(64) int16_t idx[32];
    for (int l = 0; l < 32; ++l)
        idx[l] = static_cast<int16_t>(8 * h + l / 8 + (l % 8 >= 4 ? 4 : 0));
    return _mm512_load_si512(idx);
}

// R rows x C activation rows (Q8_K) over the whole k. vpdpbusd leaves four
// products per int32 lane (|sum| <= 4 * 63 * 128 fits int16), vpackssdw packs
// the lo and hi vectors' sums to int16 and vpdpwssd weights them by the
// sub-block scales: three port-0 operations per 128 weights, where
// vpmaddubsw + vpdpwssd on each of lo and hi took four.
template <int R, int C>
void q6_k_rows(int64_t k, const uint8_t* w, size_t w_stride, const BlockQ8_K* const* act, float* y,
               int64_t y_stride) {
    const __m512i sidx[2] = {q6_packed_scale_index(0), q6_packed_scale_index(1)};
    const __m512i z = _mm512_setzero_si512();
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    const int64_t nb = k / kQKK;
    const size_t row_bytes = static_cast<size_t>(nb) * sizeof(BlockQ6_K);
    const size_t skip = R * w_stride - row_bytes;
    for (int64_t i = 0; i < nb; ++i) {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + static_cast<size_t>(r) * w_stride;
            const auto& b = *reinterpret_cast<const BlockQ6_K*>(row + i * sizeof(BlockQ6_K));
            prefetch_ahead<4, 2048, _MM_HINT_T1>(row, static_cast<size_t>(i) * sizeof(BlockQ6_K),
                                                 row_bytes, skip);
            const __m256i sc16 =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
            const __m512i sc = _mm512_castsi256_si512(sc16);
            __m512i isum[C];
            for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
            for (int h = 0; h < 2; ++h) {
                __m512i lo, hi;
                q6_unpack_half(b, h, lo, hi);
                const __m512i s = _mm512_permutexvar_epi16(sidx[h], sc);
                for (int c = 0; c < C; ++c) {
                    const int8_t* a = act[c][i].qs + 128 * h;
                    const __m512i p_lo = _mm512_dpbusd_epi32(z, lo, load512(a));
                    const __m512i p_hi = _mm512_dpbusd_epi32(z, hi, load512(a + 64));
                    isum[c] = _mm512_dpwssd_epi32(isum[c], _mm512_packs_epi32(p_lo, p_hi), s);
                }
            }
            const float d = half(b.d);
            for (int c = 0; c < C; ++c) {
                const BlockQ8_K& a = act[c][i];
                // The +32 of the stored values: 32 * Σ scale * bsum.
                const __m256i bias = _mm256_madd_epi16(
                    sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
                const float dd = d * a.d;
                acc[r][c] = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(isum[c]), _mm512_set1_ps(dd),
                    _mm512_fnmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(bias)),
                                     _mm512_set1_ps(32.0f * dd), acc[r][c]));
            }
        }
    }
    for (int c = 0; c < C; ++c) {
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
    }
}

template <int C>
void q6_k_cols(const PackedGemmArgs& a, const BlockQ8_K* const* act, int64_t r0, int64_t r1,
               int64_t c0) {
    // Weight rows interleaved per pass: eight at b = 1 like the other GEMVs
    // (more row streams in flight; Llama-3.2-1B-shape Q4_K_M decode, where
    // Q6_K is 40% of the bytes, +2-3% with the Q4_K kernel's eight), four
    // with more activation rows, whose accumulators would not fit otherwise
    // (at four activation rows, four weight rows ran 3-5% faster than two).
    constexpr int kRows = C == 1 ? kGemvRows : 4;
    const auto* w = static_cast<const uint8_t*>(a.w);
    float* y = a.y + c0 * a.y_stride;
    int64_t r = r0;
    for (; r + kRows <= r1; r += kRows)
        q6_k_rows<kRows, C>(a.k, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act, y + r,
                            a.y_stride);
    for (; r < r1; ++r)
        q6_k_rows<1, C>(a.k, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act, y + r,
                        a.y_stride);
}

size_t act_bytes(int64_t k) {
    return static_cast<size_t>(k / kQKK) * sizeof(BlockQ8_K);
}

size_t no_work(int64_t) {
    return 0;
}

// The active table's Q8_K quantizer: this ISA's, since only its table holds
// this path.
void pack_act(const float* x, void* dst, int64_t k) {
    traits(TensorType::Q8_K).quantize_row(x, dst, k);
}

void q6_k_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void*) {
    // Passes of at most kCols activation rows, as even as they can be (five
    // rows as 2 + 3, not 4 + 1: one row per pass costs the most per row).
    // Four in one pass against two passes of two: BM_Gemm Q6_K b = 4, one
    // thread, 89-94 -> 109 GFLOP/s.
    const auto* base = static_cast<const uint8_t*>(a.act);
    const int64_t passes = (a.b + kCols - 1) / kCols;
    for (int64_t p = 0, c0 = 0; p < passes; ++p) {
        const BlockQ8_K* act[kCols];
        const int64_t n = (a.b - c0) / (passes - p);
        for (int64_t c = 0; c < n; ++c) {
            act[c] = reinterpret_cast<const BlockQ8_K*>(base +
                                                        static_cast<size_t>(c0 + c) * a.act_stride);
        }
        switch (n) {
            case 1:
                q6_k_cols<1>(a, act, r0, r1, c0);
                break;
            case 2:
                q6_k_cols<2>(a, act, r0, r1, c0);
                break;
            case 3:
                q6_k_cols<3>(a, act, r0, r1, c0);
                break;
            default:
                q6_k_cols<4>(a, act, r0, r1, c0);
                break;
        }
        c0 += n;
    }
}

}  // namespace

PackedGemm q6_k_entry() {
    return PackedGemm{act_bytes, no_work, pack_act, q6_k_tile};
}

}  // namespace pensieve::kernels::avx512
