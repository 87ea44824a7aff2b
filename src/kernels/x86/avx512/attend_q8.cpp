// Attention over spans of whole Q8_0 KV tiles (kv_tile.hpp), 1..8 rows (a
// decoding token's query heads): OpsTable::attend_span_q8, whose scalar
// reference is ref::attend_span_q8 (the arithmetic: q8_span_tiles in
// ops.hpp).
//
// Scores in integers: each row's query is quantized as Q8_0 (the matmuls'
// activation quantizer), and q · k of one 32-dimension block is one exact
// int32 sum of `vpdpbusd` over the int8 keys as stored, scaled by the two
// blocks' scales. Four key dimensions of the tile's 16 positions (64 bytes,
// [4][16]) are turned into one vector of [16][4] bytes by a dword and a byte
// shuffle, and offset by 128 to the unsigned operand (the query's block sum
// times 128, taken off where the sums start): two shuffles and an xor per
// 64 products of each row, against one conversion per 16 F16 keys and one
// multiply-add per 16 products of each row in the F16 span.
//
// p · V in integers too: p times the positions' value scales (gathered once
// per tile and block, before the softmax, which hides their latency) rounded
// to int16, pairs of positions' values interleaved and widened to int16, one
// `vpdpwssd` per row and 16 dimensions of two positions, where F32 took a
// conversion of each value and two multiply-adds per row. BM_AttendSpan,
// head 64, 60 tiles in L2, one Zen 4 core: 3 rows 9.0 us (the F16 span), 8.7
// (integer q · k, F32 p · V), 7.1-7.4 (both in integers); 8 rows 23.9, 22.6,
// 19.8-21.5.
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

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

    // The value scales of the span's positions, one gather per tile and
    // block, issued before the softmax so that it hides their latency.
    const __m512i scale_at =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(static_cast<int>(row_bytes)));
    alignas(64) float dvs[NT][kMaxBlocks][16];
    for (int t = 0; t < NT; ++t) {
        for (int64_t b = 0; b < nb; ++b) {
            const __m512i raw = _mm512_i32gather_epi32(
                scale_at, vs[t] + static_cast<size_t>(b) * sizeof(BlockQ8_0), 1);
            _mm512_store_ps(dvs[t][b], _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw)));
        }
    }
    alignas(64) float alpha[16] = {};
    alignas(64) float p[R][NT * 16];
    span_softmax<R, NT>(a, s, alpha, p);

    // o = o · alpha + p · V, kB blocks of 32 dimensions at a time, in
    // integers per tile and block: p' = p · (the positions' value scales,
    // one gather) rounded to int16 relative to its largest (p'_j · 32767 /
    // max p', 2^-16 of the largest), then pairs of positions' values,
    // interleaved and widened to int16, meet pairs of p' in `vpdpwssd`
    // (exact in int32 over a tile), and each tile's sums join the F32
    // outputs times max p' / 32767. The interleaving leaves dimensions
    // 0-7, 16-23 of a block in one vector and 8-15, 24-31 in the other; the
    // outputs are held in that order and put back when stored.
    const __m512i split_lo =
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i split_hi =
        _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    float* o = a.o;
    const size_t v_part = (2 * row_bytes + 63) & ~size_t{63};  // bytes of two positions
    const auto pv_pass = [&]<int kB>(int64_t b0) {
        const int64_t c = b0 * kQK;
        __m512 out[R][2 * kB];
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(alpha[r]);
            for (int u = 0; u < kB; ++u) {
                const __m512 x0 = _mm512_loadu_ps(o + r * hd + c + 32 * u);
                const __m512 x1 = _mm512_loadu_ps(o + r * hd + c + 32 * u + 16);
                out[r][2 * u] = _mm512_mul_ps(_mm512_permutex2var_ps(x0, split_lo, x1), av);
                out[r][2 * u + 1] = _mm512_mul_ps(_mm512_permutex2var_ps(x0, split_hi, x1), av);
            }
        }
        for (int t = 0; t < NT; ++t) {
            // Pairs of int16 p' (positions 2i, 2i + 1 in int32 i).
            alignas(64) int32_t pq[R][kB][8];
            float unit[kB];
            for (int u = 0; u < kB; ++u) {
                const __m512 dv = _mm512_load_ps(dvs[t][b0 + u]);
                // p <= 1 (relative to the span's maximum), so p' <= the
                // largest scale of the 16 positions, shared by the rows.
                const float top = _mm512_reduce_max_ps(_mm512_abs_ps(dv));
                unit[u] = top / 32767.0f;
                const __m512 to_int = _mm512_set1_ps(top > 0.0f ? 32767.0f / top : 0.0f);
                for (int r = 0; r < R; ++r) {
                    const __m512 pd = _mm512_mul_ps(_mm512_load_ps(p[r] + 16 * t), dv);
                    _mm256_store_si256(
                        reinterpret_cast<__m256i*>(pq[r][u]),
                        _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(pd, to_int))));
                }
            }
            // Read the pairs back from memory, each broadcast by its load:
            // kept in registers, each pair took two shuffles to broadcast.
            __asm__ volatile("" ::: "memory");
            __m512i acc[R][2 * kB];
            for (int r = 0; r < R; ++r)
                for (int u = 0; u < 2 * kB; ++u) acc[r][u] = _mm512_setzero_si512();
            for (int j = 0; j < 16; j += 2) {
                if (t < n_next && b0 == 0) {  // an eighth of the next value tile
                    const size_t from = static_cast<size_t>(j / 2) * v_part;
                    for (size_t at = from; at < from + v_part; at += 64)
                        _mm_prefetch(reinterpret_cast<const char*>(next_v[t] + at), _MM_HINT_T1);
                }
                const uint8_t* row0 = vs[t] + static_cast<size_t>(j) * row_bytes;
                const uint8_t* row1 = row0 + row_bytes;
                __m512i vv[2 * kB];
                for (int u = 0; u < kB; ++u) {
                    const auto* q0 = reinterpret_cast<const BlockQ8_0*>(row0)[b0 + u].qs;
                    const auto* q1 = reinterpret_cast<const BlockQ8_0*>(row1)[b0 + u].qs;
                    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0));
                    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1));
                    vv[2 * u] = _mm512_cvtepi8_epi16(_mm256_unpacklo_epi8(x0, x1));
                    vv[2 * u + 1] = _mm512_cvtepi8_epi16(_mm256_unpackhi_epi8(x0, x1));
                }
                for (int r = 0; r < R; ++r) {
                    for (int u = 0; u < kB; ++u) {
                        const __m512i pp = _mm512_set1_epi32(pq[r][u][j / 2]);
                        acc[r][2 * u] = _mm512_dpwssd_epi32(acc[r][2 * u], vv[2 * u], pp);
                        acc[r][2 * u + 1] =
                            _mm512_dpwssd_epi32(acc[r][2 * u + 1], vv[2 * u + 1], pp);
                    }
                }
            }
            for (int r = 0; r < R; ++r) {
                for (int u = 0; u < kB; ++u) {
                    const __m512 w = _mm512_set1_ps(unit[u]);
                    for (int h = 0; h < 2; ++h)
                        out[r][2 * u + h] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][2 * u + h]),
                                                            w, out[r][2 * u + h]);
                }
            }
        }
        for (int r = 0; r < R; ++r) {
            for (int u = 0; u < kB; ++u) {
                const __m512 y0 = out[r][2 * u], y1 = out[r][2 * u + 1];
                _mm512_storeu_ps(o + r * hd + c + 32 * u, _mm512_permutex2var_ps(y0, split_lo, y1));
                _mm512_storeu_ps(o + r * hd + c + 32 * u + 16,
                                 _mm512_permutex2var_ps(y0, split_hi, y1));
            }
        }
    };
    constexpr int kB = R <= 4 ? 2 : 1;
    int64_t b = 0;
    for (; b + kB <= nb; b += kB) pv_pass.template operator()<kB>(b);
    for (; b < nb; ++b) pv_pass.template operator()<1>(b);
}

// Tiles per span (q8_span_tiles, ops.hpp): the integer sums and the scores
// of R rows over NT tiles, and NT key vectors, stay in the 32 registers.
template <int R>
inline constexpr int kQ8SpanTiles = static_cast<int>(q8_span_tiles(R));

template <int R>
void span_all(const AttendBlock& a, const Queries& q, const void* const* kts, const void* const* vs,
              int64_t n) {
    for_each_span_of<kQ8SpanTiles<R>>(
        a, n, [&](const AttendBlock& b, int64_t t, auto nt, int next) {
            span_rows<R, decltype(nt)::value>(b, q, kts + t, vs + t, next);
        });
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
