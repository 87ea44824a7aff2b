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

// Runs `got` and `want` over the same blocks of attention: every head size
// in `head_dims`, row counts around the register groups (1..25), masks that
// cut the block anywhere or hide it all, and a running state carried over
// several blocks, so that the rescaling of earlier blocks is checked too.
// `check` compares the states after each block (row r, m, l, o of both).
using AttendFn = void (*)(const AttendBlock&);
struct AttendState {
    std::vector<float> m, l, o;
};

// The running maxima of row r agree within rel · (1 + |m|).
void expect_max_near(const AttendState& a, const AttendState& b, size_t r, float rel,
                     const std::string& where) {
    if (b.m[r] == -INFINITY)  // nothing attended yet
        EXPECT_EQ(a.m[r], b.m[r]) << where;
    else
        EXPECT_NEAR(a.m[r], b.m[r], rel * (1.0f + std::abs(b.m[r]))) << where;
}
// The F32 forms' bound: their exp is within a few ulp of expf and sums run
// in another order, so 1e-5 relative to the row's magnitude.
void expect_attend_near(const AttendState& a, const AttendState& b, size_t r, int64_t hd,
                        const std::string& where) {
    expect_max_near(a, b, r, 1e-5f, where);
    EXPECT_NEAR(a.l[r], b.l[r], 1e-5f * (1.0f + b.l[r])) << where;
    for (int64_t d = 0; d < hd; ++d) {
        const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
        EXPECT_NEAR(a.o[i], b.o[i], 1e-5f * (1.0f + 4.0f * b.l[r])) << where << " d " << d;
    }
}
// With f16_tiles the tiles hold F16 values, which `got` reads from
// AttendBlock::kt16 / v16 (its kt and v are null) and `want` as F32.
template <typename Check>
void compare_attend_blocks(AttendFn got, AttendFn want, std::initializer_list<int64_t> head_dims,
                           const std::string& label, Check check, bool f16_tiles = false) {
    for (int64_t hd : head_dims) {
        for (int64_t rows : {1, 5, 6, 7, 8, 9, 12, 13, 17, 25}) {
            const auto n = static_cast<size_t>(rows);
            const std::vector<float> q = normal_floats(n * static_cast<size_t>(hd), 21);
            std::vector<uint16_t> qb(q.size());
            for (size_t i = 0; i < q.size(); ++i) qb[i] = fp32_to_bf16(q[i]);
            std::mt19937 rng(static_cast<uint32_t>(hd * 100 + rows));
            AttendState s1{std::vector<float>(n, -INFINITY), std::vector<float>(n, 0.0f),
                           std::vector<float>(n * static_cast<size_t>(hd), 0.0f)};
            AttendState s2 = s1;
            for (int64_t block = 0; block < 4; ++block) {
                std::vector<float> kt =
                    normal_floats(static_cast<size_t>(16 * hd), 22 + static_cast<uint32_t>(block));
                std::vector<float> v =
                    normal_floats(static_cast<size_t>(16 * hd), 30 + static_cast<uint32_t>(block));
                std::vector<uint16_t> kt16(kt.size()), v16(v.size());
                for (size_t i = 0; i < kt.size(); ++i) {
                    kt16[i] = fp32_to_fp16(kt[i]);
                    v16[i] = fp32_to_fp16(v[i]);
                    if (f16_tiles) {
                        kt[i] = fp16_to_fp32(kt16[i]);
                        v[i] = fp16_to_fp32(v16[i]);
                    }
                }
                const int64_t pos0 = 16 * block;
                std::vector<int32_t> first(n), last(n);
                for (size_t r = 0; r < n; ++r) {
                    // Mostly open ranges, some cut inside this block, some shut.
                    first[r] = static_cast<int32_t>(
                        rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % 16) : 0);
                    last[r] = static_cast<int32_t>(
                        rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % 18) - 1 : 1000);
                }
                const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                float max_v = 0.0f;
                for (float x : v) max_v = std::max(max_v, std::abs(x));
                if (f16_tiles) {
                    got({q.data(), rows, hd, nullptr, nullptr, pos0, first.data(), last.data(),
                         scale, s1.m.data(), s1.l.data(), s1.o.data(), qb.data(), kt16.data(),
                         v16.data()});
                } else {
                    got({q.data(), rows, hd, kt.data(), v.data(), pos0, first.data(), last.data(),
                         scale, s1.m.data(), s1.l.data(), s1.o.data(), qb.data()});
                }
                want({q.data(), rows, hd, kt.data(), v.data(), pos0, first.data(), last.data(),
                      scale, s2.m.data(), s2.l.data(), s2.o.data(), qb.data()});
                for (size_t r = 0; r < n; ++r) {
                    const std::string where = label + " hd " + std::to_string(hd) + " rows " +
                                              std::to_string(rows) + " block " +
                                              std::to_string(block) + " row " + std::to_string(r);
                    check(s1, s2, r, hd, max_v, where);
                }
            }
        }
    }
}

