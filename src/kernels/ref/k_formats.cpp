// Scalar reference for the K formats (256-element super-blocks): Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K and their activation format Q8_K. Dequantization follows
// gguf.quants operation for operation (float32, no fused multiply-add), so it
// is bit-exact with it. Quantizers for the weight formats are in
// k_quantize.cpp.
#include <cmath>

#include "kernels/blocks.hpp"
#include "kernels/fp16.hpp"
#include "kernels/k_scales.hpp"
#include "kernels/ref/k_quantize.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {
namespace {

// ---- unpacking: the integer value of element e (0..255) of one block ------

int q2_value(const BlockQ2_K& b, int e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    return (b.qs[h * 32 + l] >> (2 * s)) & 3;
}

int q3_value(const BlockQ3_K& b, int e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    const int low = (b.qs[h * 32 + l] >> (2 * s)) & 3;
    const bool high = ((b.hmask[l] >> (e / 32)) & 1) != 0;
    return low - (high ? 0 : 4);  // the offset is applied when the mask bit is clear
}

int q4k_value(const uint8_t* qs, int e) {
    const int c = e / 64, h = (e % 64) / 32, l = e % 32;
    return (qs[c * 32 + l] >> (4 * h)) & 0xF;
}

int q5k_value(const BlockQ5_K& b, int e) {
    return q4k_value(b.qs, e) | (((b.qh[e % 32] >> (e / 32)) & 1) << 4);
}

int q6_value(const BlockQ6_K& b, int e) {
    const int h = e / 128, r = e % 128;
    const int low = (b.ql[h * 64 + r % 64] >> (4 * (r / 64))) & 0xF;
    const int high = (b.qh[h * 32 + r % 32] >> (2 * (r / 32))) & 3;
    return (low | (high << 4)) - 32;
}

// ---- dequantize -----------------------------------------------------------

void dequantize_q2_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ2_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        const float d = fp16_to_fp32(b[i].d);
        const float dmin = fp16_to_fp32(b[i].dmin);
        for (int e = 0; e < kQKK; ++e) {
            const uint8_t sc = b[i].scales[e / 16];
            const float dl = d * static_cast<float>(sc & 0xF);
            const float ml = dmin * static_cast<float>(sc >> 4);
            y[e] = dl * static_cast<float>(q2_value(b[i], e)) - ml;
        }
    }
}

void dequantize_q3_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ3_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        const float d = fp16_to_fp32(b[i].d);
        for (int e = 0; e < kQKK; ++e) {
            const float dl = d * static_cast<float>(k3_scale(b[i].scales, e / 16));
            y[e] = dl * static_cast<float>(q3_value(b[i], e));
        }
    }
}

void dequantize_q4_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ4_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        const float d = fp16_to_fp32(b[i].d);
        const float dmin = fp16_to_fp32(b[i].dmin);
        for (int e = 0; e < kQKK; ++e) {
            int sc = 0, m = 0;
            k4_scale_min(b[i].scales, e / 32, sc, m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            y[e] = dl * static_cast<float>(q4k_value(b[i].qs, e)) - ml;
        }
    }
}

void dequantize_q5_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ5_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        const float d = fp16_to_fp32(b[i].d);
        const float dmin = fp16_to_fp32(b[i].dmin);
        for (int e = 0; e < kQKK; ++e) {
            int sc = 0, m = 0;
            k4_scale_min(b[i].scales, e / 32, sc, m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            y[e] = dl * static_cast<float>(q5k_value(b[i], e)) - ml;
        }
    }
}

void dequantize_q6_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ6_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        const float d = fp16_to_fp32(b[i].d);
        for (int e = 0; e < kQKK; ++e) {
            const float dl = d * static_cast<float>(b[i].scales[e / 16]);
            y[e] = dl * static_cast<float>(q6_value(b[i], e));
        }
    }
}

void dequantize_q8_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const BlockQ8_K*>(src);
    for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
        for (int e = 0; e < kQKK; ++e) y[e] = b[i].d * static_cast<float>(b[i].qs[e]);
    }
}

// Q8_K: q = nearest-even(x * -127 / max) where max is the signed element of
// largest magnitude, so that element maps to -127 exactly and every quant
// stays in -127..127. The stored scale is the reciprocal of that factor.
void quantize_q8_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        float amax = 0.0f, max = 0.0f;
        for (int e = 0; e < kQKK; ++e) {
            if (std::fabs(x[e]) > amax) {
                amax = std::fabs(x[e]);
                max = x[e];
            }
        }
        if (amax == 0.0f) {
            b[i] = BlockQ8_K{};
            continue;
        }
        const float iscale = -127.0f / max;
        for (int e = 0; e < kQKK; ++e) {
            const int q = static_cast<int>(std::nearbyint(iscale * x[e]));
            b[i].qs[e] = static_cast<int8_t>(q > 127 ? 127 : (q < -127 ? -127 : q));
        }
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int e = 0; e < 16; ++e) sum += b[i].qs[g * 16 + e];
            b[i].bsums[g] = static_cast<int16_t>(sum);
        }
        b[i].d = 1.0f / iscale;
    }
}

