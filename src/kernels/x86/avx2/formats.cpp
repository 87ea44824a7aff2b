// AVX2 (+FMA +F16C) quantized dot products and activation quantizers.
#include "kernels/x86/avx2/avx2.hpp"
#include "kernels/x86/dequantize_256.hpp"
#include "kernels/x86/dot_256.hpp"
#include "kernels/x86/quantize_256.hpp"

namespace pensieve::kernels::avx2 {
namespace {

// u8 x s8 -> int32 in two steps; the 16-bit middle cannot saturate for our
// operands (|u| <= 128, |s| <= 127).
struct Int8 {
    static __m256i dot(__m256i u, __m256i s) {
        return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
    }
};

}  // namespace

void register_formats(KernelTable& table) {
    using T = TensorType;
    using namespace x86;
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

}  // namespace pensieve::kernels::avx2
