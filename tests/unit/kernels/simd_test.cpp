// Every SIMD variant against the scalar reference: activation quantizers and
// dequantizers must be bit-exact, dot products within 1e-4 relative (of the
// sum of the absolute products, so cancellation cannot hide an error), on
// many random blocks with extreme scales, zeros and negative zeros, for every
// activation-row count a vec_dot call takes.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/ops.hpp"
#include "test_util.hpp"

namespace pensieve::kernels::test {
namespace {

constexpr int64_t kK = 256 * 12;

// Weight rows: quantized nasty floats, plus (for the K formats, whose
// quantizer is ours) raw random bytes with sane half scales.
std::vector<uint8_t> weight_row(const TypeTraits& rt, uint32_t seed) {
    std::vector<uint8_t> q = quantize(rt, nasty_floats(kK, seed));
    if (rt.block_elems == kQKK && (seed % 2) == 1) {
        std::mt19937 rng(seed);
        for (uint8_t& byte : q) byte = static_cast<uint8_t>(rng());
        // Overwrite any non-finite half with 1.0 (the d / dmin fields vary by format).
        const std::vector<float> y = dequantize(rt, q.data(), kK);
        for (float v : y) {
            if (!std::isfinite(v)) return weight_row(rt, seed + 2);
        }
    }
    return q;
}

TEST(Simd, ActivationQuantizersAreBitExact) {
    for (Isa isa : simd_isas()) {
        const KernelTable& simd = *table_for(isa);
        for (TensorType type :
             {TensorType::Q8_0, TensorType::Q8_K, TensorType::F16, TensorType::BF16}) {
            const auto id = static_cast<uint32_t>(type);
            for (uint32_t seed = 0; seed < 8; ++seed) {
                const std::vector<float> x = nasty_floats(kK, seed);
                EXPECT_EQ(quantize(simd.types[id], x), quantize(ref_traits(type), x))
                    << isa_name(isa) << " " << type_name(type) << " seed " << seed;
            }
        }
    }
}

TEST(Simd, DequantizeIsBitExact) {
    for (Isa isa : simd_isas()) {
        const KernelTable& simd = *table_for(isa);
        for (TensorType type : weight_types()) {
            const TypeTraits& rt = ref_traits(type);
            const std::vector<uint8_t> w = weight_row(rt, 3);
            const std::vector<float> a = dequantize(rt, w.data(), kK);
            const std::vector<float> b =
                dequantize(simd.types[static_cast<uint32_t>(type)], w.data(), kK);
            EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)))
                << isa_name(isa) << " " << type_name(type);
        }
    }
}

TEST(Simd, DotProductsMatchReferenceForEveryRowCount) {
    for (Isa isa : simd_isas()) {
        const KernelTable& simd = *table_for(isa);
        for (TensorType type : weight_types()) {
            const TypeTraits& rt = ref_traits(type);
            const TypeTraits& st = simd.types[static_cast<uint32_t>(type)];
            const TypeTraits& at = ref_traits(rt.vec_dot_type);
            const size_t stride = row_bytes(at, kK) + 64;  // a gap between rows, as matmul leaves
            for (uint32_t seed = 0; seed < 6; ++seed) {
                const std::vector<uint8_t> w = weight_row(rt, 100 + seed);
                const std::vector<float> wd = dequantize(rt, w.data(), kK);
                std::vector<uint8_t> act(stride * kMaxDotRows);
                std::vector<std::vector<float>> ad;
                for (int j = 0; j < kMaxDotRows; ++j) {
                    const std::vector<float> x =
                        nasty_floats(kK, 1000 + seed * 10 + static_cast<uint32_t>(j));
                    at.quantize_row(x.data(), act.data() + static_cast<size_t>(j) * stride, kK);
                    ad.push_back(dequantize(at, act.data() + static_cast<size_t>(j) * stride, kK));
                }
                for (int count = 1; count <= kMaxDotRows; ++count) {
                    float want[kMaxDotRows], got[kMaxDotRows];
                    rt.vec_dot(kK, w.data(), act.data(), stride, count, want);
                    st.vec_dot(kK, w.data(), act.data(), stride, count, got);
                    for (int j = 0; j < count; ++j) {
                        double mag = 0.0;
                        for (int64_t e = 0; e < kK; ++e) {
                            mag +=
                                std::fabs(static_cast<double>(wd[static_cast<size_t>(e)]) *
                                          static_cast<double>(
                                              ad[static_cast<size_t>(j)][static_cast<size_t>(e)]));
                        }
                        EXPECT_NEAR(got[j], want[j], 1e-4 * mag + 1e-30)
                            << isa_name(isa) << " " << type_name(type) << " seed " << seed
                            << " count " << count << " row " << j;
                    }
                }
            }
        }
    }
}

