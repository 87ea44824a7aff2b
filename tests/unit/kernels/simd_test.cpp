// Every SIMD variant against the scalar reference: activation quantizers and
// dequantizers must be bit-exact, dot products within 1e-4 relative (of the
// sum of the absolute products, so cancellation cannot hide an error), on
// many random blocks with extreme scales, zeros and negative zeros, for every
// activation-row count a vec_dot call takes.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>

#include "kernels/fp16.hpp"
#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/avx512/avx512.hpp"
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

// Weight rows for the packed-path test: n rows of k, quantized from nasty
// floats (even seeds) or, for the K formats whose quantizer is ours, raw
// random bytes whose half scales are overwritten with finite ones (odd
// seeds: every scale and quant bit pattern, negative Q6_K scales included).
std::vector<uint8_t> packed_test_rows(const TypeTraits& rt, int64_t n, int64_t k, uint32_t seed) {
    std::vector<uint8_t> q = quantize(rt, nasty_floats(static_cast<size_t>(n * k), seed));
    std::vector<size_t> halves;  // byte offsets of the half scales in a block
    if (rt.type == TensorType::Q4_K || rt.type == TensorType::Q5_K) halves = {0, 2};
    if (rt.type == TensorType::Q6_K) halves = {offsetof(BlockQ6_K, d)};
    if (seed % 2 == 0 || halves.empty()) return q;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    for (uint8_t& byte : q) byte = static_cast<uint8_t>(rng());
    for (size_t blk = 0; blk < q.size(); blk += static_cast<size_t>(rt.block_bytes)) {
        for (size_t at : halves) {
            const uint16_t h = fp32_to_fp16(scale(rng));
            std::memcpy(q.data() + blk + at, &h, sizeof h);
        }
    }
    return q;
}

// Σ_e |32 · d · scale(e) · a_e| of a Q6_K row: the fused Q6_K GEMV (b < 8)
// dots the stored values q + 32 and subtracts the 32's share in float after
// scaling, so its rounding error is relative to this as well as to Σ|w·a|
// (a row near 0 against large activations can cancel it almost entirely).
// The tile path (b >= 8) subtracts its offset in int32 and is held to Σ|w·a|.
double q6_offset_magnitude(const uint8_t* row, const std::vector<float>& ad) {
    double sum = 0.0;
    for (size_t e = 0; e < ad.size(); ++e) {
        const auto& blk = reinterpret_cast<const BlockQ6_K*>(row)[e / kQKK];
        const double scale = static_cast<double>(fp16_to_fp32(blk.d)) * blk.scales[e % kQKK / 16];
        sum += std::fabs(32.0 * scale * static_cast<double>(ad[e]));
    }
    return sum;
}

// Every packed matmul path (PackedGemm: the `packed` rows, and `packed_large`
// from its min_batch on) called tile by tile as matmul does, against the
// reference vec_dot on the same quantized activations: an odd row count (a
// partial last tile and micro-kernel), batches on both sides of each path's
// switch that are not multiples of any activation group, and row lengths
// that leave partial groups and scale chunks (k = 17 K super-blocks).
// The first 64-byte boundary inside `buf` (allocated 63 bytes larger):
// matmul() gives the packed paths 64-byte aligned activations and work.
uint8_t* aligned64(std::vector<uint8_t>& buf) {
    return buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
}