// The F32 SIMD forms (expect_attend_near's bound).
TEST(Simd, AttendBlockMatchesReference) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (Isa isa : simd_isas()) {
        compare_attend_blocks(table_for(isa)->ops.attend_block, ref.ops.attend_block,
                              {8, 24, 48, 64, 128, 256}, std::string(isa_name(isa)),
                              [](const AttendState& a, const AttendState& b, size_t r, int64_t hd,
                                 float, const std::string& where) {
                                  expect_attend_near(a, b, r, hd, where);
                              });
    }
}

// The forms that read F16 tiles as stored (decode), every ISA's and the
// reference's own, against the F32 reference on the same (F16) values.
TEST(Simd, AttendBlockOnF16TilesMatchesReference) {
    const KernelTable& ref = *table_for(Isa::Ref);
    std::vector<Isa> isas = simd_isas();
    isas.push_back(Isa::Ref);
    for (Isa isa : isas) {
        ASSERT_NE(table_for(isa)->ops.attend_block_f16, nullptr) << isa_name(isa);
        compare_attend_blocks(
            table_for(isa)->ops.attend_block_f16, ref.ops.attend_block, {8, 24, 48, 64, 128, 256},
            std::string(isa_name(isa)) + " f16 tiles",
            [](const AttendState& a, const AttendState& b, size_t r, int64_t hd, float,
               const std::string& where) { expect_attend_near(a, b, r, hd, where); },
            true);
    }
}

