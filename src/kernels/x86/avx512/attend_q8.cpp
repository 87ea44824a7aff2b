// Attention over spans of whole Q8_0 KV tiles (kv_tile.hpp), 1..8 rows (a
// decoding token's query heads): OpsTable::attend_span_q8, whose scalar
// reference is ref::attend_span_q8.
//
// Scores in integers: each row's query is quantized as Q8_0 (the matmuls'
// activation quantizer), and q · k of one 32-dimension block is one exact
// int32 sum of `vpdpbusd` over the int8 keys as stored, scaled by the two
// blocks' scales: s = Σ_blocks (d_q · d_k) · Σ q_i k_i. Four key dimensions
// of the tile's 16 positions (64 bytes, [4][16]) are turned into one vector
// of [16][4] bytes by a dword and a byte shuffle, and offset by 128 to the
// unsigned operand (the query's block sum times 128, taken off where the
// sums start): two shuffles and an xor per 64 products of each row, against
// one conversion per 16 F16 keys and one multiply-add per 16 products of
// each row in the F16 span. Values: the int8 quants become F32 (shared by the
// rows) and each row's probability is scaled by the position's value scale
// (a gather of the 16 positions' scales per 32 dimensions). The softmax is
// the F16 span's (attend_512.hpp).
#include <immintrin.h>
#include "kernels/x86/gcc_avx512_warnings.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/x86/avx512/attend_512.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/quantize_256.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int kMaxRows = 8;
constexpr int64_t kMaxBlocks = 512 / kQK;  // kv_tile.cpp's largest head size

// The query rows as Q8_0: quants, block scales, and -128 · the block's sum
// of quants (where the integer sums start, for the unsigned keys).
struct Queries {
    BlockQ8_0 blocks[kMaxRows][kMaxBlocks];
    float d[kMaxRows][kMaxBlocks];
    int32_t start[kMaxRows][kMaxBlocks];
};

void quantize_queries(const AttendBlock& a, Queries& q) {
    const int64_t nb = a.head_dim / kQK;
    for (int64_t r = 0; r < a.rows; ++r) {
        x86::quantize_q8_0(a.q + r * a.head_dim, q.blocks[r], a.head_dim);
        for (int64_t b = 0; b < nb; ++b) {
            q.d[r][b] = _cvtsh_ss(q.blocks[r][b].d);
            int32_t sum = 0;
            for (int8_t v : q.blocks[r][b].qs) sum += v;
            q.start[r][b] = -128 * sum;
        }
    }
}

// Dimensions 4g..4g+3 of a key tile's 16 positions ([4][16] int8 at p) as
// [16][4] unsigned bytes (k + 128): dword j holds position j's four.
inline __m512i key_quad(const int8_t* p) {
    // Dword 4L + m <- dword 4m + L: lane L gets the four dimensions'
    // positions 4L..4L+3; then byte 4p + m <- byte 4m + p within each lane.
    const __m512i transpose =
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i interleave =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    const __m512i x = _mm512_permutexvar_epi32(transpose, _mm512_loadu_si512(p));
    return _mm512_xor_si512(_mm512_shuffle_epi8(x, interleave), _mm512_set1_epi8(-128));
}

inline __m512i broadcast_quad(const int8_t* q) {
    int32_t v = 0;
    std::memcpy(&v, q, 4);
    return _mm512_set1_epi32(v);
}

