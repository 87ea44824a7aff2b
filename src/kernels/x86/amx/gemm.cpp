// The AMX-INT8 tile kernel (layouts and arithmetic in amx.hpp) and its
// registration as the large-batch path of Q4_0 / Q4_1 / Q8_0 / Q4_K.
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

// Tiles 0..2 and 3..5: two (A, B, C) sets, so that one block's tile multiply
// overlaps the float epilogue of the block before.
TileConfig make_config() {
    TileConfig c;
    for (int set = 0; set < 2; ++set) {
        c.colsb[3 * set + 0] = 32;  // A: 16 weight rows x 32 int8
        c.rows[3 * set + 0] = 16;
        c.colsb[3 * set + 1] = 64;  // B: 8 rows of 16 activation rows x 4 int8
        c.rows[3 * set + 1] = 8;
        c.colsb[3 * set + 2] = 64;  // C: 16 x 16 int32
        c.rows[3 * set + 2] = 16;
    }
    return c;
}

void ensure_tiles_configured() {
    static const TileConfig config = make_config();
    use_tiles(config);
}

size_t act_bytes(int64_t k) {
    return act_group_bytes(k);
}

size_t work_bytes(int64_t k) {
    return act_group_bytes(k);  // q[nb][16][32] + dw + mw: the same size
}

// C = A x B for block j into c_tile, on tile set 0 (tiles 0..2) or 1
// (3..5). The tile intrinsics need literal tile numbers, hence two copies.
inline void block_product_0(const int8_t* wq, const uint8_t* aq, int64_t j, int32_t* c_tile) {
    _tile_loadd(0, wq + j * 512, 32);
    _tile_loadd(1, aq + j * 512, 64);
    _tile_zero(2);
    _tile_dpbssd(2, 0, 1);
    _tile_stored(2, c_tile, 64);
}

inline void block_product_1(const int8_t* wq, const uint8_t* aq, int64_t j, int32_t* c_tile) {
    _tile_loadd(3, wq + j * 512, 32);
    _tile_loadd(4, aq + j * 512, 64);
    _tile_zero(5);
    _tile_dpbssd(5, 3, 4);
    _tile_stored(5, c_tile, 64);
}

// Block j's sums into acc[r] (16 activation rows each):
//   acc[r] += C[r] * dw[r][j] * da[j] (+ mw[r][j] * s[j]).
template <bool kHasM>
inline void epilogue(__m512 (&acc)[16], const int32_t* c_tile, const WeightTile& wt, int64_t j,
                     const ActGroup& g) {
    const __m512 da_v = _mm512_load_ps(g.da + j * 16);
    const __m512 s_v = _mm512_load_ps(g.s + j * 16);
    for (int r = 0; r < 16; ++r) {
        const __m512 p = _mm512_cvtepi32_ps(_mm512_load_si512(c_tile + 16 * r));
        const __m512 dw = _mm512_set1_ps(wt.dw[r * wt.nb + j]);
        acc[r] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, da_v), acc[r]);
        if constexpr (kHasM)
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(wt.mw[r * wt.nb + j]), s_v, acc[r]);
    }
}

// Blocks [j0, j1) of one activation group into acc, software-pipelined:
// the tile products of the next pair of blocks are issued before the float
// epilogue of the current pair, so the epilogue's loads never wait for the
// tile stores just issued (tile stores do not forward to vector loads).
template <bool kHasM>
inline void blocks(__m512 (&acc)[16], const WeightTile& wt, const ActGroup& g, int64_t j0,
                   int64_t j1) {
    alignas(64) int32_t c_tiles[2][2][16 * 16];  // [pair parity][block of the pair]
    const auto products = [&](int64_t j, int32_t(*c)[16 * 16]) {
        block_product_0(wt.q, g.q, j, c[0]);
        if (j + 1 < j1) block_product_1(wt.q, g.q, j + 1, c[1]);
    };
    products(j0, c_tiles[0]);
    int parity = 0;
    for (int64_t j = j0; j < j1; j += 2, parity ^= 1) {
        if (j + 2 < j1) products(j + 2, c_tiles[parity ^ 1]);
        epilogue<kHasM>(acc, c_tiles[parity][0], wt, j, g);
        if (j + 1 < j1) epilogue<kHasM>(acc, c_tiles[parity][1], wt, j + 1, g);
    }
}

template <void (*Unpack)(const uint8_t*, int64_t, const WeightTile&, int), bool kHasM>
void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    ensure_tiles_configured();
    const int64_t nb = a.k / kQK;
    const int rn = static_cast<int>(r1 - r0);
    if (rn < 16) std::memset(work, 0, act_group_bytes(a.k));
    auto* wq = static_cast<int8_t*>(work);
    auto* scales = reinterpret_cast<float*>(wq + nb * 512);
    const WeightTile wt{wq, scales, scales + nb * 16, nb};
    const auto* wsrc = static_cast<const uint8_t*>(a.w);
    for (int r = 0; r < rn; ++r) Unpack(wsrc + static_cast<size_t>(r0 + r) * a.w_stride, nb, wt, r);

    const auto* act_base = static_cast<const uint8_t*>(a.act);
    for (int64_t c0 = 0; c0 < a.b; c0 += kPackedActGroup) {
        const ActGroup g(const_cast<uint8_t*>(act_base) +
                             static_cast<size_t>(c0 / kPackedActGroup) * a.act_stride,
                         nb);
        // out[r] holds weight row r for the group's 16 activation rows.
        __m512 acc[16];
        for (__m512& v : acc) v = _mm512_setzero_ps();
        blocks<kHasM>(acc, wt, g, 0, nb);
        alignas(64) float out[16][16];
        for (int r = 0; r < 16; ++r) _mm512_store_ps(out[r], acc[r]);
        write_out(a, out, c0, r0, rn);
    }
}

PackedGemm entry(void (*tile_fn)(const PackedGemmArgs&, int64_t, int64_t, void*)) {
    PackedGemm p;
    p.act_bytes = act_bytes;
    p.work_bytes = work_bytes;
    p.pack_group = pack_group_q8_0;
    p.tile = tile_fn;
    p.min_batch = kMinBatch;
    return p;
}

}  // namespace

void use_tiles(const TileConfig& config) {
    // The configuration is per thread (part of its register state): each pool
    // worker loads one on its first tile task and keeps it until a kernel
    // with another layout runs on that thread.
    static thread_local const TileConfig* loaded = nullptr;
    if (loaded == &config) return;
    _tile_loadconfig(&config);
    loaded = &config;
}

void register_gemm(KernelTable& table) {
    using T = TensorType;
    packed_large_row(table, T::Q4_0) = entry(tile<unpack_q4_0, false>);
    packed_large_row(table, T::Q4_1) = entry(tile<unpack_q4_1, true>);
    packed_large_row(table, T::Q8_0) = entry(tile<unpack_q8_0, false>);
    register_gemm_k(table);
}

}  // namespace pensieve::kernels::amx

namespace pensieve::kernels {

void patch_amx(KernelTable& table) {
    amx::register_gemm(table);
}

}  // namespace pensieve::kernels
