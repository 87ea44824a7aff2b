// Min/max quantizers for the K weight formats. Each works in two levels: a
// float scale (and min) per sub-block, then those scales quantized to 4/6/8
// bits against the super-block's d (and dmin), then the weights quantized with
// the scale the decoder will actually see.
#include "kernels/ref/k_quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/blocks.hpp"
#include "kernels/fp16.hpp"

namespace pensieve::kernels::ref {
namespace {

int clamp_int(float v, int lo, int hi) {
    const int q = static_cast<int>(std::lround(v));
    return std::clamp(q, lo, hi);
}

// Best (scale, offset) for one asymmetric sub-block: x ~ scale * q + offset
// with q in 0..qmax and offset <= 0. Tries a handful of grid placements around
// the plain min/max one and refits scale and offset by least squares for each,
// keeping the fit with the smallest squared error. (Plain min/max alone is too
// coarse for 2-bit weights.)
void fit_sub_block(const float* x, int n, int qmax, float& scale_out, float& offset_out) {
    float lo = 0.0f, hi = x[0];
    for (int e = 0; e < n; ++e) {
        lo = std::min(lo, x[e]);
        hi = std::max(hi, x[e]);
    }
    scale_out = (hi - lo) / static_cast<float>(qmax);
    offset_out = lo;
    if (hi <= lo) return;
    double best = std::numeric_limits<double>::infinity();
    for (int step = -10; step <= 16; ++step) {
        const float iscale =
            (static_cast<float>(qmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
        double sq = 0, sqq = 0, sx = 0, sqx = 0;
        int q[32];
        for (int e = 0; e < n; ++e) {
            q[e] = clamp_int((x[e] - lo) * iscale, 0, qmax);
            sq += q[e];
            sqq += q[e] * q[e];
            sx += static_cast<double>(x[e]);
            sqx += q[e] * static_cast<double>(x[e]);
        }
        const double det = n * sqq - sq * sq;
        if (det <= 0) continue;
        double scale = (n * sqx - sq * sx) / det;
        double offset = (sx - scale * sq) / n;
        if (offset > 0) {  // the format can only subtract a min
            offset = 0;
            scale = sqx / sqq;
        }
        double err = 0;
        for (int e = 0; e < n; ++e) {
            const double diff = scale * q[e] + offset - static_cast<double>(x[e]);
            err += diff * diff;
        }
        if (err < best && scale > 0) {
            best = err;
            scale_out = static_cast<float>(scale);
            offset_out = static_cast<float>(offset);
        }
    }
}

// Asymmetric sub-blocks (Q2_K, Q4_K, Q5_K): x ~ d*sc*q - dmin*m with q in
// 0..qmax, sc and m in 0..smax. Writes q[256], sc[], m[] and the two scales.
void quantize_asymmetric(const float* x, int sub, int qmax, int smax, int* q, int* sc, int* m,
                         float& d_out, float& dmin_out) {
    const int n_sub = kQKK / sub;
    float scale[16], min[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        float offset = 0.0f;
        fit_sub_block(x + j * sub, sub, qmax, scale[j], offset);
        min[j] = -offset;
        max_scale = std::max(max_scale, scale[j]);
        max_min = std::max(max_min, min[j]);
    }
    const uint16_t d16 = fp32_to_fp16(max_scale / static_cast<float>(smax));
    const uint16_t dmin16 = fp32_to_fp16(max_min / static_cast<float>(smax));
    const float d = fp16_to_fp32(d16), dmin = fp16_to_fp32(dmin16);
    for (int j = 0; j < n_sub; ++j) {
        sc[j] = d > 0.0f ? clamp_int(scale[j] / d, 0, smax) : 0;
        m[j] = dmin > 0.0f ? clamp_int(min[j] / dmin, 0, smax) : 0;
        const float step = d * static_cast<float>(sc[j]);
        const float offset = dmin * static_cast<float>(m[j]);
        for (int e = j * sub; e < (j + 1) * sub; ++e) {
            q[e] = step > 0.0f ? clamp_int((x[e] + offset) / step, 0, qmax) : 0;
        }
    }
    d_out = fp16_to_fp32(d16);
    dmin_out = fp16_to_fp32(dmin16);
}

// Symmetric sub-blocks (Q3_K, Q6_K): x ~ d*sc*q with q in qmin..-qmin-1 and
// signed sc; the element of largest magnitude maps to qmin exactly.
void quantize_symmetric(const float* x, int sub, int qmin, int smax, int* q, int* sc,
                        uint16_t& d_out) {
    const int n_sub = kQKK / sub;
    float scale[16];
    float max_abs_scale = 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        float amax = 0.0f, max = 0.0f;
        for (int e = j * sub; e < (j + 1) * sub; ++e) {
            if (std::fabs(x[e]) > amax) {
                amax = std::fabs(x[e]);
                max = x[e];
            }
        }
        scale[j] = max / static_cast<float>(qmin);
        max_abs_scale = std::max(max_abs_scale, std::fabs(scale[j]));
    }
    d_out = fp32_to_fp16(max_abs_scale / static_cast<float>(smax));
    const float d = fp16_to_fp32(d_out);
    for (int j = 0; j < n_sub; ++j) {
        sc[j] = d > 0.0f ? clamp_int(scale[j] / d, -smax, smax) : 0;
        const float step = d * static_cast<float>(sc[j]);
        for (int e = j * sub; e < (j + 1) * sub; ++e) {
            q[e] = step != 0.0f ? clamp_int(x[e] / step, qmin, -qmin - 1) : 0;
        }
    }
}

// Packs eight 6-bit scales and mins the way k4_scale_min() unpacks them.
void pack_k4_scales(const int* sc, const int* m, uint8_t* s) {
    for (int j = 0; j < 4; ++j) {
        s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
    }
}

// Low 4 bits of element c*64 + h*32 + l go to nibble h of qs[c*32 + l].
void pack_nibbles_k(const int* q, uint8_t* qs) {
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            qs[c * 32 + l] =
                static_cast<uint8_t>((q[c * 64 + l] & 0xF) | ((q[c * 64 + 32 + l] & 0xF) << 4));
        }
    }
}

// Two low bits of element h*128 + s*32 + l go to bits 2s of qs[h*32 + l].
void pack_crumbs(const int* q, uint8_t* qs) {
    std::memset(qs, 0, kQKK / 4);
    for (int e = 0; e < kQKK; ++e) {
        const int h = e / 128, s = (e % 128) / 32, l = e % 32;
        qs[h * 32 + l] = static_cast<uint8_t>(qs[h * 32 + l] | ((q[e] & 3) << (2 * s)));
    }
}

}  // namespace

