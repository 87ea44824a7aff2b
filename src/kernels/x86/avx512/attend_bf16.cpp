// Blockwise attention with BF16 products (AVX512-BF16: vdpbf16ps), the form
// prefill takes for runs of many query rows. The steps are attend_512.hpp's
// with q, k, v and the probabilities p rounded to BF16 and every product
// summed in F32: one vdpbf16ps multiplies 32 pairs where an FMA multiplies 16,
// so the two products of attention take half the instructions. The scalar
// reference is ref::attend_block_bf16 (same roundings, F32 sums).
//
// vdpbf16ps adds a[2i]·b[2i] + a[2i+1]·b[2i+1] into lane i, so each operand
// holds pairs along the summed axis:
//   q·k  lanes are the 16 positions, pairs are dimensions: the key tile is
//        rearranged to kb[d/2][16][2], and the query pair (q[2p], q[2p+1])
//        is one 32-bit broadcast of the BF16 query row (AttendBlock::qb);
//   p·v  lanes are dimensions, pairs are positions: the value tile becomes
//        vb[8][head_dim][2], and the pair (p[2t], p[2t+1]) one broadcast.
// The tiles are rearranged once per call, for every row of the run.
#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/gcc_avx512_warnings.hpp"

#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int64_t kMaxHeadDim = 512;
constexpr int kRows = 8;  // rows whose scores (8) or two output vectors (16) stay in registers

// Two rows of 16 floats as 16 BF16 pairs: lane j of the result holds (a[j], b[j]).
inline __m512i interleave_bf16(__m512 a, __m512 b) {
    // cvtne2ps puts its second operand in the low half.
    const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a));
    const __m512i pairs =
        _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(pairs, both);
}

inline __m512 dot_pairs(__m512 acc, __m512i a, uint32_t pair) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a),
                            reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(pair))));
}

template <int R>
requires(R <= kRows) void attend_rows_bf16(const AttendBlock& a, int64_t r0, const uint16_t* kb,
                                           const uint16_t* vb) {
    const int64_t hd = a.head_dim;
    const auto* q = reinterpret_cast<const uint32_t*>(a.qb + r0 * hd);  // BF16 pairs
    __m512 s[R];
    for (int r = 0; r < R; ++r) s[r] = _mm512_setzero_ps();
    for (int64_t p = 0; p < hd / 2; ++p) {
        const __m512i k = _mm512_load_si512(kb + p * 32);
        for (int r = 0; r < R; ++r) s[r] = dot_pairs(s[r], k, q[r * hd / 2 + p]);
    }

    // Softmax step as in attend_512.hpp; p is rounded to BF16 for the
    // product, and l sums the rounded values, so o / l stays an exact
    // weighted mean of the values.
    alignas(64) uint32_t pb[R][8];  // BF16 pairs of p
    alignas(64) float alpha[16] = {};
    float best[R];
    new_maxima<R>(a, r0, s, alpha, best);
    for (int r = 0; r < R; ++r) {
        const int64_t row = r0 + r;
        if (best[r] == -__builtin_inff()) {
            _mm256_store_si256(reinterpret_cast<__m256i*>(pb[r]), _mm256_setzero_si256());
            continue;
        }
        const __m256bh e =
            _mm512_cvtneps_pbh(exp512(_mm512_sub_ps(s[r], _mm512_set1_ps(a.m[row]))));
        _mm256_store_si256(reinterpret_cast<__m256i*>(pb[r]), reinterpret_cast<__m256i>(e));
        a.l[row] = a.l[row] * alpha[r] + hsum512(_mm512_cvtpbh_ps(e));
    }

    float* o = a.o + r0 * hd;
    for (int64_t c = 0; c < hd; c += 32) {
        __m512 acc[R][2];
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(alpha[r]);
            acc[r][0] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c), av);
            acc[r][1] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c + 16), av);
        }
        for (int t = 0; t < 8; ++t) {
            const __m512i v0 = _mm512_load_si512(vb + (t * hd + c) * 2);
            const __m512i v1 = _mm512_load_si512(vb + (t * hd + c + 16) * 2);
            for (int r = 0; r < R; ++r) {
                acc[r][0] = dot_pairs(acc[r][0], v0, pb[r][t]);
                acc[r][1] = dot_pairs(acc[r][1], v1, pb[r][t]);
            }
        }
        for (int r = 0; r < R; ++r) {
            _mm512_storeu_ps(o + r * hd + c, acc[r][0]);
            _mm512_storeu_ps(o + r * hd + c + 16, acc[r][1]);
        }
    }
}

template <int R>
void attend_tail_bf16(const AttendBlock& a, int64_t r0, int64_t left, const uint16_t* kb,
                      const uint16_t* vb) {
    if constexpr (R > 0) {
        if (left == R)
            attend_rows_bf16<R>(a, r0, kb, vb);
        else
            attend_tail_bf16<R - 1>(a, r0, left, kb, vb);
    }
}

// Needs head_dim % 32 == 0 (ops.cpp sends other shapes elsewhere).
void attend_block_bf16(const AttendBlock& a) {
    const int64_t hd = a.head_dim;
    alignas(64) uint16_t kb[kMaxHeadDim * 16];
    alignas(64) uint16_t vb[kMaxHeadDim * 16];
    for (int64_t p = 0; p < hd / 2; ++p) {
        const __m512i k = interleave_bf16(_mm512_loadu_ps(a.kt + 2 * p * 16),
                                          _mm512_loadu_ps(a.kt + (2 * p + 1) * 16));
        _mm512_store_si512(kb + p * 32, k);
    }
    for (int64_t t = 0; t < 8; ++t) {
        for (int64_t c = 0; c < hd; c += 16) {
            const __m512i v = interleave_bf16(_mm512_loadu_ps(a.v + 2 * t * hd + c),
                                              _mm512_loadu_ps(a.v + (2 * t + 1) * hd + c));
            _mm512_store_si512(vb + (t * hd + c) * 2, v);
        }
    }
    int64_t r = 0;
    for (; r + kRows <= a.rows; r += kRows) attend_rows_bf16<kRows>(a, r, kb, vb);
    attend_tail_bf16<kRows - 1>(a, r, a.rows - r, kb, vb);
}

}  // namespace

void (*attend_bf16_entry())(const AttendBlock&) {
    return attend_block_bf16;
}

void register_attend_bf16(KernelTable& table) {
    if (cpu_features().bf16_products_fast) table.ops.attend_block_bf16 = attend_block_bf16;
}

}  // namespace pensieve::kernels::avx512
