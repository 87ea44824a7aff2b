// Dequantizing matrix-vector product: y[c][r] = sum_e W[r][e] * x[c][e] for
// every weight row r and up to kMaxCols activation rows c, in F32. One
// workgroup per weight row; its invocations take the row's 32-element units
// in turn, dequantize each once and dot it with every activation row, and
// the partial sums are added in shared memory. The weight format is chosen
// when the shader is compiled (-DFORMAT_<NAME>): the block layouts and the
// arithmetic are those of the CPU's scalar reference (src/kernels/ref), the
// test oracle. Buffers are reached by device address (push constants), so
// no descriptor sets are needed and no buffer-size limit of the device
// applies to one tensor.
#version 460
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

const uint kGroup = 64;   // invocations per workgroup
const uint kMaxCols = 8;  // activation rows per dispatch
layout(local_size_x = 64) in;

layout(buffer_reference, std430, buffer_reference_align = 1) readonly buffer Bytes {
    uint8_t b[];
};
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Floats {
    float f[];
};
layout(buffer_reference, std430, buffer_reference_align = 4) writeonly buffer Out {
    float f[];
};

layout(push_constant) uniform Args {
    uint64_t w;      // weight rows, row_bytes apart
    uint64_t x;      // cols activation rows of k floats, x_stride floats apart
    uint64_t y;      // cols output rows of `rows` floats, y_stride floats apart
    uint rows;
    uint k;          // elements per row, a whole number of blocks
    uint row_bytes;
    uint cols;       // 1..kMaxCols
    uint x_stride;
    uint y_stride;
} a;

uint byte_at(uint64_t p, uint o) { return uint(Bytes(p).b[o]); }
uint u16_at(uint64_t p, uint o) { return byte_at(p, o) | (byte_at(p, o + 1) << 8); }
uint u32_at(uint64_t p, uint o) { return u16_at(p, o) | (u16_at(p, o + 2) << 16); }
float half_at(uint64_t p, uint o) { return unpackHalf2x16(u16_at(p, o)).x; }
int i8_at(uint64_t p, uint o) { return bitfieldExtract(int(byte_at(p, o)), 0, 8); }

// Q4_K / Q5_K: scale and min of sub-block j (0..7) from the 12 bytes at s.
void k4_scale_min(uint64_t p, uint s, uint j, out float sc, out float mn) {
    if (j < 4) {
        sc = float(byte_at(p, s + j) & 63);
        mn = float(byte_at(p, s + j + 4) & 63);
    } else {
        sc = float((byte_at(p, s + j + 4) & 15) | ((byte_at(p, s + j - 4) >> 6) << 4));
        mn = float((byte_at(p, s + j + 4) >> 4) | ((byte_at(p, s + j) >> 6) << 4));
    }
}

// The 32 weights of unit u (elements 32u .. 32u+31) of the row at p.
void unit_weights(uint64_t p, uint u, out float w[32]) {
#if defined(FORMAT_F32)
    for (uint l = 0; l < 32; ++l) w[l] = uintBitsToFloat(u32_at(p, 4 * (32 * u + l)));
#elif defined(FORMAT_F16)
    for (uint l = 0; l < 32; ++l) w[l] = unpackHalf2x16(u16_at(p, 2 * (32 * u + l))).x;
#elif defined(FORMAT_BF16)
    for (uint l = 0; l < 32; ++l) w[l] = uintBitsToFloat(u16_at(p, 2 * (32 * u + l)) << 16);
#elif defined(FORMAT_Q4_0)
    const uint o = 18 * u;
    const float d = half_at(p, o);
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, o + 2 + l);
        w[l] = d * float(int(q & 15) - 8);
        w[l + 16] = d * float(int(q >> 4) - 8);
    }
#elif defined(FORMAT_Q4_1)
    const uint o = 20 * u;
    const float d = half_at(p, o), m = half_at(p, o + 2);
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, o + 4 + l);
        w[l] = d * float(q & 15) + m;
        w[l + 16] = d * float(q >> 4) + m;
    }
