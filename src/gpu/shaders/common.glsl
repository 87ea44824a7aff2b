// What every shader shares: buffers reached by device address (the push
// constants carry the addresses, so no descriptor sets are needed and no
// buffer-size limit of the device applies), byte access, and halves
// converted by hand, exactly: GLSL lets unpackHalf2x16 flush subnormal
// halves to zero and leaves packHalf2x16's rounding to the implementation,
// while the CPU rounds to nearest even and keeps subnormals.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(buffer_reference, std430, buffer_reference_align = 1) buffer Bytes {
    uint8_t b[];
};
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats {
    float f[];
};
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Uints {
    uint u[];
};
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Ints {
    int i[];
};

uint byte_at(uint64_t p, uint o) { return uint(Bytes(p).b[o]); }
uint u16_at(uint64_t p, uint o) { return byte_at(p, o) | (byte_at(p, o + 1) << 8); }
uint u32_at(uint64_t p, uint o) { return u16_at(p, o) | (u16_at(p, o + 2) << 16); }
int i8_at(uint64_t p, uint o) { return bitfieldExtract(int(byte_at(p, o)), 0, 8); }
int i16_at(uint64_t p, uint o) { return bitfieldExtract(int(u16_at(p, o)), 0, 16); }

void set_byte(uint64_t p, uint o, uint v) { Bytes(p).b[o] = uint8_t(v & 255u); }
void set_u16(uint64_t p, uint o, uint v) {
    set_byte(p, o, v);
    set_byte(p, o + 1, v >> 8);
}

float half_to_float(uint h) {
    const uint e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0) {
        v = float(m) * exp2(-24.0);  // subnormal: exact in F32
    } else if (e == 31) {
        v = uintBitsToFloat(0x7F800000u | (m << 13));
    } else {
        v = uintBitsToFloat(((e + 112) << 23) | (m << 13));
    }
    return (h & 0x8000) != 0 ? -v : v;
}
float half_at(uint64_t p, uint o) { return half_to_float(u16_at(p, o)); }

// F32 to F16, rounded to nearest even, subnormals kept, overflow to infinity.
uint float_to_half(float f) {
    const uint x = floatBitsToUint(f);
    const uint sign = (x >> 16) & 0x8000u;
    const uint e = (x >> 23) & 255u;
    const uint m = x & 0x7FFFFFu;
    if (e == 255u) return sign | 0x7C00u | (m != 0u ? 0x200u : 0u);
    const int he = int(e) - 112;  // the exponent in the half's bias
    if (he >= 31) return sign | 0x7C00u;
    uint h, rem, halfway;
    if (he > 0) {
        h = (uint(he) << 10) | (m >> 13);
        rem = m & 0x1FFFu;
        halfway = 0x1000u;
    } else {
        const uint shift = uint(14 - he);  // the half's subnormal unit is 2^-24
        if (shift > 24u) return sign;
        const uint mant = m | 0x800000u;
        h = mant >> shift;
        rem = mant & ((1u << shift) - 1u);
        halfway = 1u << (shift - 1u);
    }
    if (rem > halfway || (rem == halfway && (h & 1u) != 0u)) h += 1u;  // a carry is still right
    return sign | h;
}
