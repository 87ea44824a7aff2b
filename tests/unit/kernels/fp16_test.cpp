// Half and bfloat16 conversions: the scalar converters must round exactly as
// IEEE (and numpy) do, because quantized block scales are stored as halves.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

#include "kernels/cpu.hpp"
#include "kernels/fp16.hpp"

namespace pensieve::kernels {
namespace {

// The CPU's own conversion (F16C vcvtps2ph, IEEE round-to-nearest-even) as
// the oracle: it is the same in every compiler (clang before 15 has no
// _Float16 on x86).
__attribute__((target("f16c"))) uint16_t hardware_fp16(float f) {
    return static_cast<uint16_t>(
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}

TEST(Fp16, EveryHalfRoundTripsThroughFloat) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const auto half = static_cast<uint16_t>(h);
        const float f = fp16_to_fp32(half);
        if (std::isnan(f)) {
            EXPECT_EQ(fp32_to_fp16(f) & 0x7e00, 0x7e00) << h;  // stays a (quiet) NaN
            continue;
        }
        EXPECT_EQ(fp32_to_fp16(f), half) << h;
    }
}

TEST(Fp16, MatchesHardwareConversionOnRandomFloats) {
    ASSERT_TRUE(cpu_features().f16c) << "the oracle needs F16C";
    std::mt19937 rng(1);
    for (int i = 0; i < 2'000'000; ++i) {
        auto bits = static_cast<uint32_t>(rng());
        // Bias half the draws toward the half range (exponents 100..150).
        if (i % 2)
            bits = (bits & 0x807fffffu) | ((100u + static_cast<uint32_t>(rng() % 50u)) << 23);
        const float f = std::bit_cast<float>(bits);
        if (std::isnan(f)) continue;
        const uint16_t expected = hardware_fp16(f);
        ASSERT_EQ(fp32_to_fp16(f), expected) << std::hexfloat << f;
    }
}

TEST(Fp16, RoundsTiesToEvenAtTheEdges) {
    EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65519.99f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // tie rounds to even: infinity
    EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);  // half the smallest subnormal: tie to 0
    EXPECT_EQ(fp32_to_fp16(0x1.8p-25f), 0x0001);
    EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

TEST(Bf16, RoundsToNearestEvenAndKeepsNaNQuiet) {
    EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
    EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd rounds up
    EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f800001u)) & 0x7fc0, 0x7fc0);
    for (uint32_t h = 0; h < 0x10000; h += 7) {
        const float f = bf16_to_fp32(static_cast<uint16_t>(h));
        if (!std::isnan(f)) {
            EXPECT_EQ(fp32_to_bf16(f), h);
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels
