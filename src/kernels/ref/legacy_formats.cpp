// Scalar reference for the 32-element block formats Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, and ggml's Q8_1 (kept for completeness: our Q4_1 / Q5_1 dots take Q8_0).
//
// Quantizers reproduce gguf.quants (the PyPI reference) byte for byte,
// including its rounding quirks, which the comments point out. This file is
// compiled with -ffp-contract=off: a fused multiply-add would change those
// roundings.
#include <cmath>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/fp16.hpp"
#include "kernels/ref/ref.hpp"

namespace pensieve::kernels::ref {
namespace {

template <typename Block>
const Block* blocks_of(const void* p) {
    return static_cast<const Block*>(p);
}

// ---- dequantize -----------------------------------------------------------

void dequantize_q4_0(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ4_0>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = d * static_cast<float>((b[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
        }
    }
}

void dequantize_q4_1(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ4_1>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = d * static_cast<float>(b[i].qs[j] & 0xF) + m;
            y[j + 16] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
        }
    }
}

uint32_t load_qh(const uint8_t* qh) {
    uint32_t v = 0;
    std::memcpy(&v, qh, 4);  // little-endian on every target we build for
    return v;
}

// The 5-bit value of element j (0..31) of a Q5 block.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
    const int low = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
    return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

void dequantize_q5_0(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ5_0>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q5_value(b[i].qs, qh, j) - 16);
    }
}

void dequantize_q5_1(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ5_1>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q5_value(b[i].qs, qh, j)) + m;
    }
}

void dequantize_q8_0(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ8_0>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
    }
}

void dequantize_q8_1(const void* src, float* y, int64_t n) {
    const auto* b = blocks_of<BlockQ8_1>(src);
    for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
    }
}

// ---- quantize -------------------------------------------------------------

// The element of largest magnitude, keeping its sign; the first one on ties.
// (Starting from x[0] matters for an all-zero block: max keeps x[0]'s sign,
// so d = -0 / -8 = +0 when x[0] is -0, exactly as gguf.quants' argmax gives.)
float signed_absmax(const float* x) {
    float amax = std::fabs(x[0]), max = x[0];
    for (int j = 1; j < kQK; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float* x, float& min, float& max) {
    min = x[0];
    max = x[0];
    for (int j = 1; j < kQK; ++j) {
        min = std::fmin(min, x[j]);
        max = std::fmax(max, x[j]);
    }
}

float inverse_or_zero(float d) {
    return d == 0.0f ? 0.0f : 1.0f / d;
}

// Symmetric 4/5-bit: q = trunc(x * id + offset + 0.5), where gguf.quants
// evaluates the multiply-add in float64 and rounds it to float32 before
// truncating (emulating ggml's FMA-contracted C).
int quantize_symmetric(float x, float id, double offset_half, int qmax) {
    const float v =
        static_cast<float>(static_cast<double>(x) * static_cast<double>(id) + offset_half);
    const int q = static_cast<int>(std::trunc(v));
    return q < 0 ? 0 : (q > qmax ? qmax : q);
}

// Offset 4/5-bit: q = trunc((x - min) * id + 0.5) in plain float32.
int quantize_offset(float x, float min, float id, int qmax) {
    const float v = (x - min) * id + 0.5f;
    const int q = static_cast<int>(std::trunc(v));
    return q < 0 ? 0 : (q > qmax ? qmax : q);
}

void quantize_q4_0(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ4_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float d = signed_absmax(x) / -8.0f;
        const float id = inverse_or_zero(d);
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = quantize_symmetric(x[j], id, 8.5, 15);
            const int hi = quantize_symmetric(x[j + 16], id, 8.5, 15);
            b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void quantize_q4_1(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ4_1*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float min = 0.0f, max = 0.0f;
        min_max(x, min, max);
        const float d = (max - min) / 15.0f;
        const float id = inverse_or_zero(d);
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(min);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = quantize_offset(x[j], min, id, 15);
            const int hi = quantize_offset(x[j + 16], min, id, 15);
            b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

template <typename Block>
void pack_q5(Block& b, const int* q) {
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
        b.qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
    }
    for (int j = 0; j < kQK; ++j) qh |= static_cast<uint32_t>(q[j] >> 4) << j;
    std::memcpy(b.qh, &qh, 4);
}

void quantize_q5_0(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ5_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float d = signed_absmax(x) / -16.0f;
        const float id = inverse_or_zero(d);
        int q[kQK];
        for (int j = 0; j < kQK; ++j) q[j] = quantize_symmetric(x[j], id, 16.5, 31);
        b[i].d = fp32_to_fp16(d);
        pack_q5(b[i], q);
    }
}

void quantize_q5_1(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ5_1*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float min = 0.0f, max = 0.0f;
        min_max(x, min, max);
        const float d = (max - min) / 31.0f;
        const float id = inverse_or_zero(d);
        int q[kQK];
        for (int j = 0; j < kQK; ++j) q[j] = quantize_offset(x[j], min, id, 31);
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(min);
        pack_q5(b[i], q);
    }
}

// Q8_0 / Q8_1 quants: round half away from zero of x / d with d = amax / 127.
float quantize_q8_block(const float* x, int8_t* qs) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = inverse_or_zero(d);
    for (int j = 0; j < kQK; ++j) qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    return d;
}

void quantize_q8_0(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK)
        b[i].d = fp32_to_fp16(quantize_q8_block(x, b[i].qs));
}

