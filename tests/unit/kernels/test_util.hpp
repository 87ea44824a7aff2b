// Shared helpers for the kernel tests: the formats under test, random data
// generators with the nasty cases, and float64 reference arithmetic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/blocks.hpp"
#include "kernels/cpu.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/traits.hpp"

namespace pensieve::kernels::test {

// Restores the active kernel variant when a test that switches it ends.
struct IsaGuard {
    Isa saved = active_isa();
    ~IsaGuard() { set_active_isa(saved); }
};

// Every weight format with a vec_dot.
inline const std::vector<TensorType>& weight_types() {
    static const std::vector<TensorType> types = {
        TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
        TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
        TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};
    return types;
}

inline std::string type_name(TensorType t) {
    return table_for(Isa::Ref)->types[static_cast<uint32_t>(t)].name;
}

inline const TypeTraits& ref_traits(TensorType t) {
    return table_for(Isa::Ref)->types[static_cast<uint32_t>(t)];
}

// Supported variants other than the reference.
inline std::vector<Isa> simd_isas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Amx}) {
        if (isa_supported(isa)) out.push_back(isa);
    }
    return out;
}

// Gaussian values whose scale changes every 32 elements over many orders of
// magnitude, with whole blocks of zeros, negative zeros, outliers and tiny
// values mixed in (block size 32 lines up with every format's blocks).
inline std::vector<float> nasty_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> exponent(-5.0f, 3.0f);
    std::vector<float> x(n);
    for (size_t i = 0; i < n; i += 32) {
        const size_t kind = (i / 32) % 11;
        const float mag = std::pow(10.0f, exponent(rng));
        for (size_t j = i; j < std::min(n, i + 32); ++j) {
            switch (kind) {
                case 0:
                    x[j] = 0.0f;
                    break;
                case 1:
                    x[j] = -0.0f;
                    break;
                case 2:
                    x[j] = (j == i + 5) ? 3e3f : normal(rng);
                    break;
                case 3:
                    x[j] = 1e-8f * normal(rng);
                    break;
                default:
                    x[j] = mag * normal(rng);
                    break;
            }
        }
    }
    return x;
}

inline std::vector<float> normal_floats(size_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng);
    return x;
}

inline std::vector<uint8_t> quantize(const TypeTraits& t, const std::vector<float>& x) {
    std::vector<uint8_t> q(row_bytes(t, static_cast<int64_t>(x.size())));
    t.quantize_row(x.data(), q.data(), static_cast<int64_t>(x.size()));
    return q;
}

inline std::vector<float> dequantize(const TypeTraits& t, const void* q, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    t.dequantize_row(q, y.data(), n);
    return y;
}

// Relative error (of the sum of absolute products) matmul may show against
// the exact dot of what its format's vec_dot sees: 1e-4 for summation order;
// but the tiles of F16 / BF16 weights (b >= their min_batch, on CPUs with
// BF16 products) round the activations, and F16 weights, to BF16, which puts
// each product within 2^-8 of the exact one. simd_test holds that path to its
// scalar reference (ref::dot_bf16) at 1e-5.
inline double matmul_tolerance(TensorType type, int64_t b) {
    const PackedGemm& p = active_table().packed_large[static_cast<uint32_t>(type)];
    const bool bf16 = (type == TensorType::F16 || type == TensorType::BF16) && p.tile != nullptr &&
                      b >= p.min_batch && cpu_features().avx512bf16;
    return bf16 ? 0x1p-8 : 1e-4;
}

}  // namespace pensieve::kernels::test
