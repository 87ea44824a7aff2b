// AMX-INT8 matmul tiles (Sapphire Rapids and later), installed by patch_amx()
// over the AVX-512 table as the `packed_large` rows of Q4_0 / Q4_1 / Q8_0 /
// Q4_K. Compiled with -mamx-tile -mamx-int8 plus the AVX-512 set; the same
// linkage rules as x86/avx2/avx2.hpp apply.
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
//     (s = da * sum of q; for Q8_K only the sum: da is applied per super-block)
//   weight tile (16 rows, unpacked per task into the thread's work buffer,
//   zero past the last row):
//     q[nb][16][32] int8 (signed) | dw[16][nb] f32 | mw[16][nb] f32
#pragma once

#include "kernels/dispatch.hpp"

namespace pensieve::kernels::amx {

void register_gemm(KernelTable& table);  // gemm.cpp

}  // namespace pensieve::kernels::amx
