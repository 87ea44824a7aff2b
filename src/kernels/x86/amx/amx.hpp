// AMX-INT8 matmul tiles (Sapphire Rapids and later), installed by patch_amx()
// over the AVX-512 table as the `packed_large` rows of Q4_0 / Q4_1 / Q8_0
// (gemm.cpp, described here) and Q4_K (gemm_k.cpp, which sums whole
// super-blocks inside the tiles). Compiled with -mamx-tile -mamx-int8 plus
// the AVX-512 set; the same linkage rules as x86/avx2/avx2.hpp apply.
//
// One tile instruction (TDPBSSD) multiplies 16 rows x 32 int8 weights (one
// 32-element block of 16 weight rows, tile A) by 32 x 16 int8 activations
// (the same block of 16 activation rows, tile B in the 4-byte-interleaved
// "VNNI" layout) into 16 x 16 int32 sums (tile C). Every block has its own
// scales, so C goes back to memory after each block and AVX-512 applies the
// scales in float: y[c][r] += dw[r] * da[c] * C[r][c] (+ mw[r] * s[c] for the
// formats with an offset). That float work, not the tile multiply, bounds
// the speed; it is ~4x fewer instructions than the VNNI micro-kernel's.
//
// Layouts (nb = k / 32 blocks):
//   activation group (16 rows, packed once per matmul, zero past the batch):
//     q[nb][8][16][4] int8 | da[nb][16] f32 | s[nb][16] f32
//     (s = da * sum of q; zero for Q8_K, see gemm_k.cpp)
//   weight tile (16 rows, unpacked per task into the thread's work buffer,
//   zero past the last row):
//     q[nb][16][32] int8 (signed) | dw[16][nb] f32 | mw[16][nb] f32
#pragma once

#include "kernels/dispatch.hpp"

#include <cstdint>

namespace pensieve::kernels::amx {

void register_gemm(KernelTable& table);    // gemm.cpp: the 32-element formats
void register_gemm_k(KernelTable& table);  // gemm_k.cpp: Q4_K

// LDTILECFG's 64-byte operand: palette 1, per tile its bytes per row and rows.
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// Batches from this size use the tiles; below it the AVX-512 path (fused
// GEMV, VNNI micro-kernel) wins because a tile always computes 16 activation
// rows and its float epilogue costs the same for 2 rows as for 16.
inline constexpr int64_t kMinBatch = 8;

// Writes out[r][c] (weight row r0 + r < r0 + rn, activation row c0 + c < b)
// to y, which is [activation row][weight row].
inline void write_out(const PackedGemmArgs& a, const float (&out)[16][16], int64_t c0, int64_t r0,
                      int rn) {
    const int64_t cn = a.b - c0 < 16 ? a.b - c0 : 16;
    for (int64_t c = 0; c < cn; ++c) {
        float* y = a.y + (c0 + c) * a.y_stride + r0;
        for (int r = 0; r < rn; ++r) y[r] = out[r][c];
    }
}

// Loads `config` (a static object) into this thread's tile registers unless
// it is the one loaded last (gemm.cpp).
void use_tiles(const TileConfig& config);

}  // namespace pensieve::kernels::amx
