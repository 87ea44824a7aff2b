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
// The tiles are rearranged once per call, for every row of the run. The span
// form (attend_span_bf16) does the same over many whole F16 tiles, a chunk of
// tiles at a time, with one softmax step per kBf16StepTiles tiles.
#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/gcc_avx512_warnings.hpp"

#include "kernels/kv_tile.hpp"
#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"

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

// One tile's keys and values (F32, or F16 as the cache stores them: T =
// float or uint16_t, load_tile16) in the kb / vb layouts: keys pair
// dimensions, values pair positions.
template <typename T>
void rearrange_tile(const T* kt, const T* v, int64_t hd, uint16_t* kb, uint16_t* vb) {
    for (int64_t p = 0; p < hd / 2; ++p) {
        _mm512_store_si512(kb + p * 32, interleave_bf16(load_tile16(kt + 2 * p * 16),
                                                        load_tile16(kt + (2 * p + 1) * 16)));
    }
    for (int64_t t = 0; t < 8; ++t) {
        for (int64_t c = 0; c < hd; c += 16) {
            _mm512_store_si512(vb + (t * hd + c) * 2,
                               interleave_bf16(load_tile16(v + 2 * t * hd + c),
                                               load_tile16(v + (2 * t + 1) * hd + c)));
        }
    }
}

// Needs head_dim % 32 == 0 (ops.cpp sends other shapes elsewhere).
void attend_block_bf16(const AttendBlock& a) {
    const int64_t hd = a.head_dim;
    alignas(64) uint16_t kb[kMaxHeadDim * 16];
    alignas(64) uint16_t vb[kMaxHeadDim * 16];
    rearrange_tile(a.kt, a.v, hd, kb, vb);
    int64_t r = 0;
    for (; r + kRows <= a.rows; r += kRows) attend_rows_bf16<kRows>(a, r, kb, vb);
    attend_tail_bf16<kRows - 1>(a, r, a.rows - r, kb, vb);
}

// ---- spans of whole F16 tiles (prefill at depth) ---------------------------

// The F16 tiles are rearranged chunk by chunk into kb / vb layouts (as
// attend_block_bf16's), in a buffer of this many elements each for keys and
// values (64 KiB each), for all rows of the call; then each group of up to
// kRows rows takes the chunk's softmax steps of kBf16StepTiles tiles.
constexpr int64_t kChunkElements = 32 * 1024;

// e^x for the probabilities of a step, x = s - m <= 0, to be rounded to
// BF16 next (8 bits): a one-term reduction x = n ln 2 + r, a degree-4
// polynomial fitted for the least largest relative error on |r| <= ln 2 / 2
// (2^-18.5 with F32 arithmetic, so the BF16 value differs from that of the
// exact e^x only where e^x lies within 2^-18.5 of a rounding boundary) and
// vscalefps for 2^n, which also flushes what lies below F32's range. x must
// not be -inf (x - n ln 2 would be NaN): masked scores are raised to -104
// first, whose e^x is below F32's range.
inline __m512 exp_for_bf16(__m512 x) {
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147181f), x);
    __m512 p = _mm512_set1_ps(0.0414586067f);
    for (const float c : {0.167909071f, 0.500043571f, 0.999963403f, 0.999999285f})
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    return _mm512_scalef_ps(p, n);
}

