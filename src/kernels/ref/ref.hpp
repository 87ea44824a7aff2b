// Registration of the scalar reference kernels into a KernelTable, one
// function per source file. Internal to src/kernels.
#pragma once

#include "kernels/dispatch.hpp"

namespace pensieve::kernels::ref {

void register_float_formats(KernelTable& table);   // float_formats.cpp: F32, F16, BF16
void register_legacy_formats(KernelTable& table);  // legacy_formats.cpp: Q4_0 .. Q8_1
void register_k_formats(KernelTable& table);       // k_formats.cpp: Q2_K .. Q8_K
void register_ops(KernelTable& table);             // ops.cpp

// The scalar reference of OpsTable::attend_block_bf16 (ops.cpp): attend_block
// with q taken from AttendBlock::qb and k, v and the probabilities rounded to
// BF16 (nearest even), products summed in F32. Not in the reference table,
// whose attention stays F32.
void attend_block_bf16(const AttendBlock& a);

// The scalar reference of OpsTable::attend_span_bf16 (ops.cpp): its steps of
// kBf16StepTiles tiles (kernels/ops.hpp) from the span's first, each
// attend_block_bf16's arithmetic over the step's positions. Not in the
// reference table either.
void attend_span_bf16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n);

// The scalar reference of OpsTable::attend_span_bf16_typed (ops.cpp): the same
// steps over Q8_0 tiles, whose keys and values are their quants times their
// scales in F32 before the BF16 rounding, or over BF16 tiles, whose values
// the rounding keeps. Not in the reference table either.
void attend_span_bf16_typed(const AttendBlock& a, TensorType type, const void* const* kts,
                            const void* const* vs, int64_t n);

// The scalar reference of OpsTable::attend_span_fp16 (ops.cpp): the steps
// and roundings kFp16StepTiles describes (kernels/ops.hpp), for n a multiple
// of kFp16StepTiles and rows that attend every position of the span. Not in
// the reference table either.
void attend_span_fp16(const AttendBlock& a, const uint16_t* const* kts, const uint16_t* const* vs,
                      int64_t n);

// The scalar reference of OpsTable::attend_span_q8 (ops.cpp), tile by tile:
// each row's query quantized by the Q8_0 quantizer; the score of position j
// Σ_blocks d_q · d_k · Σ q_i k_i over the 32-dimension blocks (the integer
// sums exact), the values their Q8_0 quants times their scales, and the rest
// attend_block's F32 arithmetic. Not in the reference table either: the
// reference path attends Q8_0 tiles loaded as F32 (kv_tile.cpp).
void attend_span_q8(const AttendBlock& a, const void* const* kts, const void* const* vs, int64_t n);

// The scalar reference of the BF16-product packed path of F16 / BF16 weights
// (gemm_bf16.cpp): one weight row (type F16 or BF16) dotted with x, both
// rounded to BF16 (nearest even; F16 through F32), products summed in F32.
float dot_bf16(TensorType type, const void* w, const float* x, int64_t k);

}  // namespace pensieve::kernels::ref
