// The AMX-INT8 tile kernel of Q4_K. Unlike the 32-element formats (gemm.cpp),
// whose per-block float scales force one tile store and float epilogue per
// 32 elements, Q4_K's sub-block scales are 6-bit integers, so a whole
// 256-element super-block can be summed inside the tiles: with
// scale = 8 * hi + lo (hi, lo in 0..7) each weight row is stored twice, as
// q * hi and q * lo (both <= 15 * 7, valid int8), and
//   sum_j scale_j * sum_i q_i a_i = 8 * (A_hi x B) + (A_lo x B)
// exactly in int32. That is two 64-deep tile multiplies per 64 elements, as
// many as one 32-deep multiply per block, but one pair of tile stores and one
// float epilogue per super-block instead of eight.
//
// Layouts (nb = k / 32 blocks, ns = k / 256 super-blocks; activations are
// pack_act.hpp's groups, whose consecutive blocks j, j + 1 form one 64-deep
// B tile):
//   weight tile: hi[nb / 2][16][64] int8 | lo[nb / 2][16][64] int8 |
//                d[16][ns] f32 | mw[16][nb] f32 (-dmin * min of each block)
// The mins term stays in float: y += mw[r][j] * da * s[j] (s = sum of the
// block's activation quants).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 AVX-512 headers (see avx512/gemm.cpp)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/x86/amx/amx.hpp"
#include "kernels/x86/amx/pack_act.hpp"
#include "kernels/x86/amx/unpack.hpp"

namespace pensieve::kernels::amx {
namespace {

// Tiles 0, 1: A (16 weight rows x 64 int8, hi and lo); 2: B (16 rows of 16
// activation rows x 4 int8); 3, 4: C (16 x 16 int32, hi and lo).
TileConfig make_config() {
    TileConfig c;
    for (int t = 0; t < 5; ++t) {
        c.colsb[t] = 64;
        c.rows[t] = 16;
    }
    return c;
}

size_t work_bytes(int64_t k) {
    return static_cast<size_t>(k) * 32 + static_cast<size_t>(k / kQKK) * 64 +
           static_cast<size_t>(k / kQK) * 64;
}

struct KTile {
    int8_t* hi;  // [nb / 2][16][64]
    int8_t* lo;
    float* d;   // [16][ns]
    float* mw;  // [16][nb]
    int64_t nb, ns;
    KTile(void* work, int64_t k)
        : hi(static_cast<int8_t*>(work)),
          lo(hi + k * 16),
          d(reinterpret_cast<float*>(lo + k * 16)),
          mw(d + 16 * (k / kQKK)),
          nb(k / kQK),
          ns(k / kQKK) {}
};

// The eight 6-bit scales (low 64 bits) and mins (high 64 bits) of a Q4_K
// super-block as bytes, from its 12 packed bytes (layout in k_scales.hpp,
// whose k4_scale_min is the scalar twin): words a, b, c are bytes 0-3, 4-7,
// 8-11.
inline __m128i k4_scales_mins(const uint8_t* s) {
    uint32_t a = 0, b = 0, c = 0;
    __builtin_memcpy(&a, s, 4);
    __builtin_memcpy(&b, s + 4, 4);
    __builtin_memcpy(&c, s + 8, 4);
    const uint32_t sc_lo = a & 0x3F3F3F3Fu;
    const uint32_t mn_lo = b & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (c & 0x0F0F0F0Fu) | (((a >> 6) & 0x03030303u) << 4);
    const uint32_t mn_hi = ((c >> 4) & 0x0F0F0F0Fu) | (((b >> 6) & 0x03030303u) << 4);
    return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(mn_lo),
                          static_cast<int>(mn_hi));
}

// Row r of the tile from a Q4_K row. Sub-blocks 2c and 2c + 1 of super-block
// i are the low and high nibbles of qs[32c..32c + 31]: 64 consecutive
// elements, one A row. Multiplying 16-bit words by a scale <= 7 multiplies
// both of their bytes exactly (each product <= 105 cannot carry).
inline void unpack_row(const uint8_t* src, const KTile& t, int r) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m128i seven = _mm_set1_epi16(7);
    for (int64_t i = 0; i < t.ns; ++i) {
        const uint8_t* b = src + static_cast<size_t>(i) * sizeof(BlockQ4_K);
        const __m128i sm = k4_scales_mins(b + 4);
        const __m128i sc = _mm_cvtepu8_epi16(sm);
        const __m512i sc_hi = _mm512_castsi128_si512(_mm_srli_epi16(sc, 3));
        const __m512i sc_lo = _mm512_castsi128_si512(_mm_and_si128(sc, seven));
        const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(sm, sm)));
        _mm256_storeu_ps(t.mw + r * t.nb + 8 * i,
                         _mm256_mul_ps(_mm256_set1_ps(-half(load_u16(b + 2))), mn));
        t.d[r * t.ns + i] = half(load_u16(b));
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * c));
            const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m4)),
                                                 _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), 1);
            // Words 0..15 take scale 2c, words 16..31 scale 2c + 1.
            const __m512i pick = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(2 * c))),
                _mm256_set1_epi16(static_cast<short>(2 * c + 1)), 1);
            const size_t at = static_cast<size_t>(((4 * i + c) * 16 + r) * 64);
            _mm512_store_si512(t.hi + at,
                               _mm512_mullo_epi16(q, _mm512_permutexvar_epi16(pick, sc_hi)));
            _mm512_store_si512(t.lo + at,
                               _mm512_mullo_epi16(q, _mm512_permutexvar_epi16(pick, sc_lo)));
        }
    }
}