// Lane r of the result (r < 8) is op's reduction of the 16 lanes of x[r]
// (x[r] for R <= r < 8 taken as `fill`); lanes 8..15 are left undefined.
// Three rounds of halving, each combining two vectors' halves into one
// vector, then a swap within pairs of lanes and one permute.
template <int R, typename Op>
requires(R <= 8) __m512 reduce_rows(const __m512* x, __m512 fill, Op op) {
    __m512 v[8];
    for (int r = 0; r < 8; ++r) v[r] = r < R ? x[r] : fill;
    // [x0 lanes 0-7 | x1 lanes 0-7] op [x0 8-15 | x1 8-15]: 8 partials each.
    __m512 w[4];
    for (int i = 0; i < 4; ++i) {
        w[i] = op(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                  _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    // One 128-bit lane per row, 4 partials: rows 0-3, then rows 4-7.
    __m512 u[2];
    for (int i = 0; i < 2; ++i) {
        u[i] = op(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                  _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    }
    // 128-bit lane i: rows i and i + 4, two partials each, then one.
    __m512 z = op(_mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(1, 0, 1, 0)),
                  _mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 2, 3, 2)));
    z = op(z, _mm512_shuffle_ps(z, z, _MM_SHUFFLE(2, 3, 0, 1)));
    // Row i at element 4i, row i + 4 at 4i + 2.
    return _mm512_permutexvar_ps(
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 14, 10, 6, 2, 12, 8, 4, 0), z);
}

