// The AMX-INT8 tile kernel of Q4_K. Unlike the 32-element formats (gemm.cpp),
// whose per-block float scales force one tile store and float epilogue per
// 32 elements, Q4_K's sub-block scales are 6-bit integers, so a whole
// 256-element super-block can be summed inside the tiles: with
// scale = 8 * hi + lo (hi, lo in 0..7) each weight row is stored twice, as
// q * hi and q * lo (both <= 15 * 7, valid int8), and
//   sum_j scale_j * sum_i q_i a_i = 8 * (A_hi x B) + (A_lo x B)
// exactly in int32. That is two 64-deep tile multiplies per 64 elements, as
// many as one 32-deep multiply per block, but one set of tile stores and one
// float epilogue per super-block instead of eight.
//
// Order of work (per task of 16 weight rows): super-block by super-block,
// unpack the 16 rows' super-block into a small buffer (12 KB of int8 tiles,
// stays in L1), then run it against every activation group of the batch
// while the next super-block is unpacked. Unpacking whole rows first (128 KB
// per tile at k = 4096) sent every A-tile load of every group to L2 and kept
// the AVX-512 unpacking apart from the tile multiplies instead of beside
// them (11008 x 4096, 2 threads: b = 16 6.0k -> 8.1k tok/s, b = 64 11.8k ->
// 13.4k). Sharing A-tile loads between two groups measured no faster.
//
// Layouts (activations are pack_act.hpp's groups, whose consecutive blocks
// j, j + 1 form one 64-deep B tile):
//   unpacked super-block: hi[4][16][64] int8 | lo[4][16][64] int8 |
//                         mn[4][16][64] int8 | d[16] f32 | -dmin[16] f32
//   accumulators: [group][16 weight rows][16 activation rows] f32
// The mins term is a third tile product: A_min holds each element's
// sub-block min (<= 63), so A_min x B = sum_j min_j * (block j's sum of
// activation quants) exactly, and the epilogue is
//   y += da * (d * (8 C_hi + C_lo) - dmin * C_min)
// per super-block (eight float FMAs per row for the mins before: b = 64,
// 1 thread 4.7k -> 6.0k tok/s).
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/x86/amx/amx.hpp"
#include "kernels/x86/amx/pack_act.hpp"
#include "kernels/x86/amx/unpack.hpp"

namespace pensieve::kernels::amx {
namespace {

// Tiles 0, 1, 5: A (16 weight rows x 64 int8: hi, lo, mins); 2: B (16 rows
// of 16 activation rows x 4 int8); 3, 4, 6: C (16 x 16 int32: hi, lo, mins).
TileConfig make_config() {
    TileConfig c;
    for (int t = 0; t < 7; ++t) {
        c.colsb[t] = 64;
        c.rows[t] = 16;
    }
    return c;
}

// Activation groups whose accumulators are kept per pass over the weights:
// more rows re-unpack the weights once per pass (amortised over 256 rows; 8
// groups per pass measured ~7% slower at b = 256).
constexpr int64_t kGroupsPerPass = 16;

struct alignas(64) SuperBlockTile {
    int8_t hi[4][16][64];
    int8_t lo[4][16][64];
    int8_t mn[4][16][64];  // each element's sub-block min
    float d[16];
    float dmin[16];  // negated
};

struct alignas(64) Work {
    SuperBlockTile sb[2];  // double-buffered: unpack i + 1 while i runs
    float acc[kGroupsPerPass][16][16];
};

size_t work_bytes(int64_t) {
    return sizeof(Work);
}

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

// Super-block i of a Q4_K row into row r of t. Sub-blocks 2c and 2c + 1
// are the low and high nibbles of qs[32c..32c + 31]: 64 consecutive
// elements, one A row. Multiplying 16-bit words by a scale <= 7 multiplies
// both of their bytes exactly (each product <= 105 cannot carry).
inline void unpack_super_block(const uint8_t* b, SuperBlockTile& t, int r) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m128i seven = _mm_set1_epi16(7);
    const __m128i sm = k4_scales_mins(b + 4);
    const __m128i sc = _mm_cvtepu8_epi16(sm);
    const __m512i sc_hi = _mm512_castsi128_si512(_mm_srli_epi16(sc, 3));
    const __m512i sc_lo = _mm512_castsi128_si512(_mm_and_si128(sc, seven));
    const __m512i mins = _mm512_broadcast_i32x4(sm);  // min j at byte 8 + j of every lane
    t.d[r] = half(load_u16(b));
    t.dmin[r] = -half(load_u16(b + 2));
    for (int h = 0; h < 2; ++h) {
        // qs[64h..64h + 63] holds A rows c = 2h, 2h + 1 (32 bytes each): their
        // low nibbles go to lo, high nibbles to hi, 256 bits per A row; one
        // 512-bit load and a lane shuffle per A row instead of a 256-bit
        // load, two ANDs, a shift and an insert (b = 16, 2 threads: +3%).
        const __m512i x = _mm512_loadu_si512(b + 16 + 64 * h);
        const __m512i lo = _mm512_and_si512(x, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
        // The lane shuffle's control must be an immediate in every build
        // (-O2 does not unroll a loop over the two A rows).
        const __m512i q[2] = {_mm512_shuffle_i64x2(lo, hi, 0x44),
                              _mm512_shuffle_i64x2(lo, hi, 0xEE)};
        for (int e = 0; e < 2; ++e) {
            const int c = 2 * h + e;
            // Words 0..15 take scale 2c, words 16..31 scale 2c + 1.
            const __m512i pick = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(2 * c))),
                _mm256_set1_epi16(static_cast<short>(2 * c + 1)), 1);
            _mm512_store_si512(t.hi[c][r],
                               _mm512_mullo_epi16(q[e], _mm512_permutexvar_epi16(pick, sc_hi)));
            _mm512_store_si512(t.lo[c][r],
                               _mm512_mullo_epi16(q[e], _mm512_permutexvar_epi16(pick, sc_lo)));
            // Bytes 0..31 min 2c, bytes 32..63 min 2c + 1.
            const __m512i pick_min = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_set1_epi8(static_cast<char>(8 + 2 * c))),
                _mm256_set1_epi8(static_cast<char>(9 + 2 * c)), 1);
            _mm512_store_si512(t.mn[c][r], _mm512_shuffle_epi8(mins, pick_min));
        }
    }
}

