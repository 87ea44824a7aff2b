// Attention over spans of whole F16 tiles with FP16 products (AVX512-FP16),
// for CPUs that have them (Sapphire Rapids and later Xeons): one vfmadd*ph
// makes 32 products where an F32 FMA makes 16, and the F16 tiles of the KV
// cache are its operands as stored, with no conversion. The steps, and the
// roundings that make it differ from attend_512.hpp's F32 span, are those of
// the scalar reference ref::attend_span_fp16 (see kFp16StepTiles in
// kernels/ops.hpp):
//   - q is scaled and rounded to FP16 once per call;
//   - each score sums its head_dim products in FP16, dimension by dimension;
//   - the softmax step runs in F32 on the scores of a step's kFp16StepTiles
//     tiles (the step's maximum, rescale factors, exponentials); p, relative
//     to the step's maximum, is rounded to FP16;
//   - p · V sums the step's positions in FP16, in order, and the F32 state
//     takes that sum once per step: o = o · alpha + sum · beta.
// A row with a score of kFp16ScoreLimit or more, a p · V sum past FP16's
// range, or a NaN takes the step through the F32 kernel alone; its state
// changes only then. Every row attends every position of the span (the
// caller's contract), so no lane is masked.
//
// Vector u of a row's scores covers positions pos0 + 32 u .. + 31: two tiles,
// each key row d a 256-bit load from each.
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int64_t kMaxHeadDim = 512;

// Whether any lane is an infinity or a NaN (vfpclassph: QNaN 0x01, +inf 0x08,
// -inf 0x10, SNaN 0x80).
inline bool any_not_finite(__m512h x) {
    return _mm512_fpclass_ph_mask(x, 0x99) != 0;
}

constexpr int kStepVectors = static_cast<int>(kFp16StepTiles / 2);  // of 32 scores