void quantize_q2_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ2_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        int q[kQKK], sc[16], m[16];
        float d = 0.0f, dmin = 0.0f;
        quantize_asymmetric(x, 16, 3, 15, q, sc, m, d, dmin);
        b[i].d = fp32_to_fp16(d);
        b[i].dmin = fp32_to_fp16(dmin);
        for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(sc[j] | (m[j] << 4));
        pack_crumbs(q, b[i].qs);
    }
}

void quantize_q3_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ3_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        int q[kQKK], sc[16];
        quantize_symmetric(x, 16, -4, 31, q, sc, b[i].d);
        std::memset(b[i].scales, 0, sizeof(b[i].scales));
        for (int j = 0; j < 16; ++j) {
            const int u = sc[j] + 32;  // stored biased, 0..63
            b[i].scales[j % 8] =
                static_cast<uint8_t>(b[i].scales[j % 8] | ((u & 0xF) << (4 * (j / 8))));
            b[i].scales[8 + j % 4] =
                static_cast<uint8_t>(b[i].scales[8 + j % 4] | ((u >> 4) << (2 * (j / 4))));
        }
        // q in -4..3 is stored as low 2 bits of q + 4 plus a mask bit that is
        // set when q >= 0 (the decoder subtracts 4 when the bit is clear).
        int low[kQKK];
        std::memset(b[i].hmask, 0, sizeof(b[i].hmask));
        for (int e = 0; e < kQKK; ++e) {
            const int u = q[e] + 4;
            low[e] = u & 3;
            if (u >= 4)
                b[i].hmask[e % 32] = static_cast<uint8_t>(b[i].hmask[e % 32] | (1 << (e / 32)));
        }
        pack_crumbs(low, b[i].qs);
    }
}

void quantize_q4_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ4_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        int q[kQKK], sc[8], m[8];
        float d = 0.0f, dmin = 0.0f;
        quantize_asymmetric(x, 32, 15, 63, q, sc, m, d, dmin);
        b[i].d = fp32_to_fp16(d);
        b[i].dmin = fp32_to_fp16(dmin);
        pack_k4_scales(sc, m, b[i].scales);
        pack_nibbles_k(q, b[i].qs);
    }
}

void quantize_q5_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ5_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        int q[kQKK], sc[8], m[8];
        float d = 0.0f, dmin = 0.0f;
        quantize_asymmetric(x, 32, 31, 63, q, sc, m, d, dmin);
        b[i].d = fp32_to_fp16(d);
        b[i].dmin = fp32_to_fp16(dmin);
        pack_k4_scales(sc, m, b[i].scales);
        pack_nibbles_k(q, b[i].qs);
        std::memset(b[i].qh, 0, sizeof(b[i].qh));
        for (int e = 0; e < kQKK; ++e) {
            b[i].qh[e % 32] = static_cast<uint8_t>(b[i].qh[e % 32] | ((q[e] >> 4) << (e / 32)));
        }
    }
}

void quantize_q6_k(const float* x, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ6_K*>(dst);
    for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
        int q[kQKK], sc[16];
        quantize_symmetric(x, 16, -32, 127, q, sc, b[i].d);
        for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<int8_t>(sc[j]);
        std::memset(b[i].ql, 0, sizeof(b[i].ql));
        std::memset(b[i].qh, 0, sizeof(b[i].qh));
        for (int e = 0; e < kQKK; ++e) {
            const int u = q[e] + 32;  // 0..63
            const int h = e / 128, r = e % 128;
            uint8_t& low = b[i].ql[h * 64 + r % 64];
            low = static_cast<uint8_t>(low | ((u & 0xF) << (4 * (r / 64))));
            uint8_t& high = b[i].qh[h * 32 + r % 32];
            high = static_cast<uint8_t>(high | ((u >> 4) << (2 * (r / 32))));
        }
    }
}

}  // namespace pensieve::kernels::ref