// ---- dot products with a Q8_K row ------------------------------------------
// Integer sums per sub-block, weighted by the integer sub-block scales, and
// one float multiply per super-block: the grouping the SIMD kernels use.

float dot_q2_k(int64_t k, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* a = static_cast<const BlockQ8_K*>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        int scaled = 0, mins = 0;
        for (int j = 0; j < 16; ++j) {
            int isum = 0;
            for (int e = j * 16; e < j * 16 + 16; ++e) isum += q2_value(x[i], e) * a[i].qs[e];
            scaled += (x[i].scales[j] & 0xF) * isum;
            mins += (x[i].scales[j] >> 4) * a[i].bsums[j];
        }
        sum += a[i].d * fp16_to_fp32(x[i].d) * static_cast<float>(scaled) -
               a[i].d * fp16_to_fp32(x[i].dmin) * static_cast<float>(mins);
    }
    return sum;
}

float dot_q3_k(int64_t k, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* a = static_cast<const BlockQ8_K*>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        int scaled = 0;
        for (int j = 0; j < 16; ++j) {
            int isum = 0;
            for (int e = j * 16; e < j * 16 + 16; ++e) isum += q3_value(x[i], e) * a[i].qs[e];
            scaled += k3_scale(x[i].scales, j) * isum;
        }
        sum += a[i].d * fp16_to_fp32(x[i].d) * static_cast<float>(scaled);
    }
    return sum;
}

template <typename Block, int (*Value)(const Block&, int)>
float dot_q45_k(int64_t k, const void* w, const void* act) {
    const auto* x = static_cast<const Block*>(w);
    const auto* a = static_cast<const BlockQ8_K*>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        int scaled = 0, mins = 0;
        for (int j = 0; j < 8; ++j) {
            int sc = 0, m = 0;
            k4_scale_min(x[i].scales, j, sc, m);
            int isum = 0;
            for (int e = j * 32; e < j * 32 + 32; ++e) isum += Value(x[i], e) * a[i].qs[e];
            scaled += sc * isum;
            mins += m * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        }
        sum += a[i].d * fp16_to_fp32(x[i].d) * static_cast<float>(scaled) -
               a[i].d * fp16_to_fp32(x[i].dmin) * static_cast<float>(mins);
    }
    return sum;
}

int q4k_block_value(const BlockQ4_K& b, int e) {
    return q4k_value(b.qs, e);
}

float dot_q6_k(int64_t k, const void* w, const void* act) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* a = static_cast<const BlockQ8_K*>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        int scaled = 0;
        for (int j = 0; j < 16; ++j) {
            int isum = 0;
            for (int e = j * 16; e < j * 16 + 16; ++e) isum += q6_value(x[i], e) * a[i].qs[e];
            scaled += x[i].scales[j] * isum;
        }
        sum += a[i].d * fp16_to_fp32(x[i].d) * static_cast<float>(scaled);
    }
    return sum;
}

template <float (*Dot)(int64_t, const void*, const void*)>
void dot_rows(int64_t k, const void* w, const void* act, size_t act_stride, int count, float* out) {
    for (int j = 0; j < count; ++j) {
        out[j] = Dot(k, w, static_cast<const char*>(act) + static_cast<size_t>(j) * act_stride);
    }
}

void set(KernelTable& table, TensorType type, const char* name, int64_t bytes, DequantizeRowFn dq,
         QuantizeRowFn q, VecDotFn dot) {
    table.types[static_cast<uint32_t>(type)] =
        TypeTraits{type, name, kQKK, bytes, TensorType::Q8_K, dq, q, dot};
}

}  // namespace

void register_k_formats(KernelTable& t) {
    using T = TensorType;
    set(t, T::Q2_K, "q2_K", sizeof(BlockQ2_K), dequantize_q2_k, quantize_q2_k, dot_rows<dot_q2_k>);
    set(t, T::Q3_K, "q3_K", sizeof(BlockQ3_K), dequantize_q3_k, quantize_q3_k, dot_rows<dot_q3_k>);
    set(t, T::Q4_K, "q4_K", sizeof(BlockQ4_K), dequantize_q4_k, quantize_q4_k,
        dot_rows<dot_q45_k<BlockQ4_K, q4k_block_value>>);
    set(t, T::Q5_K, "q5_K", sizeof(BlockQ5_K), dequantize_q5_k, quantize_q5_k,
        dot_rows<dot_q45_k<BlockQ5_K, q5k_value>>);
    set(t, T::Q6_K, "q6_K", sizeof(BlockQ6_K), dequantize_q6_k, quantize_q6_k, dot_rows<dot_q6_k>);
    set(t, T::Q8_K, "q8_K", sizeof(BlockQ8_K), dequantize_q8_k, quantize_q8_k, nullptr);
}

}  // namespace pensieve::kernels::ref
