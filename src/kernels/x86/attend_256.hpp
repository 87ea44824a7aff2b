// Blockwise attention with an online softmax on 256-bit vectors, shared by
// the ISA translation units (which set kAttendRows, the query rows held in
// registers at once). Scalar meaning: attend_block in ref/ops.cpp.
//
// One block is 16 positions, two vectors: the scores of a row are two
// accumulators. Rows are taken kAttendRows at a time: every key vector is
// loaded once for them (q·k as broadcast q_d times the keys' dimension-d
// row), and every value row once for them (the probabilities broadcast).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ops.hpp"
#include "kernels/x86/ops_256.hpp"

namespace pensieve::kernels::x86 {
namespace {

static_assert(kKvBlockTokens == 16, "a block is two vectors of scores");

// Eight elements of a tile as F32: F32 tiles as they are, F16 ones
// converted on the way (AttendBlock::kt16 / v16).
inline __m256 load_tile8(const float* p) {
    return _mm256_loadu_ps(p);
}
inline __m256 load_tile8(const uint16_t* p) {
    return load_f16x8(p);
}

// The running state of R rows updated by one block; head_dim % 8 == 0.
// T: the tiles' element type (float: kt / v, uint16_t: kt16 / v16).
template <int R, typename T>
void attend_rows(const AttendBlock& a, int64_t r0) {
    const int64_t hd = a.head_dim;
    const float* q = a.q + r0 * hd;
    const auto [kt, vt] = attend_tiles_of<T>(a);
    __m256 s[R][2];
    for (int r = 0; r < R; ++r) s[r][0] = s[r][1] = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; ++d) {
        const __m256 k0 = load_tile8(kt + d * 16);
        const __m256 k1 = load_tile8(kt + d * 16 + 8);
        for (int r = 0; r < R; ++r) {
            const __m256 qv = _mm256_broadcast_ss(q + r * hd + d);
            s[r][0] = _mm256_fmadd_ps(qv, k0, s[r][0]);
            s[r][1] = _mm256_fmadd_ps(qv, k1, s[r][1]);
        }
    }

    // Softmax step: probabilities of this block against the new running max.
    alignas(32) float p[R][16];
    float alpha[R];
    const __m256 scale = _mm256_set1_ps(a.scale);
    const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
    for (int r = 0; r < R; ++r) {
        const int64_t row = r0 + r;
        __m256 x0 = _mm256_mul_ps(s[r][0], scale);
        __m256 x1 = _mm256_mul_ps(s[r][1], scale);
        const int64_t lo = a.first[row] - a.pos0;  // lanes [lo, hi] are attended
        const int64_t hi = a.last[row] - a.pos0;
        if (lo > 0 || hi < 15) {
            const __m256i lov = _mm256_set1_epi32(static_cast<int32_t>(lo < -1 ? -1 : lo));
            const __m256i hiv = _mm256_set1_epi32(static_cast<int32_t>(hi > 16 ? 16 : hi));
            const __m256i j0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            const __m256i j1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
            const __m256i out0 =
                _mm256_or_si256(_mm256_cmpgt_epi32(lov, j0), _mm256_cmpgt_epi32(j0, hiv));
            const __m256i out1 =
                _mm256_or_si256(_mm256_cmpgt_epi32(lov, j1), _mm256_cmpgt_epi32(j1, hiv));
            x0 = _mm256_blendv_ps(x0, neg_inf, _mm256_castsi256_ps(out0));
            x1 = _mm256_blendv_ps(x1, neg_inf, _mm256_castsi256_ps(out1));
        }
        const float best = hmax_ps(_mm256_max_ps(x0, x1));
        if (best == -__builtin_inff()) {  // nothing to attend here: state unchanged
            alpha[r] = 1.0f;
            _mm256_store_ps(p[r], _mm256_setzero_ps());
            _mm256_store_ps(p[r] + 8, _mm256_setzero_ps());
            continue;
        }
        const float m = a.m[row] > best ? a.m[row] : best;
        alpha[r] = __builtin_expf(a.m[row] - m);
        const __m256 mv = _mm256_set1_ps(m);
        const __m256 e0 = exp_ps(_mm256_sub_ps(x0, mv));
        const __m256 e1 = exp_ps(_mm256_sub_ps(x1, mv));
        _mm256_store_ps(p[r], e0);
        _mm256_store_ps(p[r] + 8, e1);
        a.l[row] = a.l[row] * alpha[r] + hsum_ps(_mm256_add_ps(e0, e1));
        a.m[row] = m;
    }

