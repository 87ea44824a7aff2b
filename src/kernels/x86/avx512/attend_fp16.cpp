// Attention over spans of whole F16 tiles with FP16 products (AVX512-FP16),
// for CPUs that have them (Sapphire Rapids and later Xeons): one vfmadd*ph
// makes 32 products where an F32 FMA makes 16, and the F16 tiles of the KV
// cache are its operands as stored, with no conversion. The steps, and the
// roundings that make it differ from attend_512.hpp's F32 span, are those of
// the scalar reference ref::attend_span_fp16 (see kernels/ops.hpp):
//   - q is scaled and rounded to FP16 once per call;
//   - each score sums its head_dim products in FP16, dimension by dimension;
//   - the softmax step runs in F32 on the scores of kFp16SpanTiles(R) tiles
//     (maxima, rescale factors, exponentials); p is rounded to FP16 and l
//     sums the rounded values;
//   - p · V sums the span's positions in FP16, in order, and the F32 output
//     takes that sum once per span: o = o · alpha + sum.
// A score of kFp16ScoreLimit or more, a p · V sum past FP16's range, or a
// NaN sends the step to the F32 kernel, before any state changes.
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

inline __m512h broadcast_h(const _Float16* p) {
    return _mm512_set1_ph(*p);
}

// Lanes of vector u whose tile exists and whose position lies in [first, last].
inline __mmask32 lanes32(int64_t lo, int64_t hi, int tiles_left) {
    const __mmask32 in_range = static_cast<__mmask32>(lanes(lo, hi)) |
                               (static_cast<__mmask32>(lanes(lo - 16, hi - 16)) << 16);
    return tiles_left >= 2 ? in_range : (tiles_left == 1 ? in_range & 0xFFFFu : 0u);
}

// Whether any lane is an infinity or a NaN (vfpclassph: QNaN 0x01, +inf 0x08,
// -inf 0x10, SNaN 0x80).
inline bool any_not_finite(__m512h x) {
    return _mm512_fpclass_ph_mask(x, 0x99) != 0;
}