// A span of whole F16 tiles in one call (decode's runs of up to 8 rows;
// more rows, as prefill has, through kv_tile.cpp's groups of 8) against the
// reference stepping tile by tile over the same values: the head sizes the
// form takes (multiples of 16; kv_tile.cpp steps others tile by tile), spans
// longer and shorter than the kernels' groups of tiles, rows whose ranges
// start or end inside the span or miss it.
TEST(Simd, AttendSpanOfF16TilesMatchesReferenceTileByTile) {
    const KernelTable& ref = *table_for(Isa::Ref);
    IsaGuard guard;
    bool any = false;
    for (Isa isa : simd_isas()) {
        const auto span = table_for(isa)->ops.attend_span_f16;
        if (span == nullptr) continue;
        any = true;
        ASSERT_TRUE(set_active_isa(isa));
        for (int64_t hd : {16, 48, 64, 128, 256}) {
            for (int64_t rows : {1, 2, 3, 4, 5, 6, 7, 8, 13, 24}) {
                for (int64_t n_tiles : {1, 2, 3, 4, 5, 7, 9}) {
                    const auto n = static_cast<size_t>(rows);
                    const auto tile = static_cast<size_t>(16 * hd);
                    const std::vector<float> q = normal_floats(n * static_cast<size_t>(hd), 5);
                    std::vector<uint16_t> kt16(tile * static_cast<size_t>(n_tiles)),
                        v16(kt16.size());
                    const std::vector<float> kf = normal_floats(kt16.size(), 6),
                                             vf = normal_floats(kt16.size(), 7);
                    std::vector<float> kt(kt16.size()), v(kt16.size());
                    for (size_t i = 0; i < kt16.size(); ++i) {
                        kt16[i] = fp32_to_fp16(kf[i]);
                        v16[i] = fp32_to_fp16(vf[i]);
                        kt[i] = fp16_to_fp32(kt16[i]);
                        v[i] = fp16_to_fp32(v16[i]);
                    }
                    const int64_t pos0 = 32;
                    const int64_t end = pos0 + 16 * n_tiles;
                    std::mt19937 rng(static_cast<uint32_t>(hd * 1000 + rows * 10 + n_tiles));
                    std::vector<int32_t> first(n), last(n);
                    for (size_t r = 0; r < n; ++r) {
                        first[r] = static_cast<int32_t>(
                            rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % (end - pos0)) : 0);
                        last[r] = static_cast<int32_t>(
                            rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % (end - pos0 + 2)) - 1
                                           : 100000);
                    }
                    std::vector<const uint16_t*> kts, vs;
                    for (int64_t t = 0; t < n_tiles; ++t) {
                        kts.push_back(kt16.data() + static_cast<size_t>(t) * tile);
                        vs.push_back(v16.data() + static_cast<size_t>(t) * tile);
                    }
                    // Earlier state, as a span in the middle of a range has.
                    const std::vector<float> o0 = normal_floats(n * static_cast<size_t>(hd), 8);
                    AttendState s1{std::vector<float>(n, 0.5f), std::vector<float>(n, 3.0f), o0};
                    AttendState s2 = s1;
                    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                    const AttendBlock a{q.data(),     rows,        hd,         nullptr,
                                        nullptr,      pos0,        first.data(), last.data(),
                                        scale,        s1.m.data(), s1.l.data(), s1.o.data()};
                    if (rows <= kF16TileMaxRows) {
                        span(a, kts.data(), vs.data(), n_tiles);
                    } else {
                        attend_f16_span(a, kts.data(), vs.data(), n_tiles);
                    }
                    for (int64_t t = 0; t < n_tiles; ++t) {
                        ref.ops.attend_block({q.data(), rows, hd,
                                              kt.data() + static_cast<size_t>(t) * tile,
                                              v.data() + static_cast<size_t>(t) * tile,
                                              pos0 + 16 * t, first.data(), last.data(), scale,
                                              s2.m.data(), s2.l.data(), s2.o.data()});
                    }
                    for (size_t r = 0; r < n; ++r) {
                        const std::string where =
                            std::string(isa_name(isa)) + " hd " + std::to_string(hd) + " rows " +
                            std::to_string(rows) + " tiles " + std::to_string(n_tiles) + " row " +
                            std::to_string(r);
                        expect_attend_near(s1, s2, r, hd, where);
                    }
                }
            }
        }
    }
    if (!any) GTEST_SKIP() << "no kernel table of this CPU has a span form";
}

// A span of F16 tiles as the FP16-product kernels see one: n_tiles tiles
// (whole steps) of values drawn by `draw`, rows that attend all of it (their
// ranges start before it or at its start, end at its end or after it), and
// an earlier state (as a span in the middle of a range has), or none.
struct Fp16Span {
    int64_t rows, hd, n_tiles;
    std::vector<float> q;
    std::vector<uint16_t> kt16, v16;
    std::vector<const uint16_t*> kts, vs;
    std::vector<int32_t> first, last;
    AttendState state;
    float max_v = 0.0f;
    static constexpr int64_t kPos0 = 2 * kFp16StepTokens;

