// The format table and the scalar reference: geometry agrees with the GGUF
// reader's table, and quantization error stays within ggml's published
// tolerances (tests/test-quantize-fns.cpp in llama.cpp: round-trip error
// sqrt(Σ diff²) / n <= 0.002 for 4-8 bit, 0.004 for 3-bit, 0.0075 for 2-bit;
// dot-product error |dot - exact| / n <= 0.02, or 0.04 for the 2- and 3-bit
// formats, on 0.1 + 2 cos(i + offset)).
// Bit-exactness against gguf.quants is checked by tests/reference/kernels.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace pensieve::kernels::test {
namespace {

constexpr int64_t kN = 32 * 128;  // ggml's test size

std::vector<float> ggml_test_data(float offset) {
    std::vector<float> x(kN);
    for (int64_t i = 0; i < kN; ++i) x[i] = 0.1f + 2.0f * std::cos(static_cast<float>(i) + offset);
    return x;
}

double round_trip_limit(TensorType t) {
    if (t == TensorType::Q2_K) return 0.0075;
    if (t == TensorType::Q3_K) return 0.004;
    return 0.002;
}

TEST(FormatTable, GeometryMatchesTheGgufReader) {
    for (uint32_t id = 0; id < kTypeIdLimit; ++id) {
        const TypeTraits& t = table_for(Isa::Ref)->types[id];
        if (t.dequantize_row == nullptr) continue;
        SCOPED_TRACE(t.name);
        const auto info = gguf::type_info(id);
        ASSERT_TRUE(info.has_value());
        EXPECT_EQ(info->name, t.name);
        EXPECT_EQ(info->block_elems, t.block_elems);
        EXPECT_EQ(info->block_bytes, t.block_bytes);
        EXPECT_EQ(static_cast<uint32_t>(t.type), id);
        if (t.vec_dot != nullptr) {
            const TypeTraits& act = ref_traits(t.vec_dot_type);
            EXPECT_NE(act.quantize_row, nullptr);
            EXPECT_EQ(t.block_elems % act.block_elems, 0);
        }
    }
}

TEST(FormatTable, EveryWeightFormatOfRealModelsIsSupported) {
    for (TensorType t : weight_types()) {
        ASSERT_NE(find_traits(t), nullptr) << type_name(t);
        EXPECT_NE(find_traits(t)->vec_dot, nullptr) << type_name(t);
    }
    EXPECT_EQ(find_traits(TensorType::IQ2_XXS), nullptr);
    EXPECT_THROW(traits(TensorType::IQ2_XXS), std::invalid_argument);
}

TEST(Reference, RoundTripErrorWithinGgmlTolerance) {
    const std::vector<float> x = ggml_test_data(0.0f);
    for (TensorType type : weight_types()) {
        const TypeTraits& t = ref_traits(type);
        ASSERT_NE(t.quantize_row, nullptr) << t.name;
        const std::vector<float> y = dequantize(t, quantize(t, x).data(), kN);
        double sum = 0.0;
        for (int64_t i = 0; i < kN; ++i) {
            const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
            sum += d * d;
        }
        EXPECT_LE(std::sqrt(sum) / kN, round_trip_limit(type)) << t.name;
    }
}

TEST(Reference, DotProductErrorWithinGgmlTolerance) {
    const std::vector<float> w = ggml_test_data(0.0f);
    const std::vector<float> a = ggml_test_data(1.0f);
    double exact = 0.0;
    for (int64_t i = 0; i < kN; ++i) exact += static_cast<double>(w[i]) * static_cast<double>(a[i]);
    for (TensorType type : weight_types()) {
        const TypeTraits& t = ref_traits(type);
        const std::vector<uint8_t> qw = quantize(t, w);
        const std::vector<uint8_t> qa = quantize(ref_traits(t.vec_dot_type), a);
        float got = 0.0f;
        t.vec_dot(kN, qw.data(), qa.data(), 0, 1, &got);
        const bool low_bit = type == TensorType::Q2_K || type == TensorType::Q3_K;
        EXPECT_LE(std::fabs(static_cast<double>(got) - exact) / kN, low_bit ? 0.04 : 0.02)
            << t.name;
    }
}

TEST(Reference, ActivationFormatsRoundTrip) {
    const std::vector<float> x = ggml_test_data(0.5f);
    for (TensorType type : {TensorType::Q8_0, TensorType::Q8_1, TensorType::Q8_K}) {
        const TypeTraits& t = ref_traits(type);
        const std::vector<float> y = dequantize(t, quantize(t, x).data(), kN);
        double sum = 0.0;
        for (int64_t i = 0; i < kN; ++i) {
            const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
            sum += d * d;
        }
        EXPECT_LE(std::sqrt(sum) / kN, 0.002) << t.name;
    }
}

TEST(Reference, Q8KFollowsItsDefinition) {
    // Q8_K is not in gguf.quants: check it against the format's definition.
    std::vector<float> x = normal_floats(512, 7);
    x[300] = -9.0f;  // the largest magnitude of block 1, negative
    const TypeTraits& t = ref_traits(TensorType::Q8_K);
    const std::vector<uint8_t> q = quantize(t, x);
    const auto* b = reinterpret_cast<const BlockQ8_K*>(q.data());
    EXPECT_EQ(b[1].qs[300 - 256], -127);  // the extreme maps to -127 exactly
    EXPECT_FLOAT_EQ(b[1].d, 9.0f / 127.0f);
    for (int blk = 0; blk < 2; ++blk) {
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int e = 0; e < 16; ++e) sum += b[blk].qs[g * 16 + e];
            EXPECT_EQ(b[blk].bsums[g], sum);
        }
        for (int e = 0; e < 256; ++e) {
            const float v = x[static_cast<size_t>(blk * 256 + e)];
            EXPECT_NEAR(b[blk].qs[e], v / b[blk].d, 0.5001);
        }
    }
    // An all-zero block has zero scale and quants.
    std::vector<float> zeros(256, 0.0f);
    const std::vector<uint8_t> qz = quantize(t, zeros);
    const auto* bz = reinterpret_cast<const BlockQ8_K*>(qz.data());
    EXPECT_EQ(bz->d, 0.0f);
    for (int e = 0; e < 256; ++e) EXPECT_EQ(bz->qs[e], 0);
}

}  // namespace
}  // namespace pensieve::kernels::test
