// Element-wise and reduction ops on 256-bit vectors (AVX2 + FMA + F16C),
// shared by the ISA translation units. Scalar meaning: ref/ops.cpp.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace pensieve::kernels::x86 {
namespace {

inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float op_dot_f32(const float* a, const float* b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float sum = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

inline float op_dot_f16(const uint16_t* a, const float* b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load_f16x8(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(load_f16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float sum = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) sum += _cvtsh_ss(a[i]) * b[i];
    return sum;
}

inline void op_axpy_f32(float a, const float* x, float* y, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    }
    for (; i < n; ++i) y[i] += a * x[i];
}

inline void op_axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
    }
    for (; i < n; ++i) y[i] += a * _cvtsh_ss(x[i]);
}

inline void op_add(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    }
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

inline void op_mul(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    }
    for (; i < n; ++i) out[i] = a[i] * b[i];
}

// Sum of squares in double lanes: an 8k-wide row of large activations loses
// bits in float, and this is one pass per token, not a hot loop.
inline void op_rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
        const __m256d hi = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    const __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    const auto inv = static_cast<float>(
        1.0 / __builtin_sqrt(sum / static_cast<double>(n) + static_cast<double>(eps)));
    const __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), iv);
        if (weight != nullptr) v = _mm256_mul_ps(v, _mm256_loadu_ps(weight + i));
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < n; ++i) out[i] = x[i] * inv * (weight ? weight[i] : 1.0f);
}

// e^x: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two for an exact
// reduction), e^r from a degree-7 minimax polynomial (Cephes expf
// coefficients), 2^n through the exponent bits. Within 2 ulp of expf for
// normal results; 0 below -87.3 (where expf turns subnormal), so -inf -> 0.
// The constants, shared with the 512-bit form (avx512/attend_512.hpp).
struct ExpPoly {
    static constexpr float kLow = -87.3f, kHigh = 88.3f;
    static constexpr float kLog2e = 1.44269504088896341f;
    static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    static constexpr float kC[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                    4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
};

inline __m256 exp_ps(__m256 x) {
    using E = ExpPoly;
    const __m256 too_small = _mm256_cmp_ps(x, _mm256_set1_ps(E::kLow), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(E::kLow)), _mm256_set1_ps(E::kHigh));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(E::kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(E::kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(E::kLn2Lo), r);
    __m256 p = _mm256_set1_ps(E::kC[0]);
    for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(E::kC[i]));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(too_small, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// The reference's steps (scale + mask, max, exp, normalise) with exp_ps and
// a float sum (the reference sums in double; the difference is ~1e-7
// relative for the row lengths attention sees).
inline void op_softmax(float* x, int64_t n, float scale, const float* mask) {
    const __m256 sv = _mm256_set1_ps(scale);
    __m256 mv = _mm256_set1_ps(-__builtin_inff());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), sv);
        if (mask != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(mask + i));
        _mm256_storeu_ps(x + i, v);
        mv = _mm256_max_ps(mv, v);
    }
    float max = hmax_ps(mv);
    for (; i < n; ++i) {
        x[i] = x[i] * scale + (mask != nullptr ? mask[i] : 0.0f);
        max = x[i] > max ? x[i] : max;
    }
    if (max == -__builtin_inff()) {  // fully masked row
        for (i = 0; i < n; ++i) x[i] = 0.0f;
        return;
    }
    const __m256 maxv = _mm256_set1_ps(max);
    __m256 sum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), maxv));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = hsum_ps(sum);
    for (; i < n; ++i) {
        x[i] = __builtin_expf(x[i] - max);
        total += x[i];
    }
    const __m256 inv = _mm256_set1_ps(1.0f / total);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; ++i) x[i] *= 1.0f / total;
}

inline void op_silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
        const __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + __builtin_expf(-gate[i])) * up[i];
}

// GELU (tanh form) times up: 0.5·x·(1 + tanh(y)) = x·σ(2y), so the same
// exp as SiLU; y = sqrt(2/π)·(x + 0.044715·x³).
inline void op_gelu_mul(const float* gate, const float* up, float* out, int64_t n) {
    const __m256 c1 = _mm256_set1_ps(-2.0f * 0.7978845608028654f);
    const __m256 c3 = _mm256_set1_ps(-2.0f * 0.7978845608028654f * 0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 x2 = _mm256_mul_ps(x, x);
        const __m256 e = exp_ps(_mm256_mul_ps(x, _mm256_fmadd_ps(c3, x2, c1)));  // e^(-2y)
        const __m256 g = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(g, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) {
        const float x = gate[i];
        const float y = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        out[i] = x / (1.0f + __builtin_expf(-2.0f * y)) * up[i];
    }
}

}  // namespace
}  // namespace pensieve::kernels::x86