// One softmax step of rows r0 .. r0 + R - 1 over NT rearranged tiles (tile t
// at kb / vb + t * 16 * head_dim, positions from pos0 + 16 t): the scores of
// all NT tiles stay in registers, and p · V runs NT * 16 positions deep.
template <int R, int NT>
void span_step_bf16(const AttendBlock& a, int64_t r0, const uint16_t* kb, const uint16_t* vb,
                    int64_t pos0) {
    const int64_t hd = a.head_dim;
    const int64_t tile = 16 * hd;
    const auto* q = reinterpret_cast<const uint32_t*>(a.qb + r0 * hd);  // BF16 pairs
    __m512 s[R][NT];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) s[r][t] = _mm512_setzero_ps();
    for (int64_t p = 0; p < hd / 2; ++p) {
        __m512i k[NT];
        for (int t = 0; t < NT; ++t) k[t] = _mm512_load_si512(kb + t * tile + p * 32);
        for (int r = 0; r < R; ++r) {
            const uint32_t pair = q[r * hd / 2 + p];
            for (int t = 0; t < NT; ++t) s[r][t] = dot_pairs(s[r][t], k[t], pair);
        }
    }

    // The step's softmax with the rows' values in lanes (lane r: row r0 + r):
    // their maxima, sums, m, l and rescale factors are vectors, and each
    // row's part of one is taken by a permute, so no value makes a round
    // trip through memory. The probabilities are relative to the step's own
    // maximum b, p = exp(s - b), rounded to BF16 for the product; Σp (of the
    // rounded values) and p · V start from zero, and the state takes them in
    // F32 with m' = max(m, b): l = l · exp(m - m') + Σp · exp(b - m'), o
    // likewise. So what a step adds depends on its scores alone, not on the
    // steps before it (ops.hpp).
    // The maxima are taken over the unscaled scores (scale > 0, and scaling
    // after the maximum rounds to the same value), and x = s · scale - b is
    // one fused operation per score vector.
    const __m512 scale = _mm512_set1_ps(a.scale);
    const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
    __m512 top[R];
    bool whole[R];
    for (int r = 0; r < R; ++r) {
        const int64_t row = r0 + r;
        // Masks only for a row whose range starts or ends inside the step.
        whole[r] = a.first[row] <= pos0 && a.last[row] >= pos0 + 16 * NT - 1;
        top[r] = neg_inf;
        for (int t = 0; t < NT; ++t) {
            const int64_t p0 = pos0 + 16 * t;
            if (!whole[r]) {
                s[r][t] = _mm512_mask_mov_ps(neg_inf, lanes(a.first[row] - p0, a.last[row] - p0),
                                             s[r][t]);
            }
            top[r] = _mm512_max_ps(top[r], s[r][t]);
        }
    }
    constexpr auto kRowLanes = static_cast<__mmask16>((1u << R) - 1);
    const __m512 best = _mm512_mul_ps(
        reduce_rows<R>(top, neg_inf, [](__m512 x, __m512 y) { return _mm512_max_ps(x, y); }),
        scale);
    const __m512 m_old = _mm512_mask_loadu_ps(neg_inf, kRowLanes, a.m + r0);
    const __mmask16 none = _mm512_cmp_ps_mask(best, neg_inf, _CMP_EQ_OQ);  // nothing to attend
    const __m512 m_new = _mm512_max_ps(m_old, best);
    // exp(m - m'): 0 on a row's first step (m = -inf), 1 where the row
    // attends nothing here (its state stays); exp(b - m'): 0 there.
    const __m512 alpha =
        _mm512_mask_blend_ps(none, exp512(_mm512_sub_ps(m_old, m_new)), _mm512_set1_ps(1.0f));
    const __m512 beta =
        _mm512_mask_blend_ps(none, exp512(_mm512_sub_ps(best, m_new)), _mm512_setzero_ps());
    _mm512_mask_storeu_ps(a.m + r0, kRowLanes, m_new);

    alignas(64) uint32_t pb[R][NT * 8];                  // BF16 pairs of p
    const __m512i ones = _mm512_set1_epi32(0x3f803f80);  // BF16 pairs (1, 1)
    __m512 sums[R];
    for (int r = 0; r < R; ++r) {
        sums[r] = _mm512_setzero_ps();
        if ((none >> r) & 1) {
            for (int t = 0; t < NT; ++t)
                _mm256_store_si256(reinterpret_cast<__m256i*>(pb[r] + 8 * t),
                                   _mm256_setzero_si256());
            continue;
        }
        const __m512 bv = _mm512_permutexvar_ps(_mm512_set1_epi32(r), best);
        const auto x = [&](int t) {
            const __m512 v = _mm512_fmsub_ps(s[r][t], scale, bv);
            return whole[r] ? v : _mm512_max_ps(v, _mm512_set1_ps(-104.0f));
        };
        int t = 0;
        for (; t + 2 <= NT; t += 2) {
            const __m512i e = reinterpret_cast<__m512i>(
                _mm512_cvtne2ps_pbh(exp_for_bf16(x(t + 1)), exp_for_bf16(x(t))));
            _mm512_storeu_si512(pb[r] + 8 * t, e);
            sums[r] = _mm512_dpbf16_ps(sums[r], reinterpret_cast<__m512bh>(e),
                                       reinterpret_cast<__m512bh>(ones));
        }
        if (t < NT) {
            const __m256bh e = _mm512_cvtneps_pbh(exp_for_bf16(x(t)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(pb[r] + 8 * t),
                               reinterpret_cast<__m256i>(e));
            sums[r] = _mm512_add_ps(sums[r], _mm512_cvtpbh_ps(e));
        }
    }
    const __m512 l_new = _mm512_fmadd_ps(
        reduce_rows<R>(sums, _mm512_setzero_ps(),
                       [](__m512 x, __m512 y) { return _mm512_add_ps(x, y); }),
        beta, _mm512_mul_ps(_mm512_mask_loadu_ps(_mm512_setzero_ps(), kRowLanes, a.l + r0), alpha));
    _mm512_mask_storeu_ps(a.l + r0, kRowLanes, l_new);

    float* o = a.o + r0 * hd;
    __m512 av[R], bv[R];  // each row's alpha and beta in every lane
    for (int r = 0; r < R; ++r) {
        av[r] = _mm512_permutexvar_ps(_mm512_set1_epi32(r), alpha);
        bv[r] = _mm512_permutexvar_ps(_mm512_set1_epi32(r), beta);
    }
    for (int64_t c = 0; c < hd; c += 32) {
        __m512 acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (int t = 0; t < NT; ++t) {
            for (int u = 0; u < 8; ++u) {
                const __m512i v0 = _mm512_load_si512(vb + t * tile + (u * hd + c) * 2);
                const __m512i v1 = _mm512_load_si512(vb + t * tile + (u * hd + c + 16) * 2);
                for (int r = 0; r < R; ++r) {
                    acc[r][0] = dot_pairs(acc[r][0], v0, pb[r][t * 8 + u]);
                    acc[r][1] = dot_pairs(acc[r][1], v1, pb[r][t * 8 + u]);
                }
            }
        }
        for (int r = 0; r < R; ++r) {
            for (int h = 0; h < 2; ++h) {
                float* dst = o + r * hd + c + 16 * h;
                _mm512_storeu_ps(dst, _mm512_fmadd_ps(acc[r][h], bv[r],
                                                      _mm512_mul_ps(_mm512_loadu_ps(dst), av[r])));
            }
        }
    }
}

