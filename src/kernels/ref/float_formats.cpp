// Scalar reference for the plain float weight formats F32, F16 and BF16. Their
// dot products take an F32 activation row (no activation quantization).
#include <cstring>

#include "kernels/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {
namespace {

void dequantize_f32(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void quantize_f32(const float* src, void* dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void quantize_f16(const float* src, void* dst, int64_t n) {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

// One weight row against `count` F32 activation rows. Accumulates in float
// (as the SIMD variants do) so that the comparison tolerances stay honest.
template <float (*Load)(const void*, int64_t)>
void vec_dot_float(int64_t k, const void* w, const void* act, size_t act_stride, int count,
                   float* out) {
    for (int j = 0; j < count; ++j) {
        const auto* a = reinterpret_cast<const float*>(static_cast<const char*>(act) +
                                                       static_cast<size_t>(j) * act_stride);
        float sum = 0.0f;
        for (int64_t i = 0; i < k; ++i) sum += Load(w, i) * a[i];
        out[j] = sum;
    }
}

float load_f32(const void* p, int64_t i) {
    return static_cast<const float*>(p)[i];
}
float load_f16(const void* p, int64_t i) {
    return fp16_to_fp32(static_cast<const uint16_t*>(p)[i]);
}
float load_bf16(const void* p, int64_t i) {
    return bf16_to_fp32(static_cast<const uint16_t*>(p)[i]);
}

}  // namespace

void register_float_formats(KernelTable& table) {
    table.types[static_cast<uint32_t>(TensorType::F32)] = TypeTraits{
        TensorType::F32,        "f32", 1, 4, TensorType::F32, dequantize_f32, quantize_f32,
        vec_dot_float<load_f32>};
    table.types[static_cast<uint32_t>(TensorType::F16)] = TypeTraits{
        TensorType::F16,        "f16", 1, 2, TensorType::F32, dequantize_f16, quantize_f16,
        vec_dot_float<load_f16>};
    table.types[static_cast<uint32_t>(TensorType::BF16)] = TypeTraits{
        TensorType::BF16,        "bf16", 1, 2, TensorType::F32, dequantize_bf16, quantize_bf16,
        vec_dot_float<load_bf16>};
}

}  // namespace pensieve::kernels::ref