// R rows over `nt` (1..2 NV) whole tiles from a.pos0: false, with nothing
// changed, when a score reaches kFp16ScoreLimit or a p · V sum is not
// finite. The next step's tiles (n_next
// of them from kts + nt, vs + nt) are prefetched into L2 on the way, as
// attend_512.hpp's span does.
template <int R, int NV>
bool span_rows_fp16(const AttendBlock& a, const _Float16* q16, const uint16_t* const* kts,
                    const uint16_t* const* vs, int nt, int n_next) {
    const uint16_t* const* next_k = kts + nt;
    const uint16_t* const* next_v = vs + nt;
    const int64_t hd = a.head_dim;
    // Tiles past nt repeat the last one (read, never used: masked out).
    const uint16_t* k[2 * NV];
    for (int t = 0; t < 2 * NV; ++t) k[t] = kts[t < nt ? t : nt - 1];

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
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k[2 * u] + d * 16));
            const __m256i hi =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k[2 * u + 1] + d * 16));
            kv[u] = _mm512_castsi512_ph(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
        }
        for (int r = 0; r < R; ++r) {
            const __m512h qv = broadcast_h(q16 + r * hd + d);
            for (int u = 0; u < NV; ++u) s[r][u] = _mm512_fmadd_ph(qv, kv[u], s[r][u]);
        }
    }
    // Masked lanes may hold anything: check the valid ones (NaN compares
    // unordered, so it fails too).
    __mmask32 valid[R][NV];
    const __m512h limit = _mm512_set1_ph(static_cast<_Float16>(kFp16ScoreLimit));
    for (int r = 0; r < R; ++r) {
        for (int u = 0; u < NV; ++u) {
            const int64_t p0 = a.pos0 + 32 * u;
            valid[r][u] = lanes32(a.first[r] - p0, a.last[r] - p0, nt - 2 * u);
            if (_mm512_mask_cmp_ph_mask(valid[r][u], _mm512_abs_ph(s[r][u]), limit, _CMP_NLT_UQ) !=
                0)
                return false;
        }
    }

    // The softmax step in F32: scores as two F32 halves per vector.
    const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
    alignas(64) float alpha[16] = {};
    float best[R];
    float m_old[R], l_old[R];
    __m512 sf[R][2 * NV];
    for (int r = 0; r < R; ++r) {
        __m512 top = neg_inf;
        for (int u = 0; u < NV; ++u) {
            const __m512i bits = _mm512_castph_si512(s[r][u]);
            sf[r][2 * u] = _mm512_mask_cvtxph_ps(neg_inf, static_cast<__mmask16>(valid[r][u]),
                                                 _mm256_castsi256_ph(_mm512_castsi512_si256(bits)));
            sf[r][2 * u + 1] =
                _mm512_mask_cvtxph_ps(neg_inf, static_cast<__mmask16>(valid[r][u] >> 16),
                                      _mm256_castsi256_ph(_mm512_extracti64x4_epi64(bits, 1)));
            top = _mm512_max_ps(top, _mm512_max_ps(sf[r][2 * u], sf[r][2 * u + 1]));
        }
        best[r] = hmax512(top);
        m_old[r] = a.m[r];
        l_old[r] = a.l[r];
        const float m = a.m[r] > best[r] ? a.m[r] : best[r];
        alpha[r] = best[r] == -__builtin_inff() ? 0.0f : a.m[r] - m;
        a.m[r] = best[r] == -__builtin_inff() ? a.m[r] : m;
    }
    _mm512_store_ps(alpha, exp512(_mm512_load_ps(alpha)));
    alignas(64) _Float16 p[R][NV * 32];
    for (int r = 0; r < R; ++r) {
        if (best[r] == -__builtin_inff()) {
            std::memset(p[r], 0, sizeof(p[r]));
            continue;
        }
        const __m512 mv = _mm512_set1_ps(a.m[r]);
        __m512 sum = _mm512_setzero_ps();
        for (int h = 0; h < 2 * NV; ++h) {
            const __m256h e = _mm512_cvtxps_ph(exp512(_mm512_sub_ps(sf[r][h], mv)));
            _mm256_store_si256(reinterpret_cast<__m256i*>(p[r] + 16 * h), _mm256_castph_si256(e));
            sum = _mm512_add_ps(sum, _mm512_cvtxph_ps(e));
        }
        a.l[r] = a.l[r] * alpha[r] + hsum512(sum);
    }

    // p · V in FP16, 64 dimensions (two vectors) of every row at a time,
    // into `part`; o changes only once every part is finite.
    alignas(64) _Float16 part[R][kMaxHeadDim];
    const int positions = 16 * nt;
    for (int64_t c = 0; c < hd; c += 64) {
        const int nv = hd - c >= 64 ? 2 : 1;
        __m512h acc[R][2];
        for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ph();
        for (int j = 0; j < positions; ++j) {
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
                const __m512h pv = broadcast_h(&p[r][j]);
                acc[r][0] = _mm512_fmadd_ph(pv, v0, acc[r][0]);
                if (nv == 2) acc[r][1] = _mm512_fmadd_ph(pv, v1, acc[r][1]);
            }
        }
        bool bad = false;
        for (int r = 0; r < R; ++r) {
            bad |= any_not_finite(acc[r][0]) || any_not_finite(acc[r][1]);
            _mm512_store_ph(part[r] + c, acc[r][0]);
            if (nv == 2) _mm512_store_ph(part[r] + c + 32, acc[r][1]);
        }
        if (bad) {
            for (int r = 0; r < R; ++r) {
                a.m[r] = m_old[r];
                a.l[r] = l_old[r];
            }
            return false;
        }
    }
    for (int r = 0; r < R; ++r) {
        float* o = a.o + r * hd;
        const __m512 av = _mm512_set1_ps(alpha[r]);
        for (int64_t c = 0; c < hd; c += 16) {
            const __m512 add = _mm512_cvtxph_ps(_mm256_load_ph(part[r] + c));
            _mm512_storeu_ps(o + c, _mm512_fmadd_ps(_mm512_loadu_ps(o + c), av, add));
        }
    }
    return true;
}

template <int R>
void span_fp16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
               int64_t n) {
    constexpr int NV = kFp16SpanTiles(R) / 2;
    const int64_t hd = a.head_dim;
    alignas(64) _Float16 q16[R * kMaxHeadDim];
    const __m512 scale = _mm512_set1_ps(a.scale);
    for (int64_t i = 0; i < R * hd; i += 16) {
        const __m256h h = _mm512_cvtxps_ph(_mm512_mul_ps(_mm512_loadu_ps(a.q + i), scale));
        _mm256_store_si256(reinterpret_cast<__m256i*>(q16 + i), _mm256_castph_si256(h));
    }
    AttendBlock b = a;
    for (int64_t t = 0; t < n; t += 2 * NV) {
        b.pos0 = a.pos0 + 16 * t;
        const int nt = static_cast<int>(n - t < 2 * NV ? n - t : 2 * NV);
        const int64_t left = n - t - nt;
        const int n_next = static_cast<int>(left < 2 * NV ? left : 2 * NV);
        if (!span_rows_fp16<R, NV>(b, q16, kts + t, vs + t, nt, n_next)) {
            attend_span_rows_all<R>(b, kts + t, vs + t, nt);
        }
    }
}

// 1 <= a.rows <= 8, head_dim % 32 == 0, head_dim <= 512.
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
