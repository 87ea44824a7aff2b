// Scalar reference of the BF16-product matmul path of F16 / BF16 weights
// (x86/avx512/gemm_bf16.cpp): the same roundings, sums in F32 in order.
#include "kernels/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {

float dot_bf16(TensorType type, const void* w, const float* x, int64_t k) {
    const auto* h = static_cast<const uint16_t*>(w);
    float sum = 0.0f;
    for (int64_t i = 0; i < k; ++i) {
        const float wv = type == TensorType::BF16 ? bf16_to_fp32(h[i])
                                                  : bf16_to_fp32(fp32_to_bf16(fp16_to_fp32(h[i])));
        // The product of two BF16 values (8-bit significands) is exact in F32.
        sum += wv * bf16_to_fp32(fp32_to_bf16(x[i]));
    }
    return sum;
}

}  // namespace pensieve::kernels::ref
