// Attention over spans of whole F16 tiles with FP16 products (AVX512-FP16),
// for CPUs that have them (Sapphire Rapids and later Xeons): one vfmadd*ph
// makes 32 products where an F32 FMA makes 16, and the F16 tiles of the KV
// cache are its operands as stored, with no conversion. The steps, and the
// roundings that make it differ from attend_512.hpp's F32 span, are those of
// the scalar reference ref::attend_span_fp16 (see kFp16StepTiles in
// kernels/ops.hpp):
//   - q is scaled and rounded to FP16 once per call;
//   - each score sums its products in two FP16 sums, over the even and over
//     the odd dimensions, then adds them;
//   - the softmax step takes the step's maximum and p = exp(s - b) in FP16
//     (fp16_exp in ops.hpp), Σp and the rescale factors in F32;
//   - p · V sums the step's even and odd positions in two FP16 sums per
//     dimension, then adds them, and the F32 state takes that sum once per
//     step: o = o · alpha + sum · beta.
// A row with a score of kFp16ScoreLimit or more, a p · V sum past FP16's
// range, or a NaN takes the step through the F32 kernel alone; its state
// changes only then. Every row attends every position of the span (the
// caller's contract), so no lane is masked.
//
// The two sums come from the layouts: a 512-bit load of a key tile holds two
// dimensions of 16 positions, met by a query vector holding those two
// dimensions (make_query_pairs); two rows of a value tile, interleaved, meet
// the dword broadcast of two probabilities. Either way no product needs a
// broadcast or shuffle of its own. SmolLM2-shaped spans (8 rows, head 64, 60
// tiles, 2-core Xeon): 138 GFLOP/s with one sum per score and per dimension
// and the softmax in F32, 197 with these (the FMA peak is 377 per core).
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int64_t kMaxHeadDim = kFp16MaxHeadDim;

// Whether any lane is an infinity or a NaN (vfpclassph: QNaN 0x01, +inf 0x08,
// -inf 0x10, SNaN 0x80).
inline bool any_not_finite(__m512h x) {
    return _mm512_fpclass_ph_mask(x, 0x99) != 0;
}

constexpr int kPositions = static_cast<int>(kFp16StepTokens);

// The maximum of x's 32 lanes, in every lane.
inline __m512h all_max(__m512h x) {
    __m512i v = _mm512_castph_si512(x);
    const auto max = [](__m512i a, __m512i b) {
        return _mm512_castph_si512(_mm512_max_ph(_mm512_castsi512_ph(a), _mm512_castsi512_ph(b)));
    };
    v = max(v, _mm512_shuffle_i64x2(v, v, 0x4E));                 // 256-bit halves
    v = max(v, _mm512_shuffle_i64x2(v, v, 0xB1));                 // 128-bit quarters
    v = max(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));           // 64 bits
    v = max(v, _mm512_shuffle_epi32(v, _MM_PERM_CDAB));           // 32 bits
    return _mm512_castsi512_ph(max(v, _mm512_rol_epi32(v, 16)));  // 16 bits
}

