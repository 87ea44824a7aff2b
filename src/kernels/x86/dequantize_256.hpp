// Dequantizers of the KV cache's types on 256-bit vectors (F16C for F16),
// shared by the ISA translation units; bit-exact with ref/ (each element is
// one exact conversion or one float product either way).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/blocks.hpp"

namespace pensieve::kernels::x86 {
namespace {

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i,
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
    }
    for (; i < n; ++i) dst[i] = _cvtsh_ss(h[i]);
}

// BF16 is the top half of an F32.
void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i w =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; ++i) {
        const uint32_t bits = static_cast<uint32_t>(h[i]) << 16;
        __builtin_memcpy(dst + i, &bits, 4);
    }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
    const auto* b = static_cast<const BlockQ8_0*>(src);
    for (int64_t k = 0; k < n / kQK; ++k, dst += kQK) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[k].d));
        for (int j = 0; j < kQK; j += 8) {
            const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + j));
            _mm256_storeu_ps(dst + j,
                             _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels::x86
