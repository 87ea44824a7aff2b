// The per-format operations table: one row per weight type, holding its
// geometry and the dequantize / quantize / dot kernels of the instruction set
// chosen at start-up. matmul() and every caller go through this table, so no
// code outside src/kernels/ref and src/kernels/x86 switches on formats.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.hpp"

namespace pensieve::kernels {

using gguf::TensorType;

// Dequantizes n elements (a whole number of blocks) of this format to F32.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);

// Quantizes n F32 elements (a whole number of blocks) into this format.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);

// Dot products of one weight row (k elements of this format) with `count`
// activation rows already quantized to vec_dot_type, the j-th starting at
// act + j * act_stride bytes: out[j] = w · act_j. count is 1..kMaxDotRows;
// one call reuses the unpacked weights for every activation row, which is
// what makes batched matmul cheaper per row than GEMV.
using VecDotFn = void (*)(int64_t k, const void* w, const void* act, size_t act_stride, int count,
                          float* out);
inline constexpr int kMaxDotRows = 4;

struct TypeTraits {
    TensorType type = TensorType::F32;
    const char* name = "";
    int64_t block_elems = 0;  // elements per block
    int64_t block_bytes = 0;  // bytes per block
    // Format the activation row is quantized to before vec_dot (F32 for float weights).
    TensorType vec_dot_type = TensorType::F32;
    DequantizeRowFn dequantize_row = nullptr;
    QuantizeRowFn quantize_row = nullptr;  // F32 -> this format; null where not implemented
    VecDotFn vec_dot = nullptr;            // null for activation-only formats (Q8_1, Q8_K)
};

// The row of `type` for the active instruction set, or nullptr for a type the
// kernels do not support (IQ*, TQ*, ...).
const TypeTraits* find_traits(TensorType type);

// Same, for a caller that has already validated the type; throws
// std::invalid_argument for an unsupported one.
const TypeTraits& traits(TensorType type);

// Bytes of one row of k elements (k a multiple of the block size).
inline size_t row_bytes(const TypeTraits& t, int64_t k) {
    return static_cast<size_t>(k / t.block_elems * t.block_bytes);
}

}  // namespace pensieve::kernels
