// matmul() against a float64 reference, for every weight format, the batch
// sizes the engine uses (decode 1, odd sizes, prefill-sized 257), one and two
// threads, and every kernel variant this CPU runs.
#include <gtest/gtest.h>

#include "kernels/matmul.hpp"
#include "test_util.hpp"

namespace pensieve::kernels::test {
namespace {

constexpr int64_t kRows = 37;  // odd: the last weight tile is partial
constexpr int64_t kK = 512;    // two K super-blocks

ThreadPool& pool(int threads) {
    static ThreadPool one(1), two(2);
    return threads == 1 ? one : two;
}

TEST(Matmul, MatchesFloat64ReferenceForEveryFormatBatchAndThreadCount) {
    IsaGuard guard;
    const std::vector<float> wf = normal_floats(static_cast<size_t>(kRows * kK), 11, 0.5f);
    const std::vector<float> x = normal_floats(static_cast<size_t>(257 * kK), 12);
    std::vector<Isa> isas = simd_isas();
    isas.insert(isas.begin(), Isa::Ref);
    MatmulScratch scratch;
    for (TensorType type : weight_types()) {
        const TypeTraits& rt = ref_traits(type);
        const std::vector<uint8_t> wq = quantize(rt, wf);
        const std::vector<float> wd = dequantize(rt, wq.data(), kRows * kK);
        // Activations as the kernels see them after quantization: matmul must
        // match this tightly (it is the same arithmetic up to summation order),
        // and the unquantized x loosely (the format's inherent error).
        const TypeTraits& at = ref_traits(rt.vec_dot_type);
        const std::vector<float> xd = rt.vec_dot_type == TensorType::F32
                                          ? x
                                          : dequantize(at, quantize(at, x).data(), 257 * kK);
        const WeightMatrix w{type, wq.data(), kRows, kK, row_bytes(rt, kK)};
        for (Isa isa : isas) {
            ASSERT_TRUE(set_active_isa(isa));
            for (int threads : {1, 2}) {
                for (int64_t b : {1, 2, 3, 4, 7, 16, 64, 257}) {
                    SCOPED_TRACE(type_name(type) + " isa=" + std::string(isa_name(isa)) +
                                 " threads=" + std::to_string(threads) + " b=" + std::to_string(b));
                    std::vector<float> y(static_cast<size_t>(b * kRows), NAN);
                    matmul(pool(threads), w, x.data(), b, y.data(), scratch);
                    for (int64_t i = 0; i < b; ++i) {
                        for (int64_t r = 0; r < kRows; ++r) {
                            double exact_q = 0.0, exact = 0.0, mag = 0.0;
                            for (int64_t e = 0; e < kK; ++e) {
                                const auto wv =
                                    static_cast<double>(wd[static_cast<size_t>(r * kK + e)]);
                                exact_q +=
                                    wv * static_cast<double>(xd[static_cast<size_t>(i * kK + e)]);
                                exact +=
                                    wv * static_cast<double>(x[static_cast<size_t>(i * kK + e)]);
                                mag += std::fabs(
                                    wv * static_cast<double>(x[static_cast<size_t>(i * kK + e)]));
                            }
                            const auto got =
                                static_cast<double>(y[static_cast<size_t>(i * kRows + r)]);
                            ASSERT_NEAR(got, exact_q, matmul_tolerance(type, b) * mag + 1e-6)
                                << "row " << i << " col " << r;
                            ASSERT_NEAR(got, exact, 0.02 * mag + 1e-6)
                                << "row " << i << " col " << r;
                        }
                    }
                }
            }
        }
    }
}

// Row lengths of real models that are not a whole number of 128-element
// groups or of 16-block scale chunks (SmolLM2's 576, Gemma 3's 640, 3 K
// super-blocks), and an odd number of blocks (544 = 17 x 32): every SIMD variant, including its
// packed fast path, against the scalar reference's vec_dot on the same quantized activations.
TEST(Matmul, SimdMatchesReferenceOnRaggedRowLengths) {
    IsaGuard guard;
    MatmulScratch scratch;
    for (int64_t k : {int64_t{544}, int64_t{576}, int64_t{640}, int64_t{768}}) {
        const std::vector<float> wf = normal_floats(static_cast<size_t>(kRows * k), 31, 0.5f);
        const std::vector<float> x = normal_floats(static_cast<size_t>(9 * k), 32);
        for (TensorType type : weight_types()) {
            const TypeTraits& rt = ref_traits(type);
            if (k % rt.block_elems != 0) continue;
            const std::vector<uint8_t> wq = quantize(rt, wf);
            const std::vector<float> wd = dequantize(rt, wq.data(), kRows * k);
            const WeightMatrix w{type, wq.data(), kRows, k, row_bytes(rt, k)};
            for (int64_t b : {1, 3, 5, 6, 9}) {
                ASSERT_TRUE(set_active_isa(Isa::Ref));
                std::vector<float> want(static_cast<size_t>(b * kRows));
                matmul(pool(1), w, x.data(), b, want.data(), scratch);
                for (Isa isa : simd_isas()) {
                    ASSERT_TRUE(set_active_isa(isa));
                    for (int threads : {1, 2}) {
                        SCOPED_TRACE(type_name(type) + " isa=" + std::string(isa_name(isa)) +
                                     " k=" + std::to_string(k) + " b=" + std::to_string(b) +
                                     " threads=" + std::to_string(threads));
                        std::vector<float> got(static_cast<size_t>(b * kRows), NAN);
                        matmul(pool(threads), w, x.data(), b, got.data(), scratch);
                        for (int64_t i = 0; i < b; ++i) {
                            for (int64_t r = 0; r < kRows; ++r) {
                                double mag = 0.0;
                                for (int64_t e = 0; e < k; ++e)
                                    mag += std::fabs(
                                        static_cast<double>(wd[static_cast<size_t>(r * k + e)] *
                                                            x[static_cast<size_t>(i * k + e)]));
                                const auto at = static_cast<size_t>(i * kRows + r);
                                ASSERT_NEAR(got[at], want[at],
                                            matmul_tolerance(type, b) * mag + 1e-6)
                                    << "row " << i << " col " << r;
                            }
                        }
                    }
                }
            }
        }
    }
}

// The fused K-format GEMVs (b = 1..7, in passes of up to four) on rows whose sub-blocks differ in
// magnitude by up to 2^10, so the scales (and mins) take their full range
// (including the top bits packed apart from the low nibble), and activations
// with outliers, so the int8 quants reach ±127.
TEST(Matmul, SmallBatchKFormatsMatchReferenceOverFullScaleRange) {
    IsaGuard guard;
    MatmulScratch scratch;
    constexpr int64_t n = 13, k = 2048;
    std::vector<float> wf = normal_floats(static_cast<size_t>(n * k), 41, 0.5f);
    for (size_t e = 0; e < wf.size(); ++e) {
        const auto sub = static_cast<int>((e / 32) % 11);
        wf[e] = wf[e] * std::ldexp(1.0f, sub - 5) + (sub % 3 == 0 ? 0.7f : 0.0f);
    }
    std::vector<float> x = normal_floats(static_cast<size_t>(7 * k), 42);
    for (size_t e = 0; e < x.size(); e += 97) x[e] *= 40.0f;
    for (TensorType type : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
        const TypeTraits& rt = ref_traits(type);
        const std::vector<uint8_t> wq = quantize(rt, wf);
        const std::vector<float> wd = dequantize(rt, wq.data(), n * k);
        const WeightMatrix w{type, wq.data(), n, k, row_bytes(rt, k)};
        for (int64_t b : {1, 2, 3, 4, 5, 7}) {
            ASSERT_TRUE(set_active_isa(Isa::Ref));
            std::vector<float> want(static_cast<size_t>(b * n));
            matmul(pool(1), w, x.data(), b, want.data(), scratch);
            for (Isa isa : simd_isas()) {
                ASSERT_TRUE(set_active_isa(isa));
                for (int threads : {1, 2}) {
                    SCOPED_TRACE(type_name(type) + " isa=" + std::string(isa_name(isa)) +
                                 " b=" + std::to_string(b) + " threads=" + std::to_string(threads));
                    std::vector<float> got(static_cast<size_t>(b * n), NAN);
                    matmul(pool(threads), w, x.data(), b, got.data(), scratch);
                    for (int64_t i = 0; i < b; ++i) {
                        for (int64_t r = 0; r < n; ++r) {
                            double mag = 0.0;
                            for (int64_t e = 0; e < k; ++e)
                                mag += std::fabs(
                                    static_cast<double>(wd[static_cast<size_t>(r * k + e)] *
                                                        x[static_cast<size_t>(i * k + e)]));
                            const auto at = static_cast<size_t>(i * n + r);
                            ASSERT_NEAR(got[at], want[at], 1e-4 * mag + 1e-6)
                                << "row " << i << " col " << r;
                        }
                    }
                }
            }
        }
    }
}

// The large-batch paths (AMX tiles: per-block int32 sums scaled in float) on
// weights whose blocks differ in magnitude by up to 2^10 and activations with
// outliers, at batch sizes that leave the last group of 16 rows partial.
TEST(Matmul, LargeBatchMatchesReferenceOverFullScaleRange) {
    IsaGuard guard;
    MatmulScratch scratch;
    constexpr int64_t n = 29, k = 2048;
    std::vector<float> wf = normal_floats(static_cast<size_t>(n * k), 51, 0.5f);
    for (size_t e = 0; e < wf.size(); ++e) {
        const auto sub = static_cast<int>((e / 32) % 11);
        wf[e] = wf[e] * std::ldexp(1.0f, sub - 5) + (sub % 3 == 0 ? 0.7f : 0.0f);
    }
    std::vector<float> x = normal_floats(static_cast<size_t>(33 * k), 52);
    for (size_t e = 0; e < x.size(); e += 97) x[e] *= 40.0f;
    // Rows 16.. : zero, tiny and outlier blocks (empty Q8 blocks, scale extremes).
    const std::vector<float> nasty = nasty_floats(static_cast<size_t>(17 * k), 53);
    std::copy(nasty.begin(), nasty.end(), x.begin() + 16 * k);
    for (TensorType type :
         {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0, TensorType::Q4_K}) {
        const TypeTraits& rt = ref_traits(type);
        const std::vector<uint8_t> wq = quantize(rt, wf);
        const std::vector<float> wd = dequantize(rt, wq.data(), n * k);
        const WeightMatrix w{type, wq.data(), n, k, row_bytes(rt, k)};
        for (int64_t b : {8, 17, 33}) {
            ASSERT_TRUE(set_active_isa(Isa::Ref));
            std::vector<float> want(static_cast<size_t>(b * n));
            matmul(pool(1), w, x.data(), b, want.data(), scratch);
            for (Isa isa : simd_isas()) {
                ASSERT_TRUE(set_active_isa(isa));
                SCOPED_TRACE(type_name(type) + " isa=" + std::string(isa_name(isa)) +
                             " b=" + std::to_string(b));
                std::vector<float> got(static_cast<size_t>(b * n), NAN);
                matmul(pool(2), w, x.data(), b, got.data(), scratch);
                for (int64_t i = 0; i < b; ++i) {
                    for (int64_t r = 0; r < n; ++r) {
                        double mag = 0.0;
                        for (int64_t e = 0; e < k; ++e)
                            mag +=
                                std::fabs(static_cast<double>(wd[static_cast<size_t>(r * k + e)] *
                                                              x[static_cast<size_t>(i * k + e)]));
                        const auto at = static_cast<size_t>(i * n + r);
                        ASSERT_NEAR(got[at], want[at], 1e-4 * mag + 1e-6)
                            << "row " << i << " col " << r;
                    }
                }
            }
        }
    }
}

// The AMX variant is the AVX-512 table plus tiles for larger batches of the
// formats the models use; without the CPU flags or the OS's permission it is
// not offered (and every test above skips it).
TEST(Matmul, AmxVariantAddsLargeBatchTilesOnlyWhereSupported) {
    if (!isa_supported(Isa::Amx)) {
        EXPECT_EQ(table_for(Isa::Amx), nullptr);
        GTEST_SKIP() << "no AMX-INT8 (or no OS permission) on this machine";
    }
    const KernelTable& amx = *table_for(Isa::Amx);
    const KernelTable& avx512 = *table_for(Isa::Avx512);
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0, TensorType::Q4_K}) {
        const PackedGemm& large = amx.packed_large[static_cast<uint32_t>(t)];
        EXPECT_NE(large.tile, nullptr) << type_name(t);
        EXPECT_GT(large.min_batch, 1) << type_name(t);
        EXPECT_NE(avx512.packed_large[static_cast<uint32_t>(t)].tile, large.tile) << type_name(t);
    }
    EXPECT_EQ(best_isa(), Isa::Amx);
}