TEST(Simd, OpsMatchReference) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (Isa isa : simd_isas()) {
        const OpsTable& ops = table_for(isa)->ops;
        for (int64_t n : {1, 7, 64, 1000, 4099}) {
            const std::vector<float> a = normal_floats(static_cast<size_t>(n), 5);
            const std::vector<float> b = normal_floats(static_cast<size_t>(n), 6);
            std::vector<uint16_t> h(static_cast<size_t>(n));
            ref_traits(TensorType::F16).quantize_row(a.data(), h.data(), n);
            const double tol = 1e-4 * static_cast<double>(n);
            EXPECT_NEAR(ops.dot_f32(a.data(), b.data(), n), ref.ops.dot_f32(a.data(), b.data(), n),
                        tol);
            EXPECT_NEAR(ops.dot_f16(h.data(), b.data(), n), ref.ops.dot_f16(h.data(), b.data(), n),
                        tol);
            std::vector<float> y1 = b, y2 = b, o1(a.size()), o2(a.size());
            ops.axpy_f32(0.5f, a.data(), y1.data(), n);
            ref.ops.axpy_f32(0.5f, a.data(), y2.data(), n);
            for (size_t i = 0; i < y1.size(); ++i) EXPECT_NEAR(y1[i], y2[i], 1e-5);
            y1 = b;
            y2 = b;
            ops.axpy_f16(0.5f, h.data(), y1.data(), n);
            ref.ops.axpy_f16(0.5f, h.data(), y2.data(), n);
            for (size_t i = 0; i < y1.size(); ++i) EXPECT_NEAR(y1[i], y2[i], 1e-5);
            ops.rms_norm(a.data(), b.data(), o1.data(), n, 1e-6f);
            ref.ops.rms_norm(a.data(), b.data(), o2.data(), n, 1e-6f);
            for (size_t i = 0; i < o1.size(); ++i) EXPECT_NEAR(o1[i], o2[i], 1e-5);
            ops.add(a.data(), b.data(), o1.data(), n);
            ref.ops.add(a.data(), b.data(), o2.data(), n);
            EXPECT_EQ(o1, o2);
            ops.mul(a.data(), b.data(), o1.data(), n);
            ref.ops.mul(a.data(), b.data(), o2.data(), n);
            EXPECT_EQ(o1, o2);
        }
    }
}

