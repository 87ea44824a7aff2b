// The kernel-table rows of the 256-bit dot products, quantizers and KV
// dequantizers, registered the same way by the AVX2 and the AVX-512
// translation units: each passes its Int8 policy (dot_256.hpp), the one
// instruction sequence that differs. Internal linkage only, as everything
// under x86/.
#pragma once

#include "kernels/dispatch.hpp"
#include "kernels/x86/dequantize_256.hpp"
#include "kernels/x86/dot_256.hpp"
#include "kernels/x86/quantize_256.hpp"

namespace pensieve::kernels::x86 {
namespace {

template <class Int8>
void register_formats_256(KernelTable& table) {
    using T = TensorType;
    type_row(table, T::F32).vec_dot = dot_rows<F32Dot>;
    type_row(table, T::F16).vec_dot = dot_rows<F16Dot>;
    type_row(table, T::BF16).vec_dot = dot_rows<Bf16Dot>;
    type_row(table, T::Q4_0).vec_dot = dot_rows<Q4_0Dot<Int8>>;
    type_row(table, T::Q4_1).vec_dot = dot_rows<Q4_1Dot<Int8>>;
    type_row(table, T::Q5_0).vec_dot = dot_rows<Q5_0Dot<Int8>>;
    type_row(table, T::Q5_1).vec_dot = dot_rows<Q5_1Dot<Int8>>;
    type_row(table, T::Q8_0).vec_dot = dot_rows<Q8_0Dot<Int8>>;
    type_row(table, T::Q4_K).vec_dot = dot_rows<Q4_KDot>;
    type_row(table, T::Q5_K).vec_dot = dot_rows<Q5_KDot>;
    type_row(table, T::Q6_K).vec_dot = dot_rows<Q6_KDot>;
    type_row(table, T::Q8_0).quantize_row = quantize_q8_0;
    // The KV cache's types, read back one tile at a time by attention.
    type_row(table, T::F16).dequantize_row = dequantize_f16;
    type_row(table, T::BF16).dequantize_row = dequantize_bf16;
    type_row(table, T::Q8_0).dequantize_row = dequantize_q8_0;
    type_row(table, T::Q8_K).quantize_row = quantize_q8_k;
}

}  // namespace
}  // namespace pensieve::kernels::x86
