// Activation quantizers on 256-bit vectors (AVX2 and up), shared by the ISA
// translation units. They are bit-exact with the scalar reference in
// ref/legacy_formats.cpp and ref/k_formats.cpp: the same float operations in
// the same order, and explicit rounding that matches roundf / nearbyint.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/blocks.hpp"

namespace pensieve::kernels::x86 {
namespace {

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

inline __m256 abs_ps(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

// roundf: half-way cases away from zero. trunc(p) and p - trunc(p) are exact
// for |p| < 2^23, so this is the exact C rounding, not an approximation.
inline __m256 round_half_away(__m256 p) {
    const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(p, t));
    const __m256 away = _mm256_or_ps(_mm256_and_ps(p, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    const __m256 bump = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away);
    return _mm256_add_ps(t, bump);
}

// Four vectors of 8 int32 (each within int8 range) -> 32 int8 in order.
inline __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    // The packs work per 128-bit lane; restore element order.
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline void quantize_q8_0(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        __m256 v[4];
        for (int r = 0; r < 4; ++r) v[r] = _mm256_loadu_ps(x + 8 * r);
        const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v[0]), abs_ps(v[1])),
                                       _mm256_max_ps(abs_ps(v[2]), abs_ps(v[3])));
        const float d = hmax(m) / 127.0f;
        const float id = d == 0.0f ? 0.0f : 1.0f / d;
        // (_cvtss_sh is a macro over a compound literal in clang's headers.)
        b[i].d = static_cast<uint16_t>(
            _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(d), _MM_FROUND_TO_NEAREST_INT), 0));
        __m256i q[4];
        for (int r = 0; r < 4; ++r) {
            q[r] = _mm256_cvttps_epi32(round_half_away(_mm256_mul_ps(v[r], _mm256_set1_ps(id))));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs), pack_i8(q[0], q[1], q[2], q[3]));
    }
}

inline void quantize_q8_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        __m256 m = _mm256_setzero_ps();
        for (int r = 0; r < 32; ++r) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + 8 * r)));
        const float amax = hmax(m);
        if (amax == 0.0f) {
            b[i] = BlockQ8_K{};
            continue;
        }
        // The signed value of the first element of largest magnitude.
        float max = 0.0f;
        const __m256 target = _mm256_set1_ps(amax);
        for (int r = 0; r < 32; ++r) {
            const int hits = _mm256_movemask_ps(
                _mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + 8 * r)), target, _CMP_EQ_OQ));
            if (hits != 0) {
                max = x[8 * r + __builtin_ctz(static_cast<unsigned>(hits))];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 s = _mm256_set1_ps(iscale);
        const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-127);
        for (int g = 0; g < 8; ++g) {
            __m256i q[4];
            for (int r = 0; r < 4; ++r) {
                // cvtps rounds to nearest even under the default MXCSR, like nearbyint.
                const __m256i v =
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * r), s));
                q[r] = _mm256_max_epi32(_mm256_min_epi32(v, hi), lo);
            }
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs + 32 * g),
                                pack_i8(q[0], q[1], q[2], q[3]));
            const __m256i s01 = _mm256_add_epi32(q[0], q[1]);  // elements 32g + 0..15
            const __m256i s23 = _mm256_add_epi32(q[2], q[3]);  // elements 32g + 16..31
            const __m256i pair = _mm256_hadd_epi32(s01, s23);
            const __m256i quad = _mm256_hadd_epi32(pair, pair);
            // quad lanes: [s01 lo-half sum, s23 lo-half sum, .., s01 hi-half, s23 hi-half, ..]
            b[i].bsums[2 * g] =
                static_cast<int16_t>(_mm256_extract_epi32(quad, 0) + _mm256_extract_epi32(quad, 4));
            b[i].bsums[2 * g + 1] =
                static_cast<int16_t>(_mm256_extract_epi32(quad, 1) + _mm256_extract_epi32(quad, 5));
        }
        b[i].d = 1.0f / iscale;
    }
}

}  // namespace
}  // namespace pensieve::kernels::x86