// R rows over one step of kFp16StepTiles tiles from a.pos0. The next step's
// tiles (n_next of them from kts + kFp16StepTiles) are prefetched into L2 on
// the way, as attend_512.hpp's span does.
template <int R>
void step_rows_fp16(const AttendBlock& a, const _Float16* q16, const uint16_t* const* kts,
                    const uint16_t* const* vs, int n_next) {
    constexpr int NV = kStepVectors;
    constexpr int kPositions = static_cast<int>(kFp16StepTokens);
    const uint16_t* const* next_k = kts + kFp16StepTiles;
    const uint16_t* const* next_v = vs + kFp16StepTiles;
    const int64_t hd = a.head_dim;

    __m512h s[R][NV];
    for (int r = 0; r < R; ++r)
        for (int u = 0; u < NV; ++u) s[r][u] = _mm512_setzero_ph();
    for (int64_t d = 0; d < hd; ++d) {
        if (d % 2 == 0) {
            for (int t = 0; t < n_next; ++t)
                _mm_prefetch(reinterpret_cast<const char*>(next_k[t] + d * 16), _MM_HINT_T1);
        }
        __m512h kv[NV];
        for (int u = 0; u < NV; ++u) {
            const __m256i lo =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kts[2 * u] + d * 16));
            const __m256i hi =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kts[2 * u + 1] + d * 16));
            kv[u] = _mm512_castsi512_ph(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
        }
        for (int r = 0; r < R; ++r) {
            const __m512h qv = _mm512_set1_ph(q16[r * hd + d]);
            for (int u = 0; u < NV; ++u) s[r][u] = _mm512_fmadd_ph(qv, kv[u], s[r][u]);
        }
    }
    // Rows whose scores all stay below the limit (NaN compares unordered,
    // so it fails too).
    bool ok[R];
    const __m512h limit = _mm512_set1_ph(static_cast<_Float16>(kFp16ScoreLimit));
    for (int r = 0; r < R; ++r) {
        ok[r] = true;
        for (int u = 0; u < NV; ++u)
            ok[r] = ok[r] && _mm512_cmp_ph_mask(_mm512_abs_ph(s[r][u]), limit, _CMP_NLT_UQ) == 0;
    }

    // The softmax step in F32: scores as two F32 halves per vector. Rows
    // that failed get p = 0 and keep their state.
    alignas(64) float alpha[16] = {}, beta[16] = {};
    float best[R], m_new[R], l_new[R];
    __m512 sf[R][2 * NV];
    for (int r = 0; r < R; ++r) {
        __m512 top = _mm512_set1_ps(-__builtin_inff());
        for (int u = 0; u < NV; ++u) {
            const __m512i bits = _mm512_castph_si512(s[r][u]);
            sf[r][2 * u] = _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_castsi512_si256(bits)));
            sf[r][2 * u + 1] =
                _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_extracti64x4_epi64(bits, 1)));
            top = _mm512_max_ps(top, _mm512_max_ps(sf[r][2 * u], sf[r][2 * u + 1]));
        }
        best[r] = hmax512(top);
        m_new[r] = a.m[r] > best[r] ? a.m[r] : best[r];
        alpha[r] = a.m[r] - m_new[r];
        beta[r] = best[r] - m_new[r];
    }
    _mm512_store_ps(alpha, exp512(_mm512_load_ps(alpha)));
    _mm512_store_ps(beta, exp512(_mm512_load_ps(beta)));
    alignas(64) _Float16 p[R][kPositions];
    for (int r = 0; r < R; ++r) {
        if (!ok[r]) {
            std::memset(p[r], 0, sizeof(p[r]));
            continue;
        }
        const __m512 mv = _mm512_set1_ps(best[r]);
        __m512 sum = _mm512_setzero_ps();
        for (int h = 0; h < 2 * NV; ++h) {
            const __m256h e = _mm512_cvtxps_ph(exp512(_mm512_sub_ps(sf[r][h], mv)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(p[r] + 16 * h), _mm256_castph_si256(e));
            sum = _mm512_add_ps(sum, _mm512_cvtxph_ps(e));
        }
        l_new[r] = a.l[r] * alpha[r] + hsum512(sum) * beta[r];
    }

    // p · V in FP16, 64 dimensions (two vectors) of every row at a time,
    // into `part`.
    alignas(64) _Float16 part[R][kMaxHeadDim];
    for (int64_t c = 0; c < hd; c += 64) {
        const int nv = hd - c >= 64 ? 2 : 1;
        __m512h acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ph();
        for (int j = 0; j < kPositions; ++j) {
            const uint16_t* v = vs[j / 16] + (j % 16) * hd + c;
            if (j / 16 < n_next) {
                const char* nv_row =
                    reinterpret_cast<const char*>(next_v[j / 16] + (j % 16) * hd + c);
                _mm_prefetch(nv_row, _MM_HINT_T1);
                if (nv == 2) _mm_prefetch(nv_row + 64, _MM_HINT_T1);
            }
            const __m512h v0 = _mm512_loadu_ph(v);
            const __m512h v1 = nv == 2 ? _mm512_loadu_ph(v + 32) : _mm512_setzero_ph();
            for (int r = 0; r < R; ++r) {
                const __m512h pv = _mm512_set1_ph(p[r][j]);
                acc[r][0] = _mm512_fmadd_ph(pv, v0, acc[r][0]);
                if (nv == 2) acc[r][1] = _mm512_fmadd_ph(pv, v1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; ++r) {
            ok[r] = ok[r] && !any_not_finite(acc[r][0]) && !any_not_finite(acc[r][1]);
            _mm512_store_ph(part[r] + c, acc[r][0]);
            if (nv == 2) _mm512_store_ph(part[r] + c + 32, acc[r][1]);
        }
    }
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
            attend_span_rows_all<1>(b, kts, vs, kFp16StepTiles);
            continue;
        }
        a.m[r] = m_new[r];
        a.l[r] = l_new[r];
        const __m512 av = _mm512_set1_ps(alpha[r]), bv = _mm512_set1_ps(beta[r]);
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
    const int64_t hd = a.head_dim;
    alignas(64) _Float16 q16[R * kMaxHeadDim];
    const __m512 scale = _mm512_set1_ps(a.scale);
    for (int64_t i = 0; i < R * hd; i += 16) {
        const __m256h h = _mm512_cvtxps_ph(_mm512_mul_ps(_mm512_loadu_ps(a.q + i), scale));
        _mm256_store_si256(reinterpret_cast<__m256i*>(q16 + i), _mm256_castph_si256(h));
    }
    AttendBlock b = a;
    for (int64_t t = 0; t < n; t += kFp16StepTiles) {
        b.pos0 = a.pos0 + 16 * t;
        const int64_t left = n - t - kFp16StepTiles;
        const int n_next = static_cast<int>(left < kFp16StepTiles ? left : kFp16StepTiles);
        step_rows_fp16<R>(b, q16, kts + t, vs + t, n_next);
    }
}

// 1 <= a.rows <= 8, head_dim % 32 == 0, head_dim <= 512, n % kFp16StepTiles == 0.
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