// The attention runs over strided F16 rows (positions of a KV block) for a
// group of query heads: every head size the models use and odd ones (tails),
// runs of 1..16 positions, groups of 1..6 heads (more than one pass of four).
TEST(Simd, AttentionRowOpsMatchReference) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (Isa isa : simd_isas()) {
        const OpsTable& ops = table_for(isa)->ops;
        for (int64_t hd : {8, 20, 64, 80, 128, 256}) {
            const int64_t stride = hd * 3 + 4;  // heads of other positions in between
            for (int64_t n : {1, 2, 3, 5, 16}) {
                for (int64_t n_q : {1, 3, 4, 6}) {
                    const std::vector<float> kf =
                        normal_floats(static_cast<size_t>(n * stride), 11);
                    std::vector<uint16_t> k(kf.size());
                    ref_traits(TensorType::F16)
                        .quantize_row(kf.data(), k.data(), static_cast<int64_t>(kf.size()));
                    const std::vector<float> q = normal_floats(static_cast<size_t>(n_q * hd), 12);
                    const int64_t ss = n + 3;  // scores row stride
                    std::vector<float> got(static_cast<size_t>(n_q * ss), 0.0f), want = got;
                    ops.dot_f16_rows(k.data() + 2, stride, n, q.data(), n_q, hd, got.data(), ss);
                    ref.ops.dot_f16_rows(k.data() + 2, stride, n, q.data(), n_q, hd, want.data(),
                                         ss);
                    for (size_t i = 0; i < got.size(); ++i) {
                        EXPECT_NEAR(got[i], want[i], 1e-4 * static_cast<double>(hd))
                            << isa_name(isa) << " hd " << hd << " n " << n << " n_q " << n_q;
                    }
                    const std::vector<float> w = normal_floats(static_cast<size_t>(n_q * ss), 13);
                    std::vector<float> out1 = normal_floats(static_cast<size_t>(n_q * hd), 14);
                    std::vector<float> out2 = out1;
                    ops.axpy_f16_rows(w.data(), ss, k.data() + 2, stride, n, n_q, hd, out1.data());
                    ref.ops.axpy_f16_rows(w.data(), ss, k.data() + 2, stride, n, n_q, hd,
                                          out2.data());
                    for (size_t j = 0; j < out1.size(); ++j) {
                        EXPECT_NEAR(out1[j], out2[j], 1e-4 * static_cast<double>(n + 1))
                            << isa_name(isa) << " hd " << hd << " n " << n << " n_q " << n_q;
                    }
                }
            }
        }
    }
}

// softmax and SiLU use a polynomial exp in SIMD code: within a few ulp of the
// reference's expf, masked (-inf) entries exactly 0, fully masked rows all 0.
TEST(Simd, SoftmaxAndSiluMatchReference) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (Isa isa : simd_isas()) {
        const OpsTable& ops = table_for(isa)->ops;
        for (int64_t n : {1, 7, 64, 1000, 4099}) {
            std::vector<float> x = normal_floats(static_cast<size_t>(n), 8, 4.0f);
            std::vector<float> mask(static_cast<size_t>(n), 0.0f);
            for (size_t i = 0; i < mask.size(); i += 3) mask[i] = -INFINITY;
            for (const float* m :
                 {static_cast<const float*>(nullptr), static_cast<const float*>(mask.data())}) {
                std::vector<float> got = x, want = x;
                ops.softmax(got.data(), n, 0.7f, m);
                ref.ops.softmax(want.data(), n, 0.7f, m);
                for (size_t i = 0; i < got.size(); ++i) {
                    ASSERT_NEAR(got[i], want[i], 1e-6 * static_cast<double>(want[i]) + 1e-12)
                        << isa_name(isa) << " n " << n << " i " << i;
                    if (m != nullptr && m[i] == -INFINITY) {
                        ASSERT_EQ(got[i], 0.0f);
                    }
                }
            }
            std::vector<float> all_masked(static_cast<size_t>(n), -INFINITY), row = x;
            ops.softmax(row.data(), n, 1.0f, all_masked.data());
            for (float v : row) ASSERT_EQ(v, 0.0f);
            const std::vector<float> up = normal_floats(static_cast<size_t>(n), 9);
            std::vector<float> g = normal_floats(static_cast<size_t>(n), 10, 30.0f);
            std::vector<float> o1(g.size()), o2(g.size());
            ops.silu_mul(g.data(), up.data(), o1.data(), n);
            ref.ops.silu_mul(g.data(), up.data(), o2.data(), n);
            for (size_t i = 0; i < o1.size(); ++i)
                ASSERT_NEAR(o1[i], o2[i], 1e-6 * std::fabs(static_cast<double>(o2[i])) + 1e-30)
                    << isa_name(isa) << " " << g[i];
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels::test