    Fp16Span(int64_t rows_, int64_t hd_, int64_t n_tiles_, float q_sigma, float k_sigma,
             float v_sigma, bool fresh = false)
        : rows(rows_), hd(hd_), n_tiles(n_tiles_) {
        const auto n = static_cast<size_t>(rows);
        const auto tile = static_cast<size_t>(16 * hd);
        const auto seed = static_cast<uint32_t>(hd * 1000 + rows * 10 + n_tiles);
        q = normal_floats(n * static_cast<size_t>(hd), seed, q_sigma);
        const std::vector<float> kf = normal_floats(tile * static_cast<size_t>(n_tiles), seed + 1,
                                                    k_sigma),
                                 vf = normal_floats(kf.size(), seed + 2, v_sigma);
        kt16.resize(kf.size());
        v16.resize(kf.size());
        for (size_t i = 0; i < kf.size(); ++i) {
            kt16[i] = fp32_to_fp16(kf[i]);
            v16[i] = fp32_to_fp16(vf[i]);
            max_v = std::max(max_v, std::abs(fp16_to_fp32(v16[i])));
        }
        for (int64_t t = 0; t < n_tiles; ++t) {
            kts.push_back(kt16.data() + static_cast<size_t>(t) * tile);
            vs.push_back(v16.data() + static_cast<size_t>(t) * tile);
        }
        const int64_t end = kPos0 + 16 * n_tiles;
        std::mt19937 rng(seed);
        first.resize(n);
        last.resize(n);
        for (size_t r = 0; r < n; ++r) {
            first[r] = static_cast<int32_t>(rng() % 2 == 0 ? 0 : kPos0);
            last[r] = static_cast<int32_t>(rng() % 2 == 0 ? end - 1 : 100000);
        }
        state = fresh ? AttendState{std::vector<float>(n, -INFINITY), std::vector<float>(n, 0.0f),
                                    std::vector<float>(n * static_cast<size_t>(hd), 0.0f)}
                      : AttendState{std::vector<float>(n, 0.5f), std::vector<float>(n, 3.0f),
                                    normal_floats(n * static_cast<size_t>(hd), seed + 3)};
    }
    AttendBlock block(AttendState& s) const {
        return {q.data(),     rows,        hd,
                nullptr,      nullptr,     kPos0,
                first.data(), last.data(), 1.0f / std::sqrt(static_cast<float>(hd)),
                s.m.data(),   s.l.data(),  s.o.data()};
    }
    // The F32 reference tile by tile on the same values.
    AttendState f32_reference() const {
        AttendState s = state;
        AttendBlock a = block(s);
        for (int64_t t = 0; t < n_tiles; ++t) {
            a.pos0 = kPos0 + 16 * t;
            a.kt16 = kts[static_cast<size_t>(t)];
            a.v16 = vs[static_cast<size_t>(t)];
            table_for(Isa::Ref)->ops.attend_block_f16(a);
        }
        return s;
    }
};

using Fp16Form = void (*)(const AttendBlock&, const uint16_t* const*, const uint16_t* const*,
                          int64_t);

Fp16Form fp16_kernel() {
    return table_for(Isa::Avx512) == nullptr ? nullptr
                                             : table_for(Isa::Avx512)->ops.attend_span_fp16;
}

