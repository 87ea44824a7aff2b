// The 32 weights of unit u of a weight row at p, for the format chosen when
// the shader is compiled (-DFORMAT_<NAME>): block u of the 32-element
// formats, sub-block u % 8 of super-block u / 8 of the K formats, element u
// · 32 + l of the float ones. The block layouts are GGUF's (as
// src/kernels/blocks.hpp describes them).

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

void dequantize_unit(uint64_t p, uint u, out float w[32]) {
#if defined(FORMAT_F32)
    for (uint l = 0; l < 32; ++l) w[l] = uintBitsToFloat(u32_at(p, 4 * (32 * u + l)));
#elif defined(FORMAT_F16)
    for (uint l = 0; l < 32; ++l) w[l] = half_at(p, 2 * (32 * u + l));
#elif defined(FORMAT_BF16)
    for (uint l = 0; l < 32; ++l) w[l] = uintBitsToFloat(u16_at(p, 2 * (32 * u + l)) << 16);
#elif defined(FORMAT_Q8_0)
    const uint o = 34 * u;
    const float d = half_at(p, o);
    for (uint l = 0; l < 32; ++l) w[l] = d * float(i8_at(p, o + 2 + l));
#elif defined(FORMAT_Q4_0) || defined(FORMAT_Q4_1)
    // d (and m), then 16 bytes: element l in the low nibble of byte l,
    // element l + 16 in its high nibble.
#if defined(FORMAT_Q4_0)
    const uint o = 18 * u, qs = o + 2;
    const float d = half_at(p, o), m = 0.0;
    const int offset = 8;
#else
    const uint o = 20 * u, qs = o + 4;
    const float d = half_at(p, o), m = half_at(p, o + 2);
    const int offset = 0;
#endif
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, qs + l);
        w[l] = d * float(int(q & 15) - offset) + m;
        w[l + 16] = d * float(int(q >> 4) - offset) + m;
    }
#elif defined(FORMAT_Q5_0) || defined(FORMAT_Q5_1)
    // As Q4, with each element's fifth bit in the 32-bit qh.
#if defined(FORMAT_Q5_0)
    const uint o = 22 * u, qs = o + 6;
    const uint qh = u32_at(p, o + 2);
    const float d = half_at(p, o), m = 0.0;
    const int offset = 16;
#else
    const uint o = 24 * u, qs = o + 8;
    const uint qh = u32_at(p, o + 4);
    const float d = half_at(p, o), m = half_at(p, o + 2);
    const int offset = 0;
#endif
    for (uint l = 0; l < 16; ++l) {
        const uint q = byte_at(p, qs + l);
        w[l] = d * float(int((q & 15) | (((qh >> l) & 1) << 4)) - offset) + m;
        w[l + 16] = d * float(int((q >> 4) | (((qh >> (l + 16)) & 1) << 4)) - offset) + m;
    }
#elif defined(FORMAT_Q4_K) || defined(FORMAT_Q5_K)
    // d, dmin, 12 scale bytes, (Q5_K: 32 bytes of fifth bits), 128 bytes of
    // nibbles: sub-blocks 2c and 2c+1 in the low and high nibbles of bytes
    // 32c .. 32c+31.
    const uint s = u / 8, j = u % 8;
#if defined(FORMAT_Q4_K)
    const uint o = 144 * s, qs = o + 16;
#else
    const uint o = 176 * s, qs = o + 48;
#endif
    int sc, mn;
    k4_scale_min(p, o + 4, j, sc, mn);
    const float d = half_at(p, o) * float(sc), m = half_at(p, o + 2) * float(mn);
    for (uint l = 0; l < 32; ++l) {
        uint q = (byte_at(p, qs + 32 * (j / 2) + l) >> (4 * (j % 2))) & 15;
#if defined(FORMAT_Q5_K)
        q |= ((byte_at(p, o + 16 + l) >> j) & 1) << 4;
#endif
        w[l] = d * float(q) - m;
    }
#elif defined(FORMAT_Q6_K)
    // 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales (one
    // per 16 elements), d.
    const uint s = u / 8, j = u % 8;
    const uint o = 210 * s;
    const float d = half_at(p, o + 208);
    for (uint l = 0; l < 32; ++l) {
        const uint e = 32 * j + l, h = e / 128, r = e % 128;
        const uint low = (byte_at(p, o + 64 * h + r % 64) >> (4 * (r / 64))) & 15;
        const uint high = (byte_at(p, o + 128 + 32 * h + r % 32) >> (2 * (r / 32))) & 3;
        w[l] = d * float(i8_at(p, o + 192 + e / 16)) * float(int(low | (high << 4)) - 32);
    }
#else
#error "compile with -DFORMAT_<NAME>"
#endif
}
