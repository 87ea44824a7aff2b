// Blockwise attention with an online softmax on 512-bit vectors: one block
// of 16 positions is one vector of scores per query row, and one row of a
// transposed key tile one load. Same steps as attend_256.hpp (and as
// attend_block in ref/ops.cpp) with half the instructions, which is what
// bounds the 256-bit form on CPUs that split 512-bit work in two (Zen 4) and
// doubles the width on those that do not. Needs head_dim % 16 == 0; ops.cpp
// registers the 256-bit form for other head sizes.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ops.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/ops_256.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// e^x for 16 floats: exp_ps of ops_256.hpp on 512-bit vectors (same
// reduction and polynomial, so the same results).
inline __m512 exp512(__m512 x) {
    using E = x86::ExpPoly;
    const __mmask16 too_small = _mm512_cmp_ps_mask(x, _mm512_set1_ps(E::kLow), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(E::kLow)), _mm512_set1_ps(E::kHigh));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(E::kLog2e)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(E::kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(E::kLn2Lo), r);
    __m512 p = _mm512_set1_ps(E::kC[0]);
    for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(E::kC[i]));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i e =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(static_cast<__mmask16>(~too_small), p, _mm512_castsi512_ps(e));
}

// Horizontal max and sum through the 256-bit halves.
inline float hmax512(__m512 x) {
    return x86::hmax_ps(_mm256_max_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1)));
}
inline float hsum512(__m512 x) {
    return x86::hsum_ps(_mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1)));
}

// Lanes j of the block with lo <= j <= hi (either may lie outside 0..15).
inline __mmask16 lanes(int64_t lo, int64_t hi) {
    if (hi < 0 || lo > 15 || lo > hi) return 0;
    const unsigned from = lo < 0 ? 0u : static_cast<unsigned>(lo);
    const unsigned to = hi > 15 ? 15u : static_cast<unsigned>(hi);
    return static_cast<__mmask16>((0xFFFFu << from) & (0xFFFFu >> (15u - to)));
}

// Softmax step of rows r0 .. r0 + R - 1 for their scores s[r]: masks and
// scales the scores, raises each row's running maximum m to the block's
// largest score best[r], and writes alpha[r] = exp(m_old - m_new), the factor
// that rescales the row's earlier sums. The R factors are one vector exp (a
// scalar expf per row cost as much as the row's exponentials); a row with
// nothing to attend here keeps its state (best -inf, factor exp(0) = 1).
template <int R>
inline void new_maxima(const AttendBlock& a, int64_t r0, __m512* s, float* alpha, float* best) {
    const __m512 scale = _mm512_set1_ps(a.scale);
    const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
    for (int r = 0; r < R; ++r) {
        const int64_t row = r0 + r;
        const __mmask16 valid = lanes(a.first[row] - a.pos0, a.last[row] - a.pos0);
        s[r] = _mm512_mask_mul_ps(neg_inf, valid, s[r], scale);
        best[r] = hmax512(s[r]);
        const float m = a.m[row] > best[r] ? a.m[row] : best[r];
        alpha[r] = best[r] == -__builtin_inff() ? 0.0f : a.m[row] - m;
        a.m[row] = best[r] == -__builtin_inff() ? a.m[row] : m;
    }
    _mm512_store_ps(alpha, exp512(_mm512_load_ps(alpha)));
}

// Sixteen tile elements as F32 (F16 tiles converted on the way).
inline __m512 load_tile16(const float* p) {
    return _mm512_loadu_ps(p);
}
inline __m512 load_tile16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// Sixteen elements of a 16-bit tile, F16 or (kBf16) BF16, as F32 (exact).
template <bool kBf16>
inline __m512 load_tile16_of(const uint16_t* p) {
    if constexpr (kBf16) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
        return load_tile16(p);
    }
}