void quantize_q8_1(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_1*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const float d = quantize_q8_block(x, b[i].qs);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) sum += b[i].qs[j];
        b[i].d = fp32_to_fp16(d);
        b[i].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
}

// ---- dot products ---------------------------------------------------------
// Each block contributes (weight scale * activation scale) * integer dot, the
// same grouping the SIMD kernels use.

float dot_q4_0(int64_t k, const void* w, const void* act) {
    const auto* x = blocks_of<BlockQ4_0>(w);
    const auto* a = blocks_of<BlockQ8_0>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQK; ++i) {
        int isum = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            isum += ((x[i].qs[j] & 0xF) - 8) * a[i].qs[j];
            isum += ((x[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        }
        sum += static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(a[i].d));
    }
    return sum;
}

// Q4_1 / Q5_1 take a Q8_0 row: the offset term m * Σa uses the exact integer
// sum of the activation quants (ggml's Q8_1 stores d * Σq as a half instead,
// which costs ~11 bits of precision on that term).
float dot_q4_1(int64_t k, const void* w, const void* act) {
    const auto* x = blocks_of<BlockQ4_1>(w);
    const auto* a = blocks_of<BlockQ8_0>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQK; ++i) {
        int isum = 0, asum = 0;
        for (int j = 0; j < kQK / 2; ++j) {
            isum += (x[i].qs[j] & 0xF) * a[i].qs[j];
            isum += (x[i].qs[j] >> 4) * a[i].qs[j + 16];
        }
        for (int j = 0; j < kQK; ++j) asum += a[i].qs[j];
        const float da = fp16_to_fp32(a[i].d);
        sum += static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * da) +
               fp16_to_fp32(x[i].m) * da * static_cast<float>(asum);
    }
    return sum;
}

float dot_q5_0(int64_t k, const void* w, const void* act) {
    const auto* x = blocks_of<BlockQ5_0>(w);
    const auto* a = blocks_of<BlockQ8_0>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQK; ++i) {
        const uint32_t qh = load_qh(x[i].qh);
        int isum = 0;
        for (int j = 0; j < kQK; ++j) isum += (q5_value(x[i].qs, qh, j) - 16) * a[i].qs[j];
        sum += static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(a[i].d));
    }
    return sum;
}

float dot_q5_1(int64_t k, const void* w, const void* act) {
    const auto* x = blocks_of<BlockQ5_1>(w);
    const auto* a = blocks_of<BlockQ8_0>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQK; ++i) {
        const uint32_t qh = load_qh(x[i].qh);
        int isum = 0, asum = 0;
        for (int j = 0; j < kQK; ++j) {
            isum += q5_value(x[i].qs, qh, j) * a[i].qs[j];
            asum += a[i].qs[j];
        }
        const float da = fp16_to_fp32(a[i].d);
        sum += static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * da) +
               fp16_to_fp32(x[i].m) * da * static_cast<float>(asum);
    }
    return sum;
}

float dot_q8_0(int64_t k, const void* w, const void* act) {
    const auto* x = blocks_of<BlockQ8_0>(w);
    const auto* a = blocks_of<BlockQ8_0>(act);
    float sum = 0.0f;
    for (int64_t i = 0; i < k / kQK; ++i) {
        int isum = 0;
        for (int j = 0; j < kQK; ++j) isum += x[i].qs[j] * a[i].qs[j];
        sum += static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(a[i].d));
    }
    return sum;
}

template <float (*Dot)(int64_t, const void*, const void*)>
void dot_rows(int64_t k, const void* w, const void* act, size_t act_stride, int count, float* out) {
    for (int j = 0; j < count; ++j) {
        out[j] = Dot(k, w, static_cast<const char*>(act) + static_cast<size_t>(j) * act_stride);
    }
}

void set(KernelTable& table, TensorType type, const char* name, int64_t bytes, TensorType act,
         DequantizeRowFn dq, QuantizeRowFn q, VecDotFn dot) {
    table.types[static_cast<uint32_t>(type)] = TypeTraits{type, name, kQK, bytes, act, dq, q, dot};
}

}  // namespace

void register_legacy_formats(KernelTable& t) {
    using T = TensorType;
    set(t, T::Q4_0, "q4_0", sizeof(BlockQ4_0), T::Q8_0, dequantize_q4_0, quantize_q4_0,
        dot_rows<dot_q4_0>);
    set(t, T::Q4_1, "q4_1", sizeof(BlockQ4_1), T::Q8_0, dequantize_q4_1, quantize_q4_1,
        dot_rows<dot_q4_1>);
    set(t, T::Q5_0, "q5_0", sizeof(BlockQ5_0), T::Q8_0, dequantize_q5_0, quantize_q5_0,
        dot_rows<dot_q5_0>);
    set(t, T::Q5_1, "q5_1", sizeof(BlockQ5_1), T::Q8_0, dequantize_q5_1, quantize_q5_1,
        dot_rows<dot_q5_1>);
    set(t, T::Q8_0, "q8_0", sizeof(BlockQ8_0), T::Q8_0, dequantize_q8_0, quantize_q8_0,
        dot_rows<dot_q8_0>);
    set(t, T::Q8_1, "q8_1", sizeof(BlockQ8_1), T::Q8_1, dequantize_q8_1, quantize_q8_1, nullptr);
}

}  // namespace pensieve::kernels::ref