// Super-block i of one activation group: C_hi and C_lo into c[0], c[1].
inline void products(const KTile& t, const uint8_t* aq, int64_t i, int32_t (*c)[16 * 16]) {
    _tile_zero(3);
    _tile_zero(4);
    for (int64_t p = 4 * i; p < 4 * i + 4; ++p) {
        _tile_loadd(2, aq + p * 1024, 64);
        _tile_loadd(0, t.hi + p * 1024, 64);
        _tile_dpbssd(3, 0, 2);
        _tile_loadd(1, t.lo + p * 1024, 64);
        _tile_dpbssd(4, 1, 2);
    }
    _tile_stored(3, c[0], 64);
    _tile_stored(4, c[1], 64);
}

// acc[r] += da * (d[r] * (8 C_hi[r] + C_lo[r]) + sum_j mw[r][j] * s[j]) for
// super-block i.
inline void epilogue(__m512 (&acc)[16], const int32_t (*c)[16 * 16], const KTile& t,
                     const ActGroup& g, int64_t i) {
    const __m512 da = _mm512_load_ps(g.da + 8 * i * 16);
    __m512 s[8];
    for (int j = 0; j < 8; ++j) s[j] = _mm512_mul_ps(_mm512_load_ps(g.s + (8 * i + j) * 16), da);
    for (int r = 0; r < 16; ++r) {
        const __m512i sum = _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(c[0] + 16 * r), 3),
                                             _mm512_load_si512(c[1] + 16 * r));
        const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(t.d[r * t.ns + i]), da);
        __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc[r]);
        const float* mw = t.mw + r * t.nb + 8 * i;
        for (int j = 0; j < 8; ++j) v = _mm512_fmadd_ps(_mm512_set1_ps(mw[j]), s[j], v);
        acc[r] = v;
    }
}

void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    static const TileConfig config = make_config();
    use_tiles(config);
    const int rn = static_cast<int>(r1 - r0);
    if (rn < 16) std::memset(work, 0, work_bytes(a.k));
    const KTile t(work, a.k);
    const auto* wsrc = static_cast<const uint8_t*>(a.w);
    for (int r = 0; r < rn; ++r) unpack_row(wsrc + static_cast<size_t>(r0 + r) * a.w_stride, t, r);

    const auto* act_base = static_cast<const uint8_t*>(a.act);
    alignas(64) int32_t c_tiles[2][2][16 * 16];  // [super-block parity][hi, lo]
    for (int64_t c0 = 0; c0 < a.b; c0 += kPackedActGroup) {
        const ActGroup g(const_cast<uint8_t*>(act_base) +
                             static_cast<size_t>(c0 / kPackedActGroup) * a.act_stride,
                         t.nb);
        __m512 acc[16];
        for (__m512& v : acc) v = _mm512_setzero_ps();
        // Software-pipelined as in gemm.cpp: the next super-block's tile
        // products are issued before this one's epilogue.
        products(t, g.q, 0, c_tiles[0]);
        for (int64_t i = 0; i < t.ns; ++i) {
            if (i + 1 < t.ns) products(t, g.q, i + 1, c_tiles[(i + 1) & 1]);
            epilogue(acc, c_tiles[i & 1], t, g, i);
        }
        alignas(64) float out[16][16];
        for (int r = 0; r < 16; ++r) _mm512_store_ps(out[r], acc[r]);
        write_out(a, out, c0, r0, rn);
    }
}

}  // namespace

void register_gemm_k(KernelTable& table) {
    PackedGemm p;
    p.act_bytes = act_group_bytes;
    p.work_bytes = work_bytes;
    p.pack_group = pack_group_q8_k;
    p.tile = tile;
    p.min_batch = kMinBatch;
    packed_large_row(table, TensorType::Q4_K) = p;
}

}  // namespace pensieve::kernels::amx