    // o = o · alpha + p · V, two output vectors of every row at a time.
    float* o = a.o + r0 * hd;
    int64_t c = 0;
    for (; c + 16 <= hd; c += 16) {
        __m256 acc[R][2];
        for (int r = 0; r < R; ++r) {
            const __m256 av = _mm256_set1_ps(alpha[r]);
            acc[r][0] = _mm256_mul_ps(_mm256_loadu_ps(o + r * hd + c), av);
            acc[r][1] = _mm256_mul_ps(_mm256_loadu_ps(o + r * hd + c + 8), av);
        }
        for (int j = 0; j < 16; ++j) {
            const __m256 v0 = load_tile8(vt + j * hd + c);
            const __m256 v1 = load_tile8(vt + j * hd + c + 8);
            for (int r = 0; r < R; ++r) {
                const __m256 pv = _mm256_broadcast_ss(&p[r][j]);
                acc[r][0] = _mm256_fmadd_ps(pv, v0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(pv, v1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; ++r) {
            _mm256_storeu_ps(o + r * hd + c, acc[r][0]);
            _mm256_storeu_ps(o + r * hd + c + 8, acc[r][1]);
        }
    }
    if (c < hd) {  // head_dim % 16 == 8: one vector left
        __m256 acc[R];
        for (int r = 0; r < R; ++r)
            acc[r] = _mm256_mul_ps(_mm256_loadu_ps(o + r * hd + c), _mm256_set1_ps(alpha[r]));
        for (int j = 0; j < 16; ++j) {
            const __m256 v0 = load_tile8(vt + j * hd + c);
            for (int r = 0; r < R; ++r)
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&p[r][j]), v0, acc[r]);
        }
        for (int r = 0; r < R; ++r) _mm256_storeu_ps(o + r * hd + c, acc[r]);
    }
}

// The last a.rows % kRows rows, as one group of that size.
template <int R, typename T>
void attend_tail(const AttendBlock& a, int64_t r0, int64_t left) {
    if constexpr (R > 0) {
        if (left == R)
            attend_rows<R, T>(a, r0);
        else
            attend_tail<R - 1, T>(a, r0, left);
    }
}

template <int kRows, typename T = float>
void attend_block_256(const AttendBlock& a) {
    int64_t r = 0;
    for (; r + kRows <= a.rows; r += kRows) attend_rows<kRows, T>(a, r);
    attend_tail<kRows - 1, T>(a, r, a.rows - r);
}

// Keys of a Q8_0 key tile: int8 [head_dim][16], F16 scales [head_dim/32][16].
void op_dequantize_q8_0_keys(const void* tile, int64_t head_dim, float* kt) {
    const auto* qs = static_cast<const int8_t*>(tile);
    const auto* d = reinterpret_cast<const uint16_t*>(qs + head_dim * 16);
    for (int64_t g = 0; g < head_dim / 32; ++g) {
        const __m256 d0 = load_f16x8(d + g * 16), d1 = load_f16x8(d + g * 16 + 8);
        for (int64_t i = g * 32; i < g * 32 + 32; ++i) {
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + i * 16));
            const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
            const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
            _mm256_storeu_ps(kt + i * 16, _mm256_mul_ps(d0, q0));
            _mm256_storeu_ps(kt + i * 16 + 8, _mm256_mul_ps(d1, q1));
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels::x86
