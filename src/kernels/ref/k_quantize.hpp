// F32 -> K-format quantizers (scalar). They are simple min/max quantizers, not
// ggml's iterative search: good enough for tests, tools and round-trip checks
// (errors within ggml's published tolerances), not meant to produce model
// files that match llama.cpp's quantizer byte for byte.
#pragma once

#include <cstdint>

namespace pensieve::kernels::ref {

void quantize_q2_k(const float* x, void* dst, int64_t n);
void quantize_q3_k(const float* x, void* dst, int64_t n);
void quantize_q4_k(const float* x, void* dst, int64_t n);
void quantize_q5_k(const float* x, void* dst, int64_t n);
void quantize_q6_k(const float* x, void* dst, int64_t n);

}  // namespace pensieve::kernels::ref