// Asks for super-block i of rows r0 + [from, to), each 144 bytes over up to
// three cache lines. The tile's first super-blocks start 16 row streams that
// no hardware prefetcher has seen: unpacking them waited on memory for ~12%
// of a b = 64 matmul. So the last super-block's steps ask for the next
// tile's first one, and the kernel asks matmul for long runs of consecutive
// tiles (PackedGemm::long_runs), so that the next tile is this thread's;
// past the matrix's end, prefetches are harmless (they never fault).
// 11008 x 4096, interleaved rounds, tok/s: b = 16 4.5k -> 4.8k (1 thread),
// 8.3k -> 8.6k (2); b = 64 +2-3%; then runs of half a thread's share
// instead of 4 tiles: 2 threads, b = 16 8.9k -> 9.5k, b = 64 15.4k ->
// 16.0k, b = 256 16.6k -> 17.7k (the 32-element formats' kernel, which
// does not prefetch, gained nothing from longer runs).
inline void prefetch(const PackedGemmArgs& a, int64_t r0, int from, int to, int64_t i) {
    const auto* w = static_cast<const uint8_t*>(a.w) + static_cast<size_t>(i) * sizeof(BlockQ4_K);
    for (int r = from; r < to; ++r) {
        const auto* b = reinterpret_cast<const char*>(w + static_cast<size_t>(r0 + r) * a.w_stride);
        _mm_prefetch(b, _MM_HINT_T0);
        _mm_prefetch(b + 64, _MM_HINT_T0);
        _mm_prefetch(b + sizeof(BlockQ4_K) - 1, _MM_HINT_T0);
    }
}

// Super-block i of rows r0 + [from, to) into t (rows past the tile's last
// stay zero).
inline void unpack(const PackedGemmArgs& a, int64_t r0, int from, int to, int64_t i,
                   SuperBlockTile& t) {
    const auto* w = static_cast<const uint8_t*>(a.w) + static_cast<size_t>(i) * sizeof(BlockQ4_K);
    for (int r = from; r < to; ++r)
        unpack_super_block(w + static_cast<size_t>(r0 + r) * a.w_stride, t, r);
}

