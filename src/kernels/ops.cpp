// Public ops: thin wrappers over the active kernel table, plus the ops that
// only have a scalar form (layer norm, RoPE, SiLU in place).
#include "kernels/ops.hpp"

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/dispatch.hpp"

namespace pensieve::kernels {

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
    active_table().ops.rms_norm(x, weight, out, n, eps);
}

void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t n,
                float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
    const double mean = sum / static_cast<double>(n);
    double var = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double dev = static_cast<double>(x[i]) - mean;
        var += dev * dev;
    }
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(n) + static_cast<double>(eps));
    for (int64_t i = 0; i < n; ++i) {
        const auto v = static_cast<float>((static_cast<double>(x[i]) - mean) * inv);
        out[i] = v * (weight ? weight[i] : 1.0f) + (bias ? bias[i] : 0.0f);
    }
}

void softmax(float* x, int64_t n, float scale, const float* mask) {
    active_table().ops.softmax(x, n, scale, mask);
}

std::pair<float, float> rope_angle(int64_t pos, const RopeConfig& c, int i) {
    // Double keeps pos * theta accurate for positions in the 100k range.
    const double p = static_cast<double>(pos) * static_cast<double>(c.freq_scale);
    double theta = p * std::pow(static_cast<double>(c.freq_base), -2.0 * i / c.n_dims);
    if (c.freq_factors != nullptr) theta /= static_cast<double>(c.freq_factors[i]);
    return {static_cast<float>(std::cos(theta) * static_cast<double>(c.attn_factor)),
            static_cast<float>(std::sin(theta) * static_cast<double>(c.attn_factor))};
}

void rope_angles(int64_t pos, const RopeConfig& c, float* cs, float* sn) {
    for (int i = 0; i < c.n_dims / 2; ++i) std::tie(cs[i], sn[i]) = rope_angle(pos, c, i);
}

void rope_rotate(float* x, int n_heads, const float* cs, const float* sn, const RopeConfig& c) {
    const int half = c.n_dims / 2;
    for (int i = 0; i < half; ++i) {
        for (int h = 0; h < n_heads; ++h) {
            float* head = x + static_cast<int64_t>(h) * c.head_dim;
            const int a = c.style == RopeStyle::Normal ? 2 * i : i;
            const int b = c.style == RopeStyle::Normal ? 2 * i + 1 : i + half;
            const float x0 = head[a], x1 = head[b];
            head[a] = x0 * cs[i] - x1 * sn[i];
            head[b] = x0 * sn[i] + x1 * cs[i];
        }
    }
}

void rope(float* x, int n_heads, int64_t pos, const RopeConfig& c) {
    std::vector<float> cs(static_cast<size_t>(c.n_dims / 2)), sn(cs.size());
    rope_angles(pos, c, cs.data(), sn.data());
    rope_rotate(x, n_heads, cs.data(), sn.data(), c);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    active_table().ops.silu_mul(gate, up, out, n);
}

void gelu_mul(const float* gate, const float* up, float* out, int64_t n) {
    active_table().ops.gelu_mul(gate, up, out, n);
}

void silu(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void add(const float* a, const float* b, float* out, int64_t n) {
    active_table().ops.add(a, b, out, n);
}
void mul(const float* a, const float* b, float* out, int64_t n) {
    active_table().ops.mul(a, b, out, n);
}

void scale(float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void attend_block(const AttendBlock& a) {
    const OpsTable& ops = a.head_dim % 8 == 0 ? active_table().ops : table_for(Isa::Ref)->ops;
    if (a.kt16 != nullptr) {
        ops.attend_block_f16(a);
        return;
    }
    // BF16 products pay for rearranging the block's tiles from 8 rows on.
    constexpr int64_t kBf16MinRows = 8;
    if (ops.attend_block_bf16 != nullptr && a.qb != nullptr && a.rows >= kBf16MinRows &&
        a.head_dim % 32 == 0 && a.head_dim <= 512) {
        ops.attend_block_bf16(a);
        return;
    }
    ops.attend_block(a);
}

bool attend_multiplies_bf16() {
    return active_table().ops.attend_block_bf16 != nullptr;
}

void dequantize_q8_0_keys(const void* tile, int64_t head_dim, float* kt) {
    active_table().ops.dequantize_q8_0_keys(tile, head_dim, kt);
}

float dot_f32(const float* a, const float* b, int64_t n) {
    return active_table().ops.dot_f32(a, b, n);
}
float dot_f16(const uint16_t* a, const float* b, int64_t n) {
    return active_table().ops.dot_f16(a, b, n);
}
void axpy_f32(float a, const float* x, float* y, int64_t n) {
    active_table().ops.axpy_f32(a, x, y, n);
}
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
    active_table().ops.axpy_f16(a, x, y, n);
}

}  // namespace pensieve::kernels
