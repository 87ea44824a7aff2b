// Matrix-vector products: y[c][r] = W[r] . x[c] for every weight row r and
// up to kMaxCols activation rows c. One invocation per weight row (kGroup
// rows per workgroup) goes through the row's units (32 elements, or a
// 256-element super-block for the K formats) in order. The weight format
// is chosen when the shader is compiled (-DFORMAT_<NAME>). As on the CPU,
// quantized weights meet activations quantized to the format's
// vec_dot_type (Q8_0 blocks for the 32-element formats, Q8_K super-blocks
// for the K formats; by the CPU's quantizer or by quantize.comp), and each
// unit's integer dot product is scaled exactly as the
// CPU's scalar reference (src/kernels/ref) does, in the same order, so the
// two agree to the bit; F32/F16/BF16 weights meet F32 activations (summed
// per 32 elements, so they differ from the reference's running sum in
// rounding).
#version 460
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint kGroup = 64;   // rows per workgroup, one per invocation
const uint kMaxCols = 8;  // activation rows per dispatch
layout(local_size_x = 64) in;

layout(push_constant) uniform Args {
    uint64_t w;      // weight rows, row_bytes apart
    uint64_t x;      // cols activation rows (F32 or vec_dot_type), x_stride bytes apart
    uint64_t y;      // cols output rows of `rows` floats, y_stride floats apart
    uint rows;
    uint k;          // elements per row, a whole number of blocks
    uint row_bytes;
    uint cols;       // 1..kMaxCols
    uint x_stride;   // bytes
    uint y_stride;   // floats
} a;

// Q4_K / Q5_K: scale and min of sub-block j (0..7) from the 12 bytes at s.
void k4_scale_min(uint64_t p, uint s, uint j, out int sc, out int mn) {
    if (j < 4) {
        sc = int(byte_at(p, s + j) & 63);
        mn = int(byte_at(p, s + j + 4) & 63);
    } else {
        sc = int((byte_at(p, s + j + 4) & 15) | ((byte_at(p, s + j - 4) >> 6) << 4));
        mn = int((byte_at(p, s + j + 4) >> 4) | ((byte_at(p, s + j) >> 6) << 4));
    }
}

#if defined(FORMAT_F32) || defined(FORMAT_F16) || defined(FORMAT_BF16)
const uint kUnit = 32;
// Unit u of the weight row at p against the F32 activation row at xa.
float unit_dot(uint64_t p, uint u, uint64_t xa) {
    Floats x = Floats(xa + 4 * 32 * u);
    precise float sum = 0.0;
    for (uint l = 0; l < 32; ++l) {
        const uint e = 32 * u + l;
#if defined(FORMAT_F32)
        const float w = uintBitsToFloat(u32_at(p, 4 * e));
#elif defined(FORMAT_F16)
        const float w = half_at(p, 2 * e);
#else
        const float w = uintBitsToFloat(u16_at(p, 2 * e) << 16);
#endif
        sum += w * x.f[l];
    }
    return sum;
}
#elif defined(FORMAT_Q4_K) || defined(FORMAT_Q5_K) || defined(FORMAT_Q6_K)
const uint kUnit = 256;
// Super-block u of the weight row at p against Q8_K super-block u of the
// activation row at xa (d as F32, 256 quants, 16 int16 sums of 16).
float unit_dot(uint64_t p, uint u, uint64_t xa) {
    const uint64_t a = xa + 292 * u;
    const float da = uintBitsToFloat(u32_at(a, 0));
#if defined(FORMAT_Q6_K)
    // 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, d.
    const uint o = 210 * u;
    int scaled = 0;
    for (uint j = 0; j < 16; ++j) {
        int isum = 0;
        for (uint e = 16 * j; e < 16 * j + 16; ++e) {
            const uint h = e / 128, r = e % 128;
            const uint low = (byte_at(p, o + 64 * h + r % 64) >> (4 * (r / 64))) & 15;
            const uint high = (byte_at(p, o + 128 + 32 * h + r % 32) >> (2 * (r / 32))) & 3;
            isum += (int(low | (high << 4)) - 32) * i8_at(a, 4 + e);
        }
        scaled += i8_at(p, o + 192 + j) * isum;
    }
    precise float v = da * half_at(p, o + 208) * float(scaled);
    return v;
#else
    // d, dmin, 12 scale bytes, (Q5_K: 32 bytes of fifth bits), 128 bytes of
    // nibbles: sub-blocks 2c and 2c+1 in the low and high nibbles of bytes
    // 32c .. 32c+31.
#if defined(FORMAT_Q4_K)
    const uint o = 144 * u, qs = o + 16;
#else
    const uint o = 176 * u, qs = o + 48;
#endif
    int scaled = 0, mins = 0;
    for (uint j = 0; j < 8; ++j) {
        int sc, mn;
        k4_scale_min(p, o + 4, j, sc, mn);
        int isum = 0;
        for (uint l = 0; l < 32; ++l) {
            uint q = (byte_at(p, qs + 32 * (j / 2) + l) >> (4 * (j % 2))) & 15;
#if defined(FORMAT_Q5_K)
            q |= ((byte_at(p, o + 16 + l) >> j) & 1) << 4;
#endif
            isum += int(q) * i8_at(a, 4 + 32 * j + l);
        }
        scaled += sc * isum;
        mins += mn * (i16_at(a, 260 + 4 * j) + i16_at(a, 262 + 4 * j));
    }
    precise float v = da * half_at(p, o) * float(scaled) - da * half_at(p, o + 2) * float(mins);
    return v;
#endif
}
#else
const uint kUnit = 32;
// Block u of the weight row at p against Q8_0 block u of the activation row
// at xa (d as F16, 32 quants).
float unit_dot(uint64_t p, uint u, uint64_t xa) {
    const uint64_t a = xa + 34 * u;
    const float da = half_at(a, 0);
    int isum = 0, asum = 0;
#if defined(FORMAT_Q8_0)
    const uint o = 34 * u;
    for (uint l = 0; l < 32; ++l) isum += i8_at(p, o + 2 + l) * i8_at(a, 2 + l);
    precise float v = float(isum) * (half_at(p, o) * da);
    return v;
#elif defined(FORMAT_Q4_0) || defined(FORMAT_Q4_1)
#if defined(FORMAT_Q4_0)
    const uint o = 18 * u, qs = o + 2;
    const int offset = 8;
#else
    const uint o = 20 * u, qs = o + 4;
    const int offset = 0;
#endif
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, qs + l);
        isum += (int(q & 15) - offset) * i8_at(a, 2 + l);
        isum += (int(q >> 4) - offset) * i8_at(a, 18 + l);
    }
#elif defined(FORMAT_Q5_0) || defined(FORMAT_Q5_1)
#if defined(FORMAT_Q5_0)
    const uint o = 22 * u, qs = o + 6;
    const uint qh = u32_at(p, o + 2);
    const int offset = 16;
#else
    const uint o = 24 * u, qs = o + 8;
    const uint qh = u32_at(p, o + 4);
    const int offset = 0;
#endif
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, qs + l);
        isum += (int((q & 15) | (((qh >> l) & 1) << 4)) - offset) * i8_at(a, 2 + l);
        isum += (int((q >> 4) | (((qh >> (l + 16)) & 1) << 4)) - offset) * i8_at(a, 18 + l);
    }
#else
#error "compile with -DFORMAT_<NAME>"
#endif
#if defined(FORMAT_Q4_1) || defined(FORMAT_Q5_1)
    // The offset m times the exact integer sum of the activation quants.
    for (uint l = 0; l < 32; ++l) asum += i8_at(a, 2 + l);
    precise float v = float(isum) * (half_at(p, o) * da) + half_at(p, o + 2) * da * float(asum);
    return v;
#elif !defined(FORMAT_Q8_0)
    precise float v = float(isum) * (half_at(p, o) * da);
    return v;
#endif
}
#endif

void main() {
    const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    const uint row = group * kGroup + gl_LocalInvocationID.x;
    if (row >= a.rows) return;
    const uint64_t p = a.w + uint64_t(row) * a.row_bytes;
    const uint units = a.k / kUnit;
    // Each column's units are added in order: the CPU reference's order, so
    // that a quantized format's result is the reference's to the bit.
    precise float sum[kMaxCols];
    for (uint c = 0; c < kMaxCols; ++c) sum[c] = 0.0;
    for (uint u = 0; u < units; ++u) {
        for (uint c = 0; c < a.cols; ++c)
            sum[c] += unit_dot(p, u, a.x + uint64_t(c) * a.x_stride);
    }
    for (uint c = 0; c < a.cols; ++c) Floats(a.y + 4 * (uint64_t(c) * a.y_stride + row)).f[0] = sum[c];
}