// The FP16-product span kernel against its scalar reference, which rounds
// the same values at the same points (FP16 sums emulated exactly): scores,
// and so the maxima, agree as F32 ones do; a probability whose SIMD exp
// lands an ulp from expf may round to the neighbouring FP16 value (2^-11),
// and every FP16 sum after it can differ by an ulp or so, which the bounds
// on l and o allow per step of kFp16StepTiles tiles. A wrong position,
// dimension or step is off by whole values. Then, against the F32 reference,
// the attention outputs o / l stay within the error FP16 sums bring. Head
// sizes the form takes (multiples of 32), every row count of a group, one
// step and several, from an earlier state and from none.
TEST(Simd, AttendSpanFp16MatchesItsReference) {
    const Fp16Form kernel = fp16_kernel();
    EXPECT_EQ(kernel != nullptr, cpu_features().avx512fp16);
    if (kernel == nullptr) GTEST_SKIP() << "this CPU has no AVX512-FP16";
    for (int64_t hd : {32, 64, 96, 128, 256}) {
        for (int64_t rows = 1; rows <= 8; ++rows) {
            for (int64_t n_tiles : {6, 12, 18, 30}) {
                for (bool fresh : {false, true}) {
                    const Fp16Span span(rows, hd, n_tiles, 1.0f, 1.0f, 1.0f, fresh);
                    AttendState got = span.state, want = span.state;
                    kernel(span.block(got), span.kts.data(), span.vs.data(), n_tiles);
                    ref::attend_span_fp16(span.block(want), span.kts.data(), span.vs.data(),
                                          n_tiles);
                    const AttendState f32 = span.f32_reference();
                    const auto steps = static_cast<float>(n_tiles / kFp16StepTiles);
                    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
                        const std::string where =
                            "hd " + std::to_string(hd) + " rows " + std::to_string(rows) +
                            " tiles " + std::to_string(n_tiles) + (fresh ? " fresh" : "") +
                            " row " + std::to_string(r);
                        expect_max_near(got, want, r, 1e-6f, where);
                        EXPECT_NEAR(got.l[r], want.l[r],
                                    1e-5f * (1.0f + want.l[r]) + 0x1p-10f * steps)
                            << where;
                        // FP16 sums: an error of half an ulp (2^-11 relative) per
                        // dimension, growing as sqrt(head_dim).
                        expect_max_near(got, f32, r,
                                        2.0f * std::sqrt(static_cast<float>(hd)) * 0x1p-11f,
                                        where + " vs f32");
                        for (int64_t d = 0; d < hd; ++d) {
                            const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                            EXPECT_NEAR(
                                got.o[i], want.o[i],
                                1e-5f * (1.0f + 4.0f * want.l[r]) + 0x1p-9f * span.max_v * steps)
                                << where << " d " << d;
                            EXPECT_NEAR(got.o[i] / got.l[r], f32.o[i] / f32.l[r],
                                        0x1p-8f * span.max_v)
                                << where << " d " << d << " vs f32";
                        }
                    }
                }
            }
        }
    }
}

// Scores or p · V sums past FP16's range send a row's step to the F32
// kernel before its state changes: the results are the F32 reference's, in
// the kernel and in its scalar reference. Large queries and keys overflow
// the scores; values of 20000 summed over a step's positions with equal
// probabilities (zero queries) overflow p · V.
TEST(Simd, AttendSpanFp16FallsBackToF32PastItsRange) {
    std::vector<std::pair<std::string, Fp16Form>> forms = {{"reference", ref::attend_span_fp16}};
    if (fp16_kernel() != nullptr) forms.emplace_back("avx512", fp16_kernel());
    for (const auto& [name, form] : forms) {
        for (int64_t rows : {3, 8}) {
            const Fp16Span scores(rows, 64, 12, 300.0f, 60.0f, 1.0f);
            Fp16Span sums(rows, 64, 12, 0.0f, 1.0f, 1.0f);
            for (uint16_t& v : sums.v16) v = fp32_to_fp16(20000.0f);
            sums.max_v = 20000.0f;
            for (const Fp16Span* span : {&scores, static_cast<const Fp16Span*>(&sums)}) {
                AttendState got = span->state;
                form(span->block(got), span->kts.data(), span->vs.data(), span->n_tiles);
                const AttendState want = span->f32_reference();
                for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
                    const std::string where = name + (span == &scores ? " scores" : " sums") +
                                              " rows " + std::to_string(rows) + " row " +
                                              std::to_string(r);
                    ASSERT_TRUE(std::isfinite(got.l[r])) << where;
                    expect_max_near(got, want, r, 1e-5f, where);
                    EXPECT_NEAR(got.l[r], want.l[r], 1e-5f * (1.0f + want.l[r])) << where;
                    for (int64_t d = 0; d < 64; ++d) {
                        const size_t i = r * 64 + static_cast<size_t>(d);
                        ASSERT_TRUE(std::isfinite(got.o[i])) << where;
                        EXPECT_NEAR(got.o[i], want.o[i],
                                    1e-5f * (1.0f + 4.0f * want.l[r]) * std::max(1.0f, span->max_v))
                            << where << " d " << d;
                    }
                }
            }
        }
    }
}