#elif defined(FORMAT_Q5_0) || defined(FORMAT_Q5_1)
#if defined(FORMAT_Q5_0)
    const uint o = 22 * u, qs = o + 6;
    const float d = half_at(p, o), m = 0.0;
    const uint qh = u32_at(p, o + 2);
    const int offset = 16;
#else
    const uint o = 24 * u, qs = o + 8;
    const float d = half_at(p, o), m = half_at(p, o + 2);
    const uint qh = u32_at(p, o + 4);
    const int offset = 0;
#endif
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, qs + l);
        w[l] = d * float(int((q & 15) | (((qh >> l) & 1) << 4)) - offset) + m;
        w[l + 16] = d * float(int((q >> 4) | (((qh >> (l + 16)) & 1) << 4)) - offset) + m;
    }
#elif defined(FORMAT_Q8_0)
    const uint o = 34 * u;
    const float d = half_at(p, o);
    for (uint l = 0; l < 32; ++l) w[l] = d * float(i8_at(p, o + 2 + l));
#elif defined(FORMAT_Q4_K) || defined(FORMAT_Q5_K)
    // Super-block u / 8, sub-block j: d, dmin, 12 scale bytes, (Q5_K: 32
    // bytes of fifth bits), 128 bytes of nibbles, sub-blocks 2c and 2c+1 in
    // the low and high nibbles of bytes 32c .. 32c+31.
#if defined(FORMAT_Q4_K)
    const uint o = 144 * (u / 8), qs = o + 16;
#else
    const uint o = 176 * (u / 8), qs = o + 48;
#endif
    const uint j = u % 8;
    float sc, mn;
    k4_scale_min(p, o + 4, j, sc, mn);
    const float dl = half_at(p, o) * sc, ml = half_at(p, o + 2) * mn;
    for (uint l = 0; l < 32; ++l) {
        uint q = (byte_at(p, qs + 32 * (j / 2) + l) >> (4 * (j % 2))) & 15;
#if defined(FORMAT_Q5_K)
        q |= ((byte_at(p, o + 16 + l) >> j) & 1) << 4;
#endif
        w[l] = dl * float(q) - ml;
    }
#elif defined(FORMAT_Q6_K)
    // Super-block u / 8: 128 bytes of low nibbles, 64 of high bit pairs, 16
    // signed scales (one per 16 elements), d.
    const uint o = 210 * (u / 8);
    const float d = half_at(p, o + 208);
    for (uint l = 0; l < 32; ++l) {
        const uint e = 32 * (u % 8) + l, h = e / 128, r = e % 128;
        const uint low = (byte_at(p, o + 64 * h + r % 64) >> (4 * (r / 64))) & 15;
        const uint high = (byte_at(p, o + 128 + 32 * h + r % 32) >> (2 * (r / 32))) & 3;
        const float dl = d * float(i8_at(p, o + 192 + e / 16));
        w[l] = dl * float(int(low | (high << 4)) - 32);
    }
#else
#error "compile with -DFORMAT_<NAME>"
#endif
}

shared float partial[kMaxCols][kGroup];

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= a.rows) return;  // the whole workgroup leaves together
    const uint t = gl_LocalInvocationID.x;
    const uint64_t p = a.w + uint64_t(row) * a.row_bytes;
    float sum[kMaxCols];
    for (uint c = 0; c < kMaxCols; ++c) sum[c] = 0.0;
    float w[32];
    for (uint u = t; u < a.k / 32; u += kGroup) {
        unit_weights(p, u, w);
        for (uint c = 0; c < a.cols; ++c) {
            Floats x = Floats(a.x + 4 * (uint64_t(c) * a.x_stride + 32 * u));
            for (uint l = 0; l < 32; ++l) sum[c] += w[l] * x.f[l];
        }
    }
    for (uint c = 0; c < kMaxCols; ++c) partial[c][t] = sum[c];
    barrier();
    for (uint half_ = kGroup / 2; half_ > 0; half_ /= 2) {
        if (t < half_) {
            for (uint c = 0; c < kMaxCols; ++c) partial[c][t] += partial[c][t + half_];
        }
        barrier();
    }
    if (t < a.cols) Out(a.y + 4 * (uint64_t(t) * a.y_stride + row)).f[0] = partial[t][0];
}