// Super-block i of one activation group against t: C_hi, C_lo and C_min
// into c[0], c[1], c[2]. C_min = sum_j min_j * (sum of block j's activation
// quants), exactly: the mins term in int32 on the tiles instead of eight
// float FMAs per row in the epilogue.
inline void products(const SuperBlockTile& t, const uint8_t* aq, int64_t i, int32_t (*c)[16 * 16]) {
    _tile_zero(3);
    _tile_zero(4);
    _tile_zero(6);
    for (int p = 0; p < 4; ++p) {
        _tile_loadd(2, aq + (4 * i + p) * 1024, 64);
        _tile_loadd(0, t.hi[p], 64);
        _tile_dpbssd(3, 0, 2);
        _tile_loadd(1, t.lo[p], 64);
        _tile_dpbssd(4, 1, 2);
        _tile_loadd(5, t.mn[p], 64);
        _tile_dpbssd(6, 5, 2);
    }
    _tile_stored(3, c[0], 64);
    _tile_stored(4, c[1], 64);
    _tile_stored(6, c[2], 64);
}

// acc[r] += da * (d[r] * (8 C_hi[r] + C_lo[r]) - dmin[r] * C_min[r]) for
// super-block i.
inline void epilogue(float (*acc)[16], const int32_t (*c)[16 * 16], const SuperBlockTile& t,
                     const ActGroup& g, int64_t i) {
    const __m512 da = _mm512_load_ps(g.da + 8 * i * 16);
    for (int r = 0; r < 16; ++r) {
        const __m512i sum = _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(c[0] + 16 * r), 3),
                                             _mm512_load_si512(c[1] + 16 * r));
        const __m512 mins = _mm512_cvtepi32_ps(_mm512_load_si512(c[2] + 16 * r));
        const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(t.d[r]),
                                         _mm512_mul_ps(mins, _mm512_set1_ps(t.dmin[r])));
        _mm512_store_ps(acc[r], _mm512_fmadd_ps(v, da, _mm512_load_ps(acc[r])));
    }
}

void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work_buf) {
    static const TileConfig config = make_config();
    use_tiles(config);
    const int rn = static_cast<int>(r1 - r0);
    Work& work = *static_cast<Work*>(work_buf);
    if (rn < 16) std::memset(work.sb, 0, sizeof(work.sb));
    const int64_t nb = a.k / kQK, ns = a.k / kQKK;
    const auto* act_base = static_cast<const uint8_t*>(a.act);
    const int64_t n_groups = (a.b + kPackedActGroup - 1) / kPackedActGroup;
    alignas(64) int32_t c_tiles[2][3][16 * 16];  // [step parity][hi, lo, mins]
    for (int64_t g0 = 0; g0 < n_groups; g0 += kGroupsPerPass) {
        const int64_t gn = n_groups - g0 < kGroupsPerPass ? n_groups - g0 : kGroupsPerPass;
        const auto group = [&](int64_t g) {
            return ActGroup(
                const_cast<uint8_t*>(act_base) + static_cast<size_t>(g0 + g) * a.act_stride, nb);
        };
        std::memset(work.acc, 0, sizeof(float) * 256 * static_cast<size_t>(gn));
        // Steps (super-block i, group g) in order, software-pipelined so that
        // the AVX-512 work runs while the tiles multiply: step s issues the
        // tile products of step s + 1, then runs the epilogue of step s; and
        // super-block i + 1 is unpacked in gn slices of rows during the steps
        // of super-block i, each slice before that step's products are issued
        // (the last one is needed by them).
        const int64_t steps = ns * gn;
        unpack(a, r0, 0, rn, 0, work.sb[0]);
        products(work.sb[0], group(0).q, 0, c_tiles[0]);
        for (int64_t s = 0; s < steps; ++s) {
            const int64_t i = s / gn, g = s % gn;
            if (i + 1 < ns) {
                const auto slice = [&](int64_t at) { return static_cast<int>(rn * at / gn); };
                unpack(a, r0, slice(g), slice(g + 1), i + 1, work.sb[(i + 1) & 1]);
            } else {
                const auto slice = [&](int64_t at) { return static_cast<int>(16 * at / gn); };
                prefetch(a, r0 + 16, slice(g), slice(g + 1), 0);
            }
            if (s + 1 < steps) {
                const int64_t ni = (s + 1) / gn, ng = (s + 1) % gn;
                products(work.sb[ni & 1], group(ng).q, ni, c_tiles[(s + 1) & 1]);
            }
            epilogue(work.acc[g], c_tiles[s & 1], work.sb[i & 1], group(g), i);
        }
        for (int64_t g = 0; g < gn; ++g) {
            alignas(64) float out[16][16];
            std::memcpy(out, work.acc[g], sizeof(out));
            write_out(a, out, (g0 + g) * kPackedActGroup, r0, rn);
        }
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
    p.long_runs = true;
    packed_large_row(table, TensorType::Q4_K) = p;
}

}  // namespace pensieve::kernels::amx