// T: the tiles' element type (float: kt / v, uint16_t: kt16 / v16).
template <int R, typename T>
requires(R <= 16) void attend_rows_512(const AttendBlock& a, int64_t r0) {
    const int64_t hd = a.head_dim;
    const float* q = a.q + r0 * hd;
    const auto [kt, vt] = attend_tiles_of<T>(a);
    __m512 s[R];
    for (int r = 0; r < R; ++r) s[r] = _mm512_setzero_ps();
    for (int64_t d = 0; d < hd; ++d) {
        const __m512 k = load_tile16(kt + d * 16);
        for (int r = 0; r < R; ++r) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r * hd + d]), k, s[r]);
    }

    alignas(64) float p[R][16];
    alignas(64) float alpha[16] = {};
    float best[R];
    new_maxima<R>(a, r0, s, alpha, best);
    for (int r = 0; r < R; ++r) {
        const int64_t row = r0 + r;
        if (best[r] == -__builtin_inff()) {
            _mm512_store_ps(p[r], _mm512_setzero_ps());
            continue;
        }
        const __m512 e = exp512(_mm512_sub_ps(s[r], _mm512_set1_ps(a.m[row])));
        _mm512_store_ps(p[r], e);
        a.l[row] = a.l[row] * alpha[r] + hsum512(e);
    }

    // o = o · alpha + p · V, two output vectors (32 dimensions) of every row
    // at a time, then one for a head size that is an odd multiple of 16.
    float* o = a.o + r0 * hd;
    int64_t c = 0;
    for (; c + 32 <= hd; c += 32) {
        __m512 acc[R][2];
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(alpha[r]);
            acc[r][0] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c), av);
            acc[r][1] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c + 16), av);
        }
        for (int j = 0; j < 16; ++j) {
            const __m512 v0 = load_tile16(vt + j * hd + c);
            const __m512 v1 = load_tile16(vt + j * hd + c + 16);
            for (int r = 0; r < R; ++r) {
                const __m512 pv = _mm512_set1_ps(p[r][j]);
                acc[r][0] = _mm512_fmadd_ps(pv, v0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(pv, v1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; ++r) {
            _mm512_storeu_ps(o + r * hd + c, acc[r][0]);
            _mm512_storeu_ps(o + r * hd + c + 16, acc[r][1]);
        }
    }
    if (c < hd) {
        __m512 acc[R];
        for (int r = 0; r < R; ++r)
            acc[r] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c), _mm512_set1_ps(alpha[r]));
        for (int j = 0; j < 16; ++j) {
            const __m512 v0 = load_tile16(vt + j * hd + c);
            for (int r = 0; r < R; ++r)
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(p[r][j]), v0, acc[r]);
        }
        for (int r = 0; r < R; ++r) _mm512_storeu_ps(o + r * hd + c, acc[r]);
    }
}

template <int R, typename T>
void attend_tail_512(const AttendBlock& a, int64_t r0, int64_t left) {
    if constexpr (R > 0) {
        if (left == R)
            attend_rows_512<R, T>(a, r0);
        else
            attend_tail_512<R - 1, T>(a, r0, left);
    }
}

// The softmax of a span of NT tiles (tile t at a.pos0 + 16 t) for R rows
// whose unscaled scores are s[r][t]: masks and scales them, raises each
// row's maximum and sum (a.m, a.l), and writes the factors that rescale the
// rows' earlier outputs (alpha[r], one vector exp) and the probabilities
// p[r][16 t + j] relative to the new maxima (0 for a row with nothing to
// attend here, whose state stays).
template <int R, int NT>
inline void span_softmax(const AttendBlock& a, __m512 (&s)[R][NT], float* alpha,
                         float (&p)[R][NT * 16]) {
    const __m512 scale = _mm512_set1_ps(a.scale);
    const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
    float best[R];
    for (int r = 0; r < R; ++r) {
        __m512 top = neg_inf;
        for (int t = 0; t < NT; ++t) {
            const int64_t p0 = a.pos0 + 16 * t;
            const __mmask16 valid = lanes(a.first[r] - p0, a.last[r] - p0);
            s[r][t] = _mm512_mask_mul_ps(neg_inf, valid, s[r][t], scale);
            top = _mm512_max_ps(top, s[r][t]);
        }
        best[r] = hmax512(top);
        const float m = a.m[r] > best[r] ? a.m[r] : best[r];
        alpha[r] = best[r] == -__builtin_inff() ? 0.0f : a.m[r] - m;
        a.m[r] = best[r] == -__builtin_inff() ? a.m[r] : m;
    }
    _mm512_store_ps(alpha, exp512(_mm512_load_ps(alpha)));
    for (int r = 0; r < R; ++r) {
        if (best[r] == -__builtin_inff()) {
            for (int t = 0; t < NT; ++t) _mm512_store_ps(p[r] + 16 * t, _mm512_setzero_ps());
            continue;
        }
        const __m512 mv = _mm512_set1_ps(a.m[r]);
        __m512 sum = _mm512_setzero_ps();
        for (int t = 0; t < NT; ++t) {
            const __m512 e = exp512(_mm512_sub_ps(s[r][t], mv));
            _mm512_store_ps(p[r] + 16 * t, e);
            sum = _mm512_add_ps(sum, e);
        }
        a.l[r] = a.l[r] * alpha[r] + hsum512(sum);
    }
}