// exp(x) for x <= 0 in FP16 arithmetic, as fp16_exp in ops.hpp describes.
inline __m512h exp_ph(__m512h x) {
    using namespace fp16_exp;
    const auto c = [](float v) { return _mm512_set1_ph(static_cast<_Float16>(v)); };
    const __m512h k = _mm512_roundscale_ph(_mm512_mul_ph(x, c(kLog2e)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512h r = _mm512_fnmadd_ph(k, c(kLn2Hi), x);
    r = _mm512_fnmadd_ph(k, c(kLn2Lo), r);
    __m512h poly = _mm512_fmadd_ph(c(kTwentyFourth), r, c(kSixth));
    poly = _mm512_fmadd_ph(poly, r, c(0.5f));
    poly = _mm512_fmadd_ph(poly, r, c(1.0f));
    poly = _mm512_fmadd_ph(poly, r, c(1.0f));
    return _mm512_scalef_ph(poly, k);
}

constexpr int kHalfTiles = static_cast<int>(kFp16StepTiles / 2);
constexpr int kStepVectors = static_cast<int>(kFp16StepTiles / 2);  // of 32 scores

// Row r's query as pair vectors, qp[i * R + r]: dimension 2i in
// lanes 0-15, 2i + 1 in lanes 16-31, matching a 512-bit load of rows 2i and
// 2i + 1 of a key tile (16 positions each). Products of the two dimensions
// accumulate in separate halves, so the even and odd dimensions form two FP16
// sums, added at the end; nothing is broadcast or shuffled per product.
template <int R>
void make_query_pairs(const AttendBlock& a, __m512i* qp) {
    const int64_t hd = a.head_dim;
    const __m512 scale = _mm512_set1_ps(a.scale);
    for (int r = 0; r < R; ++r) {
        for (int64_t d = 0; d < hd; d += 16) {
            const __m256h h =
                _mm512_cvtxps_ph(_mm512_mul_ps(_mm512_loadu_ps(a.q + r * hd + d), scale));
            alignas(32) uint16_t q16[16];
            _mm256_store_si256(reinterpret_cast<__m256i*>(q16), _mm256_castph_si256(h));
            for (int i = 0; i < 16; i += 2) {
                qp[(d + i) / 2 * R + r] = _mm512_mask_blend_epi16(
                    0xFFFF0000u, _mm512_set1_epi16(static_cast<int16_t>(q16[i])),
                    _mm512_set1_epi16(static_cast<int16_t>(q16[i + 1])));
            }
        }
    }
}

// The scores of R rows over kHalfTiles tiles (from kts), into s + 16 t for
// tile t of row r at s + r * kPositions: one key load per tile per dimension
// pair serves every row. The next step's tiles (n_next of them from next_k)
// are prefetched into L2 on the way, as attend_512.hpp's span does.
template <int R>
void half_step_scores(int64_t hd, const __m512i* qp, const uint16_t* const* kts,
                      const uint16_t* const* next_k, int n_next, _Float16* s) {
    constexpr int T = kHalfTiles;
    const int64_t pairs = hd / 2;
    __m512h acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ph();
    for (int64_t i = 0; i < pairs; ++i) {
        for (int t = 0; t < T && t < n_next; ++t)
            _mm_prefetch(reinterpret_cast<const char*>(next_k[t] + i * 32), _MM_HINT_T1);
        __m512h kv[T];
        for (int t = 0; t < T; ++t) {
            kv[t] = _mm512_loadu_ph(kts[t] + i * 32);
            // Held in a register (and qv below): without this GCC folds the
            // load into each FMA, and the loads, not the FMAs, bound the loop.
            asm("" : "+v"(kv[t]));
        }
        for (int r = 0; r < R; ++r) {
            __m512h qv = _mm512_castsi512_ph(_mm512_load_si512(qp + i * R + r));
            asm("" : "+v"(qv));
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ph(qv, kv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int t = 0; t < T; ++t) {
            const __m512i bits = _mm512_castph_si512(acc[r][t]);
            const __m256h even = _mm256_castsi256_ph(_mm512_castsi512_si256(bits));
            const __m256h odd = _mm256_castsi256_ph(_mm512_extracti64x4_epi64(bits, 1));
            _mm256_store_si256(reinterpret_cast<__m256i*>(s + r * kPositions + 16 * t),
                               _mm256_castph_si256(_mm256_add_ph(even, odd)));
        }
    }
}

// p · V over a step for dimensions c .. c + 31 of R rows, into part + c (row
// r at part + r * kMaxHeadDim): rows j and j + 1 of the values are
// interleaved (two shuffles per position pair, shared by every row) and
// multiplied by the dword broadcast of (p_j, p_j+1), so the even and odd
// positions form two FP16 sums per dimension, added at the end. False in
// ok[r] where a sum is not finite.
template <int R>
void step_values(int64_t hd, int64_t c, const _Float16 (*p)[kPositions], const uint16_t* const* vs,
                 const uint16_t* const* next_v, int n_next, _Float16* part, bool* ok) {
    __m512h acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ph();
    for (int t = 0; t < static_cast<int>(kFp16StepTiles); ++t) {
        const uint16_t* v = vs[t] + c;
        if (t < n_next) {
            for (int j = 0; j < 16; ++j)
                _mm_prefetch(reinterpret_cast<const char*>(next_v[t] + j * hd + c), _MM_HINT_T1);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 16; j += 2) {
            const __m512i va = _mm512_loadu_si512(v + j * hd);
            const __m512i vb = _mm512_loadu_si512(v + (j + 1) * hd);
            const __m512h lo = _mm512_castsi512_ph(_mm512_unpacklo_epi16(va, vb));
            const __m512h hi = _mm512_castsi512_ph(_mm512_unpackhi_epi16(va, vb));
            for (int r = 0; r < R; ++r) {
                int32_t pair;
                std::memcpy(&pair, &p[r][16 * t + j], sizeof(pair));
                const __m512h pp = _mm512_castsi512_ph(_mm512_set1_epi32(pair));
                acc[r][0] = _mm512_fmadd_ph(pp, lo, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ph(pp, hi, acc[r][1]);
            }
        }
    }
    // Dword 4k + i of lo holds dimension 8k + i (i < 4), of hi 8k + 4 + i:
    // the even positions' sum in its low word, the odd ones' in its high.
    // clang-format off
    alignas(64) static constexpr uint16_t kOrder[32] = {
        0,  2,  4,  6,  32, 34, 36, 38,   8,  10, 12, 14, 40, 42, 44, 46,
        16, 18, 20, 22, 48, 50, 52, 54,   24, 26, 28, 30, 56, 58, 60, 62};
    // clang-format on
    const __m512i order = _mm512_load_si512(kOrder);
    for (int r = 0; r < R; ++r) {
        const __m512h lo = _mm512_add_ph(
            acc[r][0], _mm512_castsi512_ph(_mm512_srli_epi32(_mm512_castph_si512(acc[r][0]), 16)));
        const __m512h hi = _mm512_add_ph(
            acc[r][1], _mm512_castsi512_ph(_mm512_srli_epi32(_mm512_castph_si512(acc[r][1]), 16)));
        const __m512h sum = _mm512_castsi512_ph(
            _mm512_permutex2var_epi16(_mm512_castph_si512(lo), order, _mm512_castph_si512(hi)));
        ok[r] = ok[r] && !any_not_finite(sum);
        _mm512_store_ph(part + r * kMaxHeadDim + c, sum);
    }
}

// R rows over one step of kFp16StepTiles tiles from a.pos0.
template <int R>
void step_rows_fp16(const AttendBlock& a, const __m512i* qp, const uint16_t* const* kts,
                    const uint16_t* const* vs, int n_next) {
    constexpr int NV = kStepVectors;
    const uint16_t* const* next_k = kts + kFp16StepTiles;
    const uint16_t* const* next_v = vs + kFp16StepTiles;
    const int64_t hd = a.head_dim;

    alignas(64) _Float16 scores[R][kPositions];
    for (int h = 0; h < kFp16StepTiles; h += kHalfTiles) {
        half_step_scores<R>(hd, qp, kts + h, next_k + h, n_next - h, &scores[0][h * 16]);
    }
    // The scores as vectors of 32, each from the two 256-bit stores that
    // wrote it (one 512-bit load of both would wait for them to reach the
    // cache: store forwarding takes a load from one store only).
    __m512h x[R][NV];
    for (int r = 0; r < R; ++r) {
        for (int u = 0; u < NV; ++u) {
            const auto* half = reinterpret_cast<const __m256i*>(&scores[r][32 * u]);
            x[r][u] = _mm512_castsi512_ph(_mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_load_si256(half)), _mm256_load_si256(half + 1), 1));
        }
    }
    // Rows whose scores all stay below the limit (NaN compares unordered,
    // so it fails too).
    bool ok[R];
    const __m512h limit = _mm512_set1_ph(static_cast<_Float16>(kFp16ScoreLimit));
    for (int r = 0; r < R; ++r) {
        ok[r] = true;
        for (int u = 0; u < NV; ++u)
            ok[r] = ok[r] && _mm512_cmp_ph_mask(_mm512_abs_ph(x[r][u]), limit, _CMP_NLT_UQ) == 0;
    }

    // The softmax step: the step's maximum b and p = exp(s - b) in FP16
    // (fp16_exp in ops.hpp), Σp and the state's rescale factors in F32, with
    // row r in lane r (built in registers: a vector load of scalars just
    // stored would wait for them to reach the cache). Rows that failed get
    // p = 0 and keep their state.
    __m512h top[R];
    __m512 best = _mm512_setzero_ps();
    for (int r = 0; r < R; ++r) {
        __m512h t = x[r][0];
        for (int u = 1; u < NV; ++u) t = _mm512_max_ph(t, x[r][u]);
        top[r] = all_max(t);
        best = _mm512_mask_mov_ps(best, static_cast<__mmask16>(1u << r),
                                  _mm512_cvtxph_ps(_mm512_castph512_ph256(top[r])));
    }
    const __m512 m_old = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << R) - 1), a.m);
    const __m512 m_new = _mm512_max_ps(m_old, best);
    const __m512 alpha = exp512(_mm512_sub_ps(m_old, m_new));
    const __m512 beta = exp512(_mm512_sub_ps(best, m_new));
    const auto lane = [](__m512 v, int r) {
        return _mm512_permutexvar_ps(_mm512_set1_epi32(r), v);
    };
    float l_new[R];
    alignas(64) _Float16 p[R][kPositions];
    for (int r = 0; r < R; ++r) {
        if (!ok[r]) {
            std::memset(p[r], 0, sizeof(p[r]));
            continue;
        }
        __m512 sum = _mm512_setzero_ps();
        for (int u = 0; u < NV; ++u) {
            const __m512h e = exp_ph(_mm512_sub_ph(x[r][u], top[r]));
            _mm512_store_ph(p[r] + 32 * u, e);
            const __m512i bits = _mm512_castph_si512(e);
            sum = _mm512_add_ps(
                sum,
                _mm512_add_ps(
                    _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_castsi512_si256(bits))),
                    _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_extracti64x4_epi64(bits, 1)))));
        }
        l_new[r] = a.l[r] * _mm512_cvtss_f32(lane(alpha, r)) +
                   hsum512(sum) * _mm512_cvtss_f32(lane(beta, r));
    }

    alignas(64) _Float16 part[R][kMaxHeadDim];
    for (int64_t c = 0; c < hd; c += 32) step_values<R>(hd, c, p, vs, next_v, n_next, part[0], ok);
    for (int r = 0; r < R; ++r) {
        float* o = a.o + r * hd;
        if (!ok[r]) {  // F32, this row alone
            AttendBlock b = a;
            b.q = a.q + r * hd;
            b.rows = 1;
            b.first = a.first + r;
            b.last = a.last + r;
            b.m = a.m + r;
            b.l = a.l + r;
            b.o = o;
            attend_span_rows_all<1, false>(b, kts, vs, kFp16StepTiles);
            continue;
        }
        a.m[r] = _mm512_cvtss_f32(lane(m_new, r));
        a.l[r] = l_new[r];
        const __m512 av = lane(alpha, r), bv = lane(beta, r);
        for (int64_t c = 0; c < hd; c += 16) {
            const __m512 add = _mm512_cvtxph_ps(_mm256_load_ph(part[r] + c));
            _mm512_storeu_ps(o + c,
                             _mm512_fmadd_ps(add, bv, _mm512_mul_ps(_mm512_loadu_ps(o + c), av)));
        }
    }
}

template <int R>
void span_fp16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
               int64_t n) {
    __m512i qp[R * kMaxHeadDim / 2];
    make_query_pairs<R>(a, qp);
    AttendBlock b = a;
    for (int64_t t = 0; t < n; t += kFp16StepTiles) {
        b.pos0 = a.pos0 + 16 * t;
        const int64_t left = n - t - kFp16StepTiles;
        const int n_next = static_cast<int>(left < kFp16StepTiles ? left : kFp16StepTiles);
        step_rows_fp16<R>(b, qp, kts + t, vs + t, n_next);
    }
}

// 1 <= a.rows <= 8, head_dim % 32 == 0, head_dim <= kMaxHeadDim, n % kFp16StepTiles == 0.
void attend_span_fp16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n) {
    with_count<8>(static_cast<int>(a.rows),
                  [&](auto r) { span_fp16<decltype(r)::value>(a, kts, vs, n); });
}

}  // namespace

void register_attend_fp16(KernelTable& table) {
    if (cpu_features().avx512fp16) table.ops.attend_span_fp16 = attend_span_fp16;
}

}  // namespace pensieve::kernels::avx512