TEST(Matmul, HonoursRowStrides) {
    const TypeTraits& t = traits(TensorType::Q8_0);
    const std::vector<float> wf = normal_floats(static_cast<size_t>(kRows * kK), 21);
    const std::vector<uint8_t> wq = quantize(t, wf);
    const WeightMatrix w{TensorType::Q8_0, wq.data(), kRows, kK, row_bytes(t, kK)};
    const std::vector<float> x = normal_floats(static_cast<size_t>(3 * (kK + 8)), 22);
    std::vector<float> packed(static_cast<size_t>(3 * kK));
    for (int64_t i = 0; i < 3; ++i) {
        std::copy_n(x.begin() + i * (kK + 8), kK, packed.begin() + i * kK);
    }
    MatmulScratch scratch;
    std::vector<float> y1(static_cast<size_t>(3 * kRows)), y2(static_cast<size_t>(3 * (kRows + 5)));
    matmul(pool(2), w, packed.data(), 3, y1.data(), scratch);
    matmul(pool(2), w, x.data(), 3, y2.data(), scratch, kK + 8, kRows + 5);
    for (int64_t i = 0; i < 3; ++i) {
        for (int64_t r = 0; r < kRows; ++r) {
            EXPECT_EQ(y1[static_cast<size_t>(i * kRows + r)],
                      y2[static_cast<size_t>(i * (kRows + 5) + r)]);
        }
    }
}

TEST(Matmul, RejectsUnsupportedTypesAndRaggedRows) {
    MatmulScratch scratch;
    float x[256] = {}, y[1] = {};
    const uint8_t data[256] = {};
    EXPECT_THROW(matmul(pool(1), {TensorType::IQ2_XXS, data, 1, 256, 66}, x, 1, y, scratch),
                 std::invalid_argument);
    EXPECT_THROW(matmul(pool(1), {TensorType::Q4_K, data, 1, 100, 144}, x, 1, y, scratch),
                 std::invalid_argument);
}

}  // namespace
}  // namespace pensieve::kernels::test