// ---- spans of whole F16 or BF16 tiles (decode) ----------------------------

// R rows (R <= 8: a decoding token's query heads) against NT whole F16
// tiles (kBf16: BF16 tiles) of consecutive positions (tile t at a.pos0 +
// 16 t): the scores of all NT tiles stay in registers, so the softmax step
// (maxima, the rescale of o, its horizontal sums) runs once per span instead
// of once per tile, and the p · V accumulators run NT * 16 positions deep. Same results as NT
// attend_rows_512 steps up to the order of the sums.
//
// The tiles come from memory (a few MB per layer and KV head at depth), in
// short runs the hardware prefetcher starts cold: the next span's tiles
// (next_k / next_v, n_next of them) are prefetched into L2 as this one is
// read, a line of each next key tile per two dimensions and of each next
// value tile per 32 elements of a value row. SmolLM2 decode at depth 8192,
// 2 threads of an AVX-512 Xeon, alternating runs: tile by tile 40.5-40.8
// tok/s, spans 49-50, spans with the prefetch into L1 58-62, into L2 61-66.
template <int R, int NT, bool kBf16>
void attend_span_rows(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      const uint16_t* const* next_k, const uint16_t* const* next_v, int n_next) {
    const int64_t hd = a.head_dim;
    const float* q = a.q;
    __m512 s[R][NT];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) s[r][t] = _mm512_setzero_ps();
    for (int64_t d = 0; d < hd; ++d) {
        if (d % 2 == 0) {
            for (int t = 0; t < n_next; ++t)
                _mm_prefetch(reinterpret_cast<const char*>(next_k[t] + d * 16), _MM_HINT_T1);
        }
        __m512 k[NT];
        for (int t = 0; t < NT; ++t) k[t] = load_tile16_of<kBf16>(kts[t] + d * 16);
        for (int r = 0; r < R; ++r) {
            const __m512 qv = _mm512_set1_ps(q[r * hd + d]);
            for (int t = 0; t < NT; ++t) s[r][t] = _mm512_fmadd_ps(qv, k[t], s[r][t]);
        }
    }

    alignas(64) float alpha[16] = {};
    alignas(64) float p[R][NT * 16];
    span_softmax<R, NT>(a, s, alpha, p);

    // o = o · alpha + p · V, kV output vectors of every row at a time (as
    // many accumulators as the registers hold), then one at a time.
    float* o = a.o;
    const auto pv_pass = [&]<int kV>(int64_t c) {
        __m512 acc[R][kV];
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(alpha[r]);
            for (int u = 0; u < kV; ++u)
                acc[r][u] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c + 16 * u), av);
        }
        for (int t = 0; t < NT; ++t) {
            const uint16_t* v = vs[t];
            for (int j = 0; j < 16; ++j) {
                if (t < n_next) {
                    for (int u = 0; u < kV; u += 2) {
                        _mm_prefetch(reinterpret_cast<const char*>(next_v[t] + j * hd + c + 16 * u),
                                     _MM_HINT_T1);
                    }
                }
                __m512 vv[kV];
                for (int u = 0; u < kV; ++u) vv[u] = load_tile16_of<kBf16>(v + j * hd + c + 16 * u);
                for (int r = 0; r < R; ++r) {
                    const __m512 pv = _mm512_set1_ps(p[r][16 * t + j]);
                    for (int u = 0; u < kV; ++u) acc[r][u] = _mm512_fmadd_ps(pv, vv[u], acc[r][u]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int u = 0; u < kV; ++u) _mm512_storeu_ps(o + r * hd + c + 16 * u, acc[r][u]);
    };
    constexpr int kV = R <= 4 ? 4 : 2;
    int64_t c = 0;
    for (; c + 16 * kV <= hd; c += 16 * kV) pv_pass.template operator()<kV>(c);
    for (; c < hd; c += 16) pv_pass.template operator()<1>(c);
}

// Tiles per span: the scores of R rows over NT tiles and NT key vectors
// stay in the 32 registers (8 rows x 3 tiles: 27). Three tiles for prefill's
// groups of 8 rows, SmolLM2 pp512 at depth 8192 on a 2-core Xeon: 225-230
// tok/s with two, 238-239 with three.
template <int R>
inline constexpr int kSpanTiles = R <= 4 ? 4 : 3;

// span(b, t, nt, n_next) over n whole tiles from a.pos0: spans of NT tiles,
// then the tiles left over one at a time; b is a from tile t's first
// position, nt the span's tiles (an integral_constant) and n_next how many
// tiles of the next span it may prefetch.
template <int NT, typename Span>
inline void for_each_span_of(const AttendBlock& a, int64_t n, Span span) {
    int64_t t = 0;
    AttendBlock b = a;
    for (; t + NT <= n; t += NT) {
        b.pos0 = a.pos0 + 16 * t;
        const int64_t left = n - t - NT;
        span(b, t, std::integral_constant<int, NT>{}, static_cast<int>(left < NT ? left : NT));
    }
    for (; t < n; ++t) {
        b.pos0 = a.pos0 + 16 * t;
        span(b, t, std::integral_constant<int, 1>{}, t + 1 < n ? 1 : 0);
    }
}

template <int R, bool kBf16>
void attend_span_rows_all(const AttendBlock& a, const uint16_t* const* kts,
                          const uint16_t* const* vs, int64_t n) {
    for_each_span_of<kSpanTiles<R>>(a, n, [&](const AttendBlock& b, int64_t t, auto nt, int next) {
        constexpr int K = decltype(nt)::value;
        attend_span_rows<R, K, kBf16>(b, kts + t, vs + t, kts + t + K, vs + t + K, next);
    });
}

// n whole F16 (kBf16: BF16) tiles of consecutive positions from a.pos0 for
// 1 <= a.rows <= 8 rows, head_dim % 16 == 0 (OpsTable::attend_span_f16,
// attend_span_bf16_tiles).
template <bool kBf16>
void attend_span_16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                    int64_t n) {
    with_count<8>(static_cast<int>(a.rows),
                  [&](auto r) { attend_span_rows_all<decltype(r)::value, kBf16>(a, kts, vs, n); });
}

// kRows rows at a time: their scores, and two output vectors each, stay in
// registers. Head sizes that are not a multiple of 16 take `narrow`, and so
// do fewer rows than kRows (a decoding token's group of query heads): there
// the 256-bit form measured a few percent faster on Zen 4 (SmolLM2 decode
// at depth 8192: 67-69 against 63-64 tok/s), while prefill runs of many rows
// gain half again on 512 bits (215 against 137-149 tok/s).
template <int kRows, void (*narrow)(const AttendBlock&), typename T = float>
void attend_block_512(const AttendBlock& a) {
    if (a.head_dim % 16 != 0 || a.rows < kRows) return narrow(a);
    int64_t r = 0;
    for (; r + kRows <= a.rows; r += kRows) attend_rows_512<kRows, T>(a, r);
    attend_tail_512<kRows - 1, T>(a, r, a.rows - r);
}

}  // namespace
}  // namespace pensieve::kernels::avx512