// A row's result depends on nothing but its own query and the span: run
// with the rows beside it (some of which fall back to F32, their queries
// scaled past FP16's range), and alone, it comes out bit for bit the same.
// This is what keeps prefill in any chunks, and batched decode, equal.
TEST(Simd, AttendSpanFp16RowsDoNotDependOnEachOther) {
    std::vector<std::pair<std::string, Fp16Form>> forms = {{"reference", ref::attend_span_fp16}};
    if (fp16_kernel() != nullptr) forms.emplace_back("avx512", fp16_kernel());
    for (const auto& [name, form] : forms) {
        for (int64_t rows = 2; rows <= 8; ++rows) {
            Fp16Span span(rows, 64, 12, 1.0f, 2.0f, 1.0f);
            for (int64_t r = 1; r < rows; r += 3)
                for (int64_t d = 0; d < 64; ++d) span.q[static_cast<size_t>(r * 64 + d)] *= 100.0f;
            AttendState all = span.state;
            form(span.block(all), span.kts.data(), span.vs.data(), span.n_tiles);
            for (int64_t r = 0; r < rows; ++r) {
                AttendState one = span.state;
                AttendBlock a = span.block(one);
                a.rows = 1;
                a.q += r * 64;
                a.first += r;
                a.last += r;
                a.m += r;
                a.l += r;
                a.o += r * 64;
                form(a, span.kts.data(), span.vs.data(), span.n_tiles);
                const auto ru = static_cast<size_t>(r);
                const std::string where =
                    name + " rows " + std::to_string(rows) + " row " + std::to_string(r);
                EXPECT_EQ(one.m[ru], all.m[ru]) << where;
                EXPECT_EQ(one.l[ru], all.l[ru]) << where;
                for (size_t d = 0; d < 64; ++d)
                    EXPECT_EQ(one.o[ru * 64 + d], all.o[ru * 64 + d]) << where << " d " << d;
            }
        }
    }
}

// The BF16-product form against its scalar reference, which rounds the same
// values the same way: scores agree as closely as the F32 forms. A
// probability whose SIMD exp lands a few ulp from expf can round to the
// neighbouring BF16 value (one part in 256), so l and o also allow one such
// step per block; a wrong pairing or layout is off by whole values. Then,
// against the F32 reference, the attention outputs o / l stay within the
// error BF16 inputs bring (about 2^-8 of the values' size). The kernel is
// tested on every CPU that has AVX512-BF16; the tables hold it only where
// those products are fast.
TEST(Simd, AttendBlockBf16MatchesItsReference) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    EXPECT_EQ(table_for(Isa::Avx512)->ops.attend_block_bf16 != nullptr,
              cpu_features().bf16_products_fast);
    const AttendFn bf16 = avx512::attend_bf16_entry();
    const std::string label = "avx512 bf16";
    compare_attend_blocks(
        bf16, ref::attend_block_bf16, {32, 64, 96, 128, 256}, label,
        [](const AttendState& a, const AttendState& b, size_t r, int64_t hd, float max_v,
           const std::string& where) {
            expect_max_near(a, b, r, 1e-5f, where);
            EXPECT_NEAR(a.l[r], b.l[r], 1e-5f * (1.0f + b.l[r]) + 0x1p-7f) << where;
            for (int64_t d = 0; d < hd; ++d) {
                const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                EXPECT_NEAR(a.o[i], b.o[i], 1e-5f * (1.0f + 4.0f * b.l[r]) + 0x1p-7f * max_v)
                    << where << " d " << d;
            }
        });
    compare_attend_blocks(
        bf16, table_for(Isa::Ref)->ops.attend_block, {64, 256}, label + " vs f32",
        [](const AttendState& a, const AttendState& b, size_t r, int64_t hd, float max_v,
           const std::string& where) {
            expect_max_near(a, b, r, 0x1p-5f, where);
            if (b.l[r] == 0.0f) return;
            for (int64_t d = 0; d < hd; ++d) {
                const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                EXPECT_NEAR(a.o[i] / a.l[r], b.o[i] / b.l[r], 0x1p-5f * max_v)
                    << where << " d " << d;
            }
        });
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
