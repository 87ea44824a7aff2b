// Scalar reference of the dispatched ops (see ops.hpp for their contracts).
#include <cmath>

#include "kernels/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {
namespace {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    double sum = 0.0;  // double: the sum of squares of a 8k-wide row loses bits in float
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    const float inv = static_cast<float>(
        1.0 / std::sqrt(sum / static_cast<double>(n) + static_cast<double>(eps)));
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * (weight ? weight[i] : 1.0f);
}

void softmax(float* x, int64_t n, float scale, const float* mask) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = x[i] * scale + (mask ? mask[i] : 0.0f);
        max = std::fmax(max, x[i]);
    }
    if (max == -INFINITY) {  // fully masked row
        for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += static_cast<double>(x[i]);
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

float dot_f16(const uint16_t* a, const float* b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(a[i]) * b[i];
    return sum;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(x[i]);
}

void dot_f16_rows(const uint16_t* k, int64_t stride, int64_t n, const float* q, int64_t n_q,
                  int64_t head_dim, float* scores, int64_t scores_stride) {
    for (int64_t h = 0; h < n_q; ++h) {
        for (int64_t i = 0; i < n; ++i) {
            scores[h * scores_stride + i] = dot_f16(k + i * stride, q + h * head_dim, head_dim);
        }
    }
}

void axpy_f16_rows(const float* w, int64_t w_stride, const uint16_t* v, int64_t stride, int64_t n,
                   int64_t n_q, int64_t head_dim, float* out) {
    for (int64_t h = 0; h < n_q; ++h) {
        for (int64_t i = 0; i < n; ++i) {
            axpy_f16(w[h * w_stride + i], v + i * stride, out + h * head_dim, head_dim);
        }
    }
}

void add(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

}  // namespace

void register_ops(KernelTable& table) {
    table.ops = OpsTable{rms_norm, softmax,       silu_mul,      dot_f32, dot_f16,
                         axpy_f32, axpy_f16,     dot_f16_rows, axpy_f16_rows, add,
                         mul};
}

}  // namespace pensieve::kernels::ref