// R rows against NT whole tiles (tile t at a.pos0 + 16 t); the next span's
// tiles (n_next of them) are prefetched into L2 as this one is read.
template <int R, int NT>
void span_rows(const AttendBlock& a, const Queries& q, const void* const* key_tiles,
               const void* const* value_tiles, int n_next) {
    const uint8_t* kts[NT];  // this span's tiles, and the next span's (prefetched)
    const uint8_t* vs[NT];
    const uint8_t* next_k[NT];
    const uint8_t* next_v[NT];
    for (int t = 0; t < NT; ++t) {
        kts[t] = static_cast<const uint8_t*>(key_tiles[t]);
        vs[t] = static_cast<const uint8_t*>(value_tiles[t]);
        next_k[t] = t < n_next ? static_cast<const uint8_t*>(key_tiles[NT + t]) : nullptr;
        next_v[t] = t < n_next ? static_cast<const uint8_t*>(value_tiles[NT + t]) : nullptr;
    }
    const int64_t hd = a.head_dim;
    const int64_t nb = hd / kQK;
    const size_t key_scales = static_cast<size_t>(hd) * 16;  // bytes of quants before them
    const size_t row_bytes = static_cast<size_t>(nb) * sizeof(BlockQ8_0);
    __m512 s[R][NT];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < NT; ++t) s[r][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m512i acc[R][NT];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_set1_epi32(q.start[r][b]);
        for (int64_t g = 8 * b; g < 8 * b + 8; ++g) {
            for (int t = 0; t < n_next; ++t)
                _mm_prefetch(reinterpret_cast<const char*>(next_k[t] + 64 * g), _MM_HINT_T1);
            __m512i k[NT];
            for (int t = 0; t < NT; ++t)
                k[t] = key_quad(reinterpret_cast<const int8_t*>(kts[t]) + 64 * g);
            for (int r = 0; r < R; ++r) {
                const __m512i qv = broadcast_quad(q.blocks[r][b].qs + 4 * (g - 8 * b));
                for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], k[t], qv);
            }
        }
        for (int t = 0; t < NT; ++t) {
            if (t < n_next)
                _mm_prefetch(reinterpret_cast<const char*>(next_k[t] + key_scales + 32 * b),
                             _MM_HINT_T1);
            const __m512 dk = _mm512_cvtph_ps(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kts[t] + key_scales + 32 * b)));
            for (int r = 0; r < R; ++r) {
                s[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][t]),
                                          _mm512_mul_ps(dk, _mm512_set1_ps(q.d[r][b])), s[r][t]);
            }
        }
    }

    alignas(64) float alpha[16] = {};
    alignas(64) float p[R][NT * 16];
    span_softmax<R, NT>(a, s, alpha, p);

    // o = o · alpha + p · V over kB blocks of dimensions at a time (as many
    // accumulators as the registers hold): each row's probabilities times
    // the positions' value scales of the block, then the quants as F32.
    const __m512i scale_at =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(static_cast<int>(row_bytes)));
    float* o = a.o;
    const auto pv_pass = [&]<int kB>(int64_t b0) {
        alignas(64) float pd[R][kB][NT * 16];
        for (int t = 0; t < NT; ++t) {
            for (int u = 0; u < kB; ++u) {
                const __m512i raw = _mm512_i32gather_epi32(
                    scale_at, vs[t] + static_cast<size_t>(b0 + u) * sizeof(BlockQ8_0), 1);
                const __m512 dv = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
                for (int r = 0; r < R; ++r)
                    _mm512_store_ps(pd[r][u] + 16 * t,
                                    _mm512_mul_ps(_mm512_load_ps(p[r] + 16 * t), dv));
            }
        }
        const int64_t c = b0 * kQK;
        __m512 acc[R][2 * kB];
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(alpha[r]);
            for (int u = 0; u < 2 * kB; ++u)
                acc[r][u] = _mm512_mul_ps(_mm512_loadu_ps(o + r * hd + c + 16 * u), av);
        }
        for (int t = 0; t < NT; ++t) {
            for (int j = 0; j < 16; ++j) {
                const uint8_t* row = vs[t] + static_cast<size_t>(j) * row_bytes;
                if (t < n_next && b0 == 0) {
                    for (size_t at = 0; at < row_bytes; at += 64) {
                        _mm_prefetch(reinterpret_cast<const char*>(next_v[t] + j * row_bytes + at),
                                     _MM_HINT_T1);
                    }
                }
                __m512 vv[2 * kB];
                for (int u = 0; u < kB; ++u) {
                    const auto* qs = reinterpret_cast<const BlockQ8_0*>(row)[b0 + u].qs;
                    for (int h = 0; h < 2; ++h) {
                        vv[2 * u + h] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16 * h))));
                    }
                }
                for (int r = 0; r < R; ++r) {
                    for (int u = 0; u < kB; ++u) {
                        const __m512 pv = _mm512_set1_ps(pd[r][u][16 * t + j]);
                        acc[r][2 * u] = _mm512_fmadd_ps(pv, vv[2 * u], acc[r][2 * u]);
                        acc[r][2 * u + 1] = _mm512_fmadd_ps(pv, vv[2 * u + 1], acc[r][2 * u + 1]);
                    }
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int u = 0; u < 2 * kB; ++u) _mm512_storeu_ps(o + r * hd + c + 16 * u, acc[r][u]);
    };
    constexpr int kB = R <= 4 ? 2 : 1;
    int64_t b = 0;
    for (; b + kB <= nb; b += kB) pv_pass.template operator()<kB>(b);
    for (; b < nb; ++b) pv_pass.template operator()<1>(b);
}

// Tiles per span: the integer sums and the scores of R rows over NT tiles,
// and NT key vectors, stay in the 32 registers.
template <int R>
inline constexpr int kQ8SpanTiles = R <= 2   ? 4
                                    : R <= 4 ? 3
                                    : R <= 6 ? 2
                                             : 1;

template <int R>
void span_all(const AttendBlock& a, const Queries& q, const void* const* kts, const void* const* vs,
              int64_t n) {
    constexpr int NT = kQ8SpanTiles<R>;
    int64_t t = 0;
    AttendBlock b = a;
    for (; t + NT <= n; t += NT) {
        b.pos0 = a.pos0 + 16 * t;
        const int64_t left = n - t - NT;
        span_rows<R, NT>(b, q, kts + t, vs + t, static_cast<int>(left < NT ? left : NT));
    }
    for (; t < n; ++t) {
        b.pos0 = a.pos0 + 16 * t;
        span_rows<R, 1>(b, q, kts + t, vs + t, t + 1 < n ? 1 : 0);
    }
}

// OpsTable::attend_span_q8: 1 <= a.rows <= 8, head_dim % 32 == 0, head_dim
// <= 512.
void attend_span_q8(const AttendBlock& a, const void* const* kts, const void* const* vs,
                    int64_t n) {
    Queries q;
    quantize_queries(a, q);
    with_count<kMaxRows>(static_cast<int>(a.rows),
                         [&](auto r) { span_all<decltype(r)::value>(a, q, kts, vs, n); });
}

}  // namespace

void register_attend_q8(KernelTable& table) {
    table.ops.attend_span_q8 = attend_span_q8;
}

}  // namespace pensieve::kernels::avx512
