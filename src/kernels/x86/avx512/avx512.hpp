// AVX-512 kernel registration, one function per source file in this folder.
// Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni (plus
// the AVX2 set); the same linkage rules as x86/avx2/avx2.hpp apply.
#pragma once

#include "kernels/dispatch.hpp"

namespace pensieve::kernels::avx512 {

void register_formats(KernelTable& table);  // formats.cpp
void register_ops(KernelTable& table);      // ops.cpp
void register_gemm(KernelTable& table);     // gemm.cpp
// attend_bf16.cpp, compiled with -mavx512bf16 too: registers only on CPUs
// whose BF16 products are fast (CpuFeatures::bf16_products_fast).
void register_attend_bf16(KernelTable& table);
void register_attend_fp16(KernelTable& table);  // attend_fp16.cpp: CPUs with AVX512-FP16
void register_attend_q8(KernelTable& table);    // attend_q8.cpp: spans of Q8_0 KV tiles
// gemm_bf16.cpp, the same: the tiles of F16 / BF16 weights (BF16 products,
// the `packed_large` rows).
void register_gemm_bf16(KernelTable& table);
// The BF16-product kernels themselves, for the tests on every CPU that has
// AVX512-BF16, whether or not its table holds them.
void (*attend_bf16_entry())(const AttendBlock&);
AttendSpanFn attend_span_bf16_entry();
AttendSpanTypedFn attend_span_bf16_typed_entry();
PackedGemm float_bf16_entry(TensorType type);
// gemm_f32.cpp: the GEMV of F16 / BF16 weights (the `packed` rows) and those
// tiles with F32 products, for every AVX-512 CPU (registered first;
// gemm_bf16.cpp replaces the tiles where it can).
void register_gemm_f32(KernelTable& table);
// Their entries for F16 or BF16 weights (also for the tests, on CPUs where
// the table holds the BF16 tiles).
PackedGemm float_f32_entry(TensorType type);
PackedGemm float_gemv_entry(TensorType type);

// Batches up to this take the fused GEMV of the 32-element formats; larger
// ones unpack tiles of weight rows (from 8 rows on through the table's
// `packed_large` rows, which the AMX table replaces with its tiles).
inline constexpr int64_t kMaxGemvCols = 7;

// Rows [r0, r1) of a Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 matmul with 1 <= b <=
// kMaxGemvCols activation rows packed by gemm.cpp (gemv.cpp).
void gemv_tile(const PackedGemmArgs& args, int64_t r0, int64_t r1, TensorType type);

// Rows [r0, r1) of a Q4_K (five = false) or Q5_K matmul with 1 <= b <= 4
// activation rows packed by gemm.cpp (gemv_k.cpp).
void gemv_k_tile(const PackedGemmArgs& args, int64_t r0, int64_t r1, bool five);

// The Q6_K path for every batch (gemv_q6k.cpp): Q8_K activation rows, weights
// unpacked from the super-blocks as they are dotted.
PackedGemm q6_k_entry();

// From this batch on Q6_K unpacks tiles of weight rows instead
// (gemm_q6k.cpp, the `packed_large` row).
inline constexpr int64_t kQ6MinBatch = 8;
PackedGemm q6_k_tile_entry();

}  // namespace pensieve::kernels::avx512
