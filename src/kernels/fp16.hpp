// Scalar IEEE half and bfloat16 <-> float conversions, bit-exact with numpy
// (round to nearest even, subnormals kept). Used by the scalar reference
// kernels; SIMD code converts with F16C / AVX-512 instead.
//
// The functions live in an unnamed namespace on purpose: a TU compiled with
// -mavx2 that included an ordinary inline function could hand the linker an
// AVX-encoded copy that baseline code would then call. Internal linkage gives
// every TU its own copy.
#pragma once

#include <bit>
#include <cstdint>

namespace pensieve::kernels {
namespace {

inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24 is exact in float.
        const float mag = static_cast<float>(mant) * 0x1p-24f;
        return sign ? -mag : mag;
    }
    return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mag = x & 0x7fffffffu;
    if (mag >= 0x7f800000u) {  // inf, or NaN kept quiet with its top payload bits
        const uint32_t nan = mag > 0x7f800000u ? (0x200u | ((mag >> 13) & 0x3ffu)) : 0u;
        return static_cast<uint16_t>(sign | 0x7c00u | nan);
    }
    if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 -> inf
    if (mag < 0x38800000u) {
        // Below 2^-14 the result is subnormal: adding 0.5 lines the half's
        // unit (2^-24) up with float's last mantissa bit, so the FPU rounds
        // to nearest even for us.
        const float sum = std::bit_cast<float>(mag) + 0.5f;
        return static_cast<uint16_t>(sign | (std::bit_cast<uint32_t>(sum) - 0x3f000000u));
    }
    const uint32_t odd = (mag >> 13) & 1u;
    mag += 0xc8000fffu + odd;  // rebias exponent 127 -> 15, round to nearest even
    return static_cast<uint16_t>(sign | (mag >> 13));
}

inline float bf16_to_fp32(uint16_t h) {
    return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

inline uint16_t fp32_to_bf16(float f) {
    uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
}

}  // namespace
}  // namespace pensieve::kernels
