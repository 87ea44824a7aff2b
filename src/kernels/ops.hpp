// The non-matmul operations of a transformer forward pass, on F32 rows. Those
// with SIMD variants dispatch through the active kernel table; the rest are
// plain loops (they are a small share of the time).
//
// All functions work on one row (or one head) so the caller owns batching and
// threading; none allocates.
#pragma once

#include <cstdint>

namespace pensieve::kernels {

// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]   (weight may be null: no scaling).
// out may alias x.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// out[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i]
// (weight and bias may be null). out may alias x.
void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n,
                float eps);

// In place: x = softmax(x * scale + mask). mask may be null; -INFINITY mask
// entries get probability 0. A row that is entirely masked becomes all zeros.
void softmax(float* x, int64_t n, float scale, const float* mask);

enum class RopeStyle {
    Normal,  // rotates adjacent pairs (x[2i], x[2i+1]): Llama/Mistral GGUFs
    NeoX,    // rotates (x[i], x[i + n_dims/2]): NeoX, Qwen2, Gemma, Phi
};

struct RopeConfig {
    int head_dim = 0;  // elements per head
    int n_dims = 0;    // leading dims of each head that rotate (<= head_dim, even)
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;  // linear position scaling (1 / scaling factor)
    RopeStyle style = RopeStyle::Normal;
};

// In place on n_heads heads of one token, laid out [n_heads][head_dim]:
// pair i of each head is rotated by angle pos * freq_scale * base^(-2i/n_dims).
void rope(float* x, int n_heads, int64_t pos, const RopeConfig& config);

// out = silu(gate) * up (SwiGLU); out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
// out = gelu(gate) * up (GeGLU, tanh approximation); out may alias.
void gelu_mul(const float* gate, const float* up, float* out, int64_t n);
// In place activations.
void silu(float* x, int64_t n);
void gelu(float* x, int64_t n);  // tanh approximation, as GGUF models expect

// Element-wise; out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);
void mul(const float* a, const float* b, float* out, int64_t n);
void scale(float* x, float s, int64_t n);

// Attention helpers: q·k against F32 or F16 keys, and y += a * v for values.
float dot_f32(const float* a, const float* b, int64_t n);
float dot_f16(const uint16_t* a, const float* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n);

// Attention over a run of cached positions whose F16 rows lie `stride`
// elements apart (the KV cache stores a block's positions one after another,
// every head of a position together), for the n_q query heads that share
// these keys and values (grouped-query attention). One call per run and per
// group: each key and value is read once for the whole group, and the
// per-call cost no longer dominates long contexts.
// scores[h * scores_stride + i] = q_h · k_i, q_h = q + h * head_dim,
// k_i = k + i * stride, for h < n_q, i < n
void dot_f16_rows(const uint16_t* k, int64_t stride, int64_t n, const float* q, int64_t n_q,
                  int64_t head_dim, float* scores, int64_t scores_stride);
// out_h += sum over i < n of w[h * w_stride + i] * v_i, out_h = out + h * head_dim
void axpy_f16_rows(const float* w, int64_t w_stride, const uint16_t* v, int64_t stride, int64_t n,
                   int64_t n_q, int64_t head_dim, float* out);

}  // namespace pensieve::kernels