// The steps of the span forms below over n tiles, chunk by chunk: each
// chunk's tiles rearranged by rearrange(t, kb, vb) (tile t of the span into
// the kb / vb layouts), then every group of rows takes the chunk's steps.
template <typename Rearrange>
void span_bf16_chunks(const AttendBlock& a, int64_t n, Rearrange rearrange) {
    const int64_t hd = a.head_dim;
    const int64_t tile = 16 * hd;
    // Tiles per chunk, whole steps: 30 at head size 64, 3 at 512.
    const int64_t chunk = kChunkElements / tile / kBf16StepTiles * kBf16StepTiles;
    alignas(64) uint16_t kb[kChunkElements];
    alignas(64) uint16_t vb[kChunkElements];
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        const int64_t tiles = n - t0 < chunk ? n - t0 : chunk;
        for (int64_t t = 0; t < tiles; ++t) rearrange(t0 + t, kb + t * tile, vb + t * tile);
        for (int64_t r0 = 0; r0 < a.rows; r0 += kRows) {
            const int rows = static_cast<int>(a.rows - r0 < kRows ? a.rows - r0 : kRows);
            for (int64_t t = 0; t < tiles; t += kBf16StepTiles) {
                const int nt =
                    static_cast<int>(tiles - t < kBf16StepTiles ? tiles - t : kBf16StepTiles);
                const int64_t pos0 = a.pos0 + 16 * (t0 + t);
                with_count<kRows>(rows, [&](auto r) {
                    with_count<kBf16StepTiles>(nt, [&](auto k) {
                        span_step_bf16<decltype(r)::value, decltype(k)::value>(a, r0, kb + t * tile,
                                                                               vb + t * tile, pos0);
                    });
                });
            }
        }
    }
}

// OpsTable::attend_span_bf16: head_dim % 32 == 0, head_dim <= 512.
void attend_span_bf16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n) {
    span_bf16_chunks(a, n, [&](int64_t t, uint16_t* kb, uint16_t* vb) {
        rearrange_tile(kts[t], vs[t], a.head_dim, kb, vb);
    });
}

// OpsTable::attend_span_bf16_typed: the same over Q8_0 or BF16 tiles, each
// loaded as F32 (kv_tile.hpp's load_keys / load_values, exact) and then
// rearranged.
void attend_span_bf16_typed(const AttendBlock& a, TensorType type, const void* const* kts,
                            const void* const* vs, int64_t n) {
    alignas(64) float kt[kMaxHeadDim * 16];
    alignas(64) float v[kMaxHeadDim * 16];
    span_bf16_chunks(a, n, [&](int64_t t, uint16_t* kb, uint16_t* vb) {
        load_keys(type, kts[t], a.head_dim, 16, kt);
        load_values(type, vs[t], a.head_dim, 16, v);
        rearrange_tile(static_cast<const float*>(kt), static_cast<const float*>(v), a.head_dim, kb,
                       vb);
    });
}

}  // namespace

void (*attend_bf16_entry())(const AttendBlock&) {
    return attend_block_bf16;
}

AttendSpanTypedFn attend_span_bf16_typed_entry() {
    return attend_span_bf16_typed;
}

AttendSpanFn attend_span_bf16_entry() {
    return attend_span_bf16;
}

void register_attend_bf16(KernelTable& table) {
    if (cpu_features().bf16_products_fast) {
        table.ops.attend_block_bf16 = attend_block_bf16;
        table.ops.attend_span_bf16 = attend_span_bf16;
        table.ops.attend_span_bf16_typed = attend_span_bf16_typed;
    }
}

}  // namespace pensieve::kernels::avx512