TEST(Simd, PackedMatmulTilesMatchReferenceOnRaggedShapes) {
    constexpr int64_t n = 37;
    for (Isa isa : simd_isas()) {
        const KernelTable& table = *table_for(isa);
        for (TensorType type : weight_types()) {
            const auto id = static_cast<uint32_t>(type);
            const TypeTraits& rt = ref_traits(type);
            const TypeTraits& at = ref_traits(rt.vec_dot_type);
            if (table.packed[id].tile == nullptr && table.packed_large[id].tile == nullptr)
                continue;
            // F16 / BF16 weights: their own test below (BF16 products need
            // a wider bound than these int8 ones).
            if (rt.block_elems == 1) continue;
            for (int64_t k : {int64_t{256}, int64_t{576}, int64_t{768}, int64_t{17 * 256}}) {
                if (k % rt.block_elems != 0) continue;
                for (uint32_t seed : {1u, 2u}) {
                    const std::vector<uint8_t> w = packed_test_rows(rt, n, k, 300 + seed);
                    const size_t w_stride = row_bytes(rt, k);
                    const std::vector<float> wd = dequantize(rt, w.data(), n * k);
                    for (int64_t b : {1, 3, 5, 7, 8, 9, 13, 17, 34}) {
                        const PackedGemm& large = table.packed_large[id];
                        const PackedGemm& p = large.tile != nullptr && b >= large.min_batch
                                                  ? large
                                                  : table.packed[id];
                        if (p.tile == nullptr || b < p.min_batch) continue;
                        const bool q6_gemv = type == TensorType::Q6_K && &p == &table.packed[id];
                        SCOPED_TRACE(std::string(isa_name(isa)) + " " + type_name(type) +
                                     " k=" + std::to_string(k) + " b=" + std::to_string(b) +
                                     " seed=" + std::to_string(seed));
                        const std::vector<float> x =
                            nasty_floats(static_cast<size_t>(b * k), 400 + seed);
                        // Packed activations, and the reference's quantized rows.
                        const size_t a_bytes = p.act_bytes(k);
                        std::vector<uint8_t> act_buf;
                        size_t act_stride = a_bytes;
                        if (p.pack_group != nullptr) {
                            const int64_t groups = (b + kPackedActGroup - 1) / kPackedActGroup;
                            act_buf.resize(a_bytes * static_cast<size_t>(groups) + 63);
                            for (int64_t g = 0; g < groups; ++g)
                                p.pack_group(x.data() + g * kPackedActGroup * k, k,
                                             std::min(kPackedActGroup, b - g * kPackedActGroup),
                                             aligned64(act_buf) + static_cast<size_t>(g) * a_bytes,
                                             k);
                        } else {
                            act_buf.resize(a_bytes * static_cast<size_t>(b) + 63);
                            for (int64_t c = 0; c < b; ++c)
                                p.pack_act(x.data() + c * k, aligned64(act_buf) + c * a_bytes, k);
                        }
                        std::vector<uint8_t> work(p.work_bytes(k) + 64 + 63);
                        std::vector<float> got(static_cast<size_t>(b * n), NAN);
                        const PackedGemmArgs args{w.data(),           w_stride,   k,
                                                  aligned64(act_buf), act_stride, b,
                                                  got.data(),         n};
                        for (int64_t r0 = 0; r0 < n; r0 += kPackedTileRows)
                            p.tile(args, r0, std::min(n, r0 + kPackedTileRows), aligned64(work));
                        std::vector<uint8_t> aq(row_bytes(at, k));
                        for (int64_t c = 0; c < b; ++c) {
                            at.quantize_row(x.data() + c * k, aq.data(), k);
                            const std::vector<float> ad = dequantize(at, aq.data(), k);
                            for (int64_t r = 0; r < n; ++r) {
                                float want = 0.0f;
                                rt.vec_dot(k, w.data() + static_cast<size_t>(r) * w_stride,
                                           aq.data(), 0, 1, &want);
                                double mag = 0.0;
                                for (int64_t e = 0; e < k; ++e)
                                    mag += std::fabs(
                                        static_cast<double>(wd[static_cast<size_t>(r * k + e)]) *
                                        static_cast<double>(ad[static_cast<size_t>(e)]));
                                if (q6_gemv)
                                    mag += q6_offset_magnitude(
                                        w.data() + static_cast<size_t>(r) * w_stride, ad);
                                ASSERT_NEAR(got[static_cast<size_t>(c * n + r)], want,
                                            1e-4 * mag + 1e-30)
                                    << "activation row " << c << " weight row " << r;
                            }
                        }
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

// A packed path of F16 / BF16 weights (PackedGemm::tile called directly, for
// every batch it may see) against its scalar reference: ref::dot_bf16 for BF16
// products, which rounds the same values the same way, or the reference
// vec_dot for F32 ones. Only the order of the F32 sums differs, so 1e-5 of the
// sum of the absolute products. Ragged shapes: k not a multiple of the
// conversion chunk (odd k leaves weight rows 2-byte aligned), batches not a
// multiple of the 16-row activation group, tiles of fewer than 16 rows
// (outputs past them, in the gap of y's stride, must stay untouched).
void check_float_packed(const PackedGemm& p, TensorType type, const std::string& label,
                        bool bf16_products, std::initializer_list<int64_t> batches) {
    for (int64_t k : {1, 2, 31, 33, 64, 101, 576, 1000}) {
        const int64_t n = 37, y_stride = n + 3;
        for (int64_t b : batches) {
            const std::string where = label + " " + type_name(type) + " k " + std::to_string(k) +
                                      " b " + std::to_string(b);
            const std::vector<uint8_t> w =
                quantize(ref_traits(type),
                         nasty_floats(static_cast<size_t>(n * k), static_cast<uint32_t>(7 + k)));
            const std::vector<float> x =
                nasty_floats(static_cast<size_t>(b * k), static_cast<uint32_t>(9 + k));
            const size_t act_stride = (p.act_bytes(k) + 63) / 64 * 64;
            // One packed row per activation row, or groups of kPackedActGroup.
            const bool grouped = p.pack_group != nullptr;
            const int64_t units = grouped ? (b + kPackedActGroup - 1) / kPackedActGroup : b;
            std::vector<uint8_t> act_buf(act_stride * static_cast<size_t>(units) + 64);
            std::vector<uint8_t> work_buf(p.work_bytes(k) + 64);
            uint8_t* act = aligned64(act_buf);
            for (int64_t u = 0; u < units; ++u) {
                uint8_t* dst = act + static_cast<size_t>(u) * act_stride;
                if (grouped) {
                    const int64_t row = u * kPackedActGroup;
                    p.pack_group(x.data() + row * k, k, std::min(kPackedActGroup, b - row), dst, k);
                } else {
                    p.pack_act(x.data() + u * k, dst, k);
                }
            }
            std::vector<float> y(static_cast<size_t>(b * y_stride), NAN);
            const PackedGemmArgs args{
                w.data(), static_cast<size_t>(k) * 2, k, act, act_stride, b, y.data(), y_stride};
            for (int64_t r0 = 0; r0 < n; r0 += kPackedTileRows)
                p.tile(args, r0, std::min(n, r0 + kPackedTileRows), aligned64(work_buf));
            for (int64_t c = 0; c < b; ++c) {
                for (int64_t r = 0; r < y_stride; ++r) {
                    const float got = y[static_cast<size_t>(c * y_stride + r)];
                    if (r >= n) {
                        ASSERT_TRUE(std::isnan(got)) << where << " gap " << r;
                        continue;
                    }
                    const uint8_t* wr = w.data() + static_cast<size_t>(r * k) * 2;
                    double mag = 0.0;
                    for (int64_t e = 0; e < k; ++e) {
                        uint16_t h = 0;
                        std::memcpy(&h, wr + 2 * e, 2);
                        const float wv =
                            type == TensorType::BF16 ? bf16_to_fp32(h) : fp16_to_fp32(h);
                        mag += std::fabs(static_cast<double>(wv) *
                                         static_cast<double>(x[static_cast<size_t>(c * k + e)]));
                    }
                    float want = 0.0f;
                    if (bf16_products) {
                        want = ref::dot_bf16(type, wr, x.data() + c * k, k);
                    } else {
                        ref_traits(type).vec_dot(k, wr, x.data() + c * k, 0, 1, &want);
                    }
                    ASSERT_NEAR(got, want, 1e-5 * mag + 1e-30)
                        << where << " row " << c << " col " << r;
                }
            }
        }
    }
}

TEST(Simd, Bf16PackedGemmMatchesItsReference) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    for (TensorType type : {TensorType::F16, TensorType::BF16}) {
        const PackedGemm p = avx512::float_bf16_entry(type);
        check_float_packed(p, type, "avx512 bf16", true, {1, 3, 16, 17, 35});
        for (Isa isa : {Isa::Avx512, Isa::Amx}) {
            if (!isa_supported(isa)) continue;
            const PackedGemm& installed = table_for(isa)->packed_large[static_cast<uint32_t>(type)];
            EXPECT_EQ(installed.tile == p.tile, cpu_features().bf16_products_fast)
                << isa_name(isa);
        }
    }
}

// The F32-product tiles that AVX-512 CPUs without BF16 products take.
TEST(Simd, F32PackedGemmOfFloatWeightsMatchesReference) {
    if (!isa_supported(Isa::Avx512)) GTEST_SKIP() << "this CPU has no AVX-512";
    for (TensorType type : {TensorType::F16, TensorType::BF16})
        check_float_packed(avx512::float_f32_entry(type), type, "avx512 f32", false,
                           {1, 3, 16, 17, 35});
}

// The GEMV every AVX-512 CPU takes below the tiles' min_batch: eight and four
// row streams with 37 rows leave single-row remainders, k = 1..1000 partial
// 32-element steps and 16-element tails; b = 5 runs in passes of 3 and 2.
TEST(Simd, GemvOfFloatWeightsMatchesReference) {
    if (!isa_supported(Isa::Avx512)) GTEST_SKIP() << "this CPU has no AVX-512";
    for (TensorType type : {TensorType::F16, TensorType::BF16}) {
        const PackedGemm p = avx512::float_gemv_entry(type);
        EXPECT_EQ(p.min_batch, 1);
        EXPECT_EQ(table_for(Isa::Avx512)->packed[static_cast<uint32_t>(type)].tile, p.tile);
        check_float_packed(p, type, "avx512 gemv", false, {1, 2, 3, 5});
    }
}

// Q8_0 key tiles (quants [head_dim][16], then F16 scales [head_dim/32][16])
// dequantize bit-exactly: one float product per element either way.
TEST(Simd, Q8_0KeyTilesDequantizeBitExactly) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (Isa isa : simd_isas()) {
        for (int64_t hd : {32, 64, 256}) {
            std::mt19937 rng(static_cast<uint32_t>(hd));
            std::vector<uint8_t> tile(static_cast<size_t>(16 * hd + hd / 32 * 16 * 2));
            for (uint8_t& b : tile) b = static_cast<uint8_t>(rng());
            auto* scales = reinterpret_cast<uint16_t*>(tile.data() + 16 * hd);
            for (int64_t i = 0; i < hd / 32 * 16; ++i)
                scales[i] = fp32_to_fp16(std::ldexp(static_cast<float>(rng() % 1000), -12));
            std::vector<float> got(static_cast<size_t>(16 * hd)), want(got.size());
            table_for(isa)->ops.dequantize_q8_0_keys(tile.data(), hd, got.data());
            ref.ops.dequantize_q8_0_keys(tile.data(), hd, want.data());
            EXPECT_EQ(got, want) << isa_name(isa) << " hd " << hd;
        }
    }
}

// softmax and SiLU use a polynomial exp in SIMD code: within a few ulp of the
// reference's expf, masked (-inf) entries exactly 0, fully masked rows all 0.
TEST(Simd, SoftmaxSiluAndGeluMatchReference) {
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
            // GELU: the SIMD form is x·σ(2y), the reference 0.5·x·(1 + tanh y); in the
            // negative tail the reference's 1 + tanh y cancels, so the bound also
            // allows 1e-6 of |x · up| there.
            ops.gelu_mul(g.data(), up.data(), o1.data(), n);
            ref.ops.gelu_mul(g.data(), up.data(), o2.data(), n);
            for (size_t i = 0; i < o1.size(); ++i) {
                const double scale =
                    std::fabs(static_cast<double>(g[i]) * static_cast<double>(up[i]));
                ASSERT_NEAR(o1[i], o2[i],
                            1e-5 * std::fabs(static_cast<double>(o2[i])) + 1e-6 * scale + 1e-30)
                    << isa_name(isa) << " gelu " << g[i];
            }
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels::test
