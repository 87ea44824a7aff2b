// The attention kernels against their scalar references: the blockwise step
// (F32, on F16 tiles, BF16 products), the spans of whole F16 tiles (F32,
// FP16 and BF16 products) and how kv_tile.cpp dispatches them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "attend_test_util.hpp"
#include "kernels/fp16.hpp"
#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "test_util.hpp"

namespace pensieve::kernels::test {
namespace {

// Runs `got` and `want` over the same blocks of attention: every head size
// in `head_dims`, row counts around the register groups (1..25), masks that
// cut the block anywhere or hide it all, and a running state carried over
// several blocks, so that the rescaling of earlier blocks is checked too.
// `check` compares the states after each block (row r, m, l, o of both).
using AttendFn = void (*)(const AttendBlock&);
// Rows r .. r + n - 1 of `a` as a block of their own.
AttendBlock rows_of(const AttendBlock& a, int64_t r, int64_t n) {
    AttendBlock g = a;
    g.rows = n;
    g.q += r * a.head_dim;
    if (a.qb != nullptr) g.qb += r * a.head_dim;
    g.first += r;
    g.last += r;
    g.m += r;
    g.l += r;
    g.o += r * a.head_dim;
    return g;
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
        compare_attend_blocks(
            table_for(isa)->ops.attend_block, ref.ops.attend_block, {8, 24, 48, 64, 128, 256},
            std::string(isa_name(isa)),
            [](const AttendState& a, const AttendState& b, size_t r, int64_t hd, float,
               const std::string& where) { expect_attend_near(a, b, r, hd, where); });
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

// A span of whole F16 or BF16 tiles in one call (decode's runs of up to 8
// rows; more rows, as prefill has, through kv_tile.cpp's groups of 8) against
// the reference stepping tile by tile over the same values: the head sizes
// the form takes (multiples of 16; kv_tile.cpp steps others tile by tile),
// spans longer and shorter than the kernels' groups of tiles, rows whose
// ranges start or end inside the span or miss it.
TEST(Simd, AttendSpanOf16BitTilesMatchesReferenceTileByTile) {
    const KernelTable& ref = *table_for(Isa::Ref);
    IsaGuard guard;
    bool any = false;
    for (Isa isa : simd_isas()) {
        for (TensorType type : {TensorType::F16, TensorType::BF16}) {
            const bool bf16 = type == TensorType::BF16;
            const auto span = bf16 ? table_for(isa)->ops.attend_span_bf16_tiles
                                   : table_for(isa)->ops.attend_span_f16;
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
                            kt16[i] = bf16 ? fp32_to_bf16(kf[i]) : fp32_to_fp16(kf[i]);
                            v16[i] = bf16 ? fp32_to_bf16(vf[i]) : fp32_to_fp16(vf[i]);
                            kt[i] = bf16 ? bf16_to_fp32(kt16[i]) : fp16_to_fp32(kt16[i]);
                            v[i] = bf16 ? bf16_to_fp32(v16[i]) : fp16_to_fp32(v16[i]);
                        }
                        const int64_t pos0 = 32;
                        const int64_t end = pos0 + 16 * n_tiles;
                        std::mt19937 rng(static_cast<uint32_t>(hd * 1000 + rows * 10 + n_tiles));
                        std::vector<int32_t> first(n), last(n);
                        for (size_t r = 0; r < n; ++r) {
                            first[r] = static_cast<int32_t>(
                                rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % (end - pos0))
                                               : 0);
                            last[r] = static_cast<int32_t>(
                                rng() % 3 == 0
                                    ? pos0 + static_cast<int64_t>(rng() % (end - pos0 + 2)) - 1
                                    : 100000);
                        }
                        std::vector<const uint16_t*> kts, vs;
                        for (int64_t t = 0; t < n_tiles; ++t) {
                            kts.push_back(kt16.data() + static_cast<size_t>(t) * tile);
                            vs.push_back(v16.data() + static_cast<size_t>(t) * tile);
                        }
                        // Earlier state, as a span in the middle of a range has.
                        const std::vector<float> o0 = normal_floats(n * static_cast<size_t>(hd), 8);
                        AttendState s1{std::vector<float>(n, 0.5f), std::vector<float>(n, 3.0f),
                                       o0};
                        AttendState s2 = s1;
                        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                        const AttendBlock a{q.data(), rows,        hd,           nullptr,
                                            nullptr,  pos0,        first.data(), last.data(),
                                            scale,    s1.m.data(), s1.l.data(),  s1.o.data()};
                        if (rows <= kF16TileMaxRows) {
                            span(a, kts.data(), vs.data(), n_tiles);
                        } else {
                            attend_span_16(type, a, kts.data(), vs.data(), n_tiles);
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
                                std::string(isa_name(isa)) + (bf16 ? " bf16" : " f16") + " hd " +
                                std::to_string(hd) + " rows " + std::to_string(rows) + " tiles " +
                                std::to_string(n_tiles) + " row " + std::to_string(r);
                            expect_attend_near(s1, s2, r, hd, where);
                        }
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
                form(rows_of(span.block(one), r, 1), span.kts.data(), span.vs.data(), span.n_tiles);
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
    compare_attend_blocks(bf16, table_for(Isa::Ref)->ops.attend_block, {64, 256}, label + " vs f32",
                          [](const AttendState& a, const AttendState& b, size_t r, int64_t hd,
                             float max_v, const std::string& where) {
                              expect_max_near(a, b, r, 0x1p-5f, where);
                              if (b.l[r] == 0.0f) return;
                              for (int64_t d = 0; d < hd; ++d) {
                                  const size_t i =
                                      r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                                  EXPECT_NEAR(a.o[i] / a.l[r], b.o[i] / b.l[r], 0x1p-5f * max_v)
                                      << where << " d " << d;
                              }
                          });
}

// ---- BF16-product spans (OpsTable::attend_span_bf16) ----------------------

// One span: n_tiles F16 tiles of random keys and values from position kPos0,
// rows whose ranges mostly cover it and sometimes start or end inside it (or
// miss it), and an earlier state, as a span in the middle of a range has.
struct Bf16Span {
    static constexpr int64_t kPos0 = 48;
    int64_t rows, hd, n_tiles;
    std::vector<float> q;
    std::vector<uint16_t> qb, kt16, v16;
    std::vector<float> kt, v;  // the F16 values as F32
    std::vector<const uint16_t*> kts, vs;
    std::vector<int32_t> first, last;
    std::vector<float> m, l, o;
    float max_v = 0.0f;

    Bf16Span(int64_t rows_, int64_t hd_, int64_t n_tiles_)
        : rows(rows_), hd(hd_), n_tiles(n_tiles_) {
        const auto n = static_cast<size_t>(rows);
        const auto tile = static_cast<size_t>(16 * hd);
        const auto seed = static_cast<uint32_t>(hd * 10000 + rows * 100 + n_tiles);
        q = normal_floats(n * static_cast<size_t>(hd), seed);
        qb.resize(q.size());
        for (size_t i = 0; i < q.size(); ++i) qb[i] = fp32_to_bf16(q[i]);
        const std::vector<float> kf = normal_floats(tile * static_cast<size_t>(n_tiles), seed + 1);
        const std::vector<float> vf = normal_floats(kf.size(), seed + 2);
        kt16.resize(kf.size());
        v16.resize(kf.size());
        kt.resize(kf.size());
        v.resize(kf.size());
        for (size_t i = 0; i < kf.size(); ++i) {
            kt16[i] = fp32_to_fp16(kf[i]);
            v16[i] = fp32_to_fp16(vf[i]);
            kt[i] = fp16_to_fp32(kt16[i]);
            v[i] = fp16_to_fp32(v16[i]);
            max_v = std::max(max_v, std::abs(v[i]));
        }
        for (int64_t t = 0; t < n_tiles; ++t) {
            kts.push_back(kt16.data() + static_cast<size_t>(t) * tile);
            vs.push_back(v16.data() + static_cast<size_t>(t) * tile);
        }
        const int64_t end = kPos0 + 16 * n_tiles;
        std::mt19937 rng(seed);
        for (size_t r = 0; r < n; ++r) {
            first.push_back(static_cast<int32_t>(
                rng() % 4 == 0 ? kPos0 + static_cast<int64_t>(rng() % (end - kPos0)) : 0));
            last.push_back(static_cast<int32_t>(
                rng() % 4 == 0 ? kPos0 + static_cast<int64_t>(rng() % (end - kPos0 + 2)) - 1
                               : 1 << 30));
        }
        m.assign(n, 0.5f);
        l.assign(n, 3.0f);
        o = normal_floats(n * static_cast<size_t>(hd), seed + 3);
    }

    AttendBlock block() {
        return {q.data(),    rows,   hd,       nullptr,  nullptr,  kPos0,    first.data(),
                last.data(), 0.125f, m.data(), l.data(), o.data(), qb.data()};
    }
};

std::string where(const Bf16Span& s, size_t r) {
    return "hd " + std::to_string(s.hd) + " rows " + std::to_string(s.rows) + " tiles " +
           std::to_string(s.n_tiles) + " row " + std::to_string(r);
}

// Against its scalar reference, which rounds the same values the same way:
// the bounds of Simd.AttendBlockBf16MatchesItsReference (a probability whose
// SIMD exp, within 2^-18 of expf's, lies across a BF16 rounding boundary from
// it rounds to the neighbouring BF16 value, one part in 256, so l and o allow
// one such step per softmax step).
TEST(AttendSpanBf16, MatchesItsReference) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    EXPECT_EQ(table_for(Isa::Avx512)->ops.attend_span_bf16 != nullptr,
              cpu_features().bf16_products_fast);
    const AttendSpanFn span = avx512::attend_span_bf16_entry();
    for_each_span([&](int64_t hd, int64_t rows, int64_t n_tiles) {
        Bf16Span got(rows, hd, n_tiles), want(rows, hd, n_tiles);
        span(got.block(), got.kts.data(), got.vs.data(), n_tiles);
        ref::attend_span_bf16(want.block(), want.kts.data(), want.vs.data(), n_tiles);
        const float steps = static_cast<float>((n_tiles + kBf16StepTiles - 1) / kBf16StepTiles);
        for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
            EXPECT_NEAR(got.m[r], want.m[r], 1e-5f * (1.0f + std::abs(want.m[r]))) << where(got, r);
            EXPECT_NEAR(got.l[r], want.l[r], 1e-5f * (1.0f + want.l[r]) + steps * 0x1p-7f)
                << where(got, r);
            for (int64_t d = 0; d < hd; ++d) {
                const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                EXPECT_NEAR(got.o[i], want.o[i],
                            1e-5f * (1.0f + 4.0f * want.l[r]) + steps * 0x1p-7f * got.max_v)
                    << where(got, r) << " d " << d;
            }
        }
    });
}

// Against F32 products tile by tile (the reference table's attend_block on
// the same F16 values): the outputs o / l stay within the error BF16 inputs
// bring, about 2^-8 of the values' size, so a wrong step, mask or rescale,
// common to kernel and reference, would show here.
TEST(AttendSpanBf16, StaysNearF32Products) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    const AttendSpanFn span = avx512::attend_span_bf16_entry();
    const KernelTable& ref = *table_for(Isa::Ref);
    for_each_span([&](int64_t hd, int64_t rows, int64_t n_tiles) {
        Bf16Span got(rows, hd, n_tiles), want(rows, hd, n_tiles);
        span(got.block(), got.kts.data(), got.vs.data(), n_tiles);
        const auto tile = static_cast<size_t>(16 * hd);
        for (int64_t t = 0; t < n_tiles; ++t) {
            AttendBlock b = want.block();
            b.qb = nullptr;
            b.kt = want.kt.data() + static_cast<size_t>(t) * tile;
            b.v = want.v.data() + static_cast<size_t>(t) * tile;
            b.pos0 = Bf16Span::kPos0 + 16 * t;
            ref.ops.attend_block(b);
        }
        for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
            EXPECT_NEAR(got.m[r], want.m[r], 0x1p-5f * (1.0f + std::abs(want.m[r])))
                << where(got, r);
            for (int64_t d = 0; d < hd; ++d) {
                const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                EXPECT_NEAR(got.o[i] / got.l[r], want.o[i] / want.l[r], 0x1p-5f * got.max_v)
                    << where(got, r) << " d " << d;
            }
        }
    });
}

// A row's result depends on nothing but its own query and the steps it
// attends: run with the rows beside it (some masked inside the span) and
// alone, and over the span in one call or in two cut on a step edge, it
// comes out bit for bit the same. This is what keeps prefill in any chunks,
// and batched decode, equal (ops.hpp, kBf16StepTiles). And the second half
// taken from no state, as a split-KV part is, then merged, gives what the
// whole span gives but for F32 rounding: each step's BF16 values are the
// same (relative to its own maximum, not to the maximum so far).
TEST(AttendSpanBf16, ARowsStepsDependOnNothingElse) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    const std::vector<std::pair<std::string, AttendSpanFn>> forms = {
        {"reference", ref::attend_span_bf16}, {"avx512", avx512::attend_span_bf16_entry()}};
    for (const auto& [name, form] : forms) {
        for (int64_t hd : {64, 128}) {
            for (int64_t rows : {1, 3, 8, 9, 20}) {
                const Bf16Span span(rows, hd, 12);
                Bf16Span all = span, cut = span;
                form(all.block(), span.kts.data(), span.vs.data(), 12);
                form(cut.block(), span.kts.data(), span.vs.data(), 6);
                AttendBlock rest = cut.block();
                rest.pos0 += 6 * 16;
                form(rest, span.kts.data() + 6, span.vs.data() + 6, 6);
                EXPECT_EQ(cut.m, all.m) << name << " " << where(span, 0);
                EXPECT_EQ(cut.l, all.l) << name << " " << where(span, 0);
                EXPECT_EQ(cut.o, all.o) << name << " " << where(span, 0);
                Bf16Span part = span;
                std::fill(part.m.begin(), part.m.end(), -INFINITY);
                std::fill(part.l.begin(), part.l.end(), 0.0f);
                std::fill(part.o.begin(), part.o.end(), 0.0f);
                AttendBlock second = part.block();
                second.pos0 += 6 * 16;
                form(second, span.kts.data() + 6, span.vs.data() + 6, 6);
                Bf16Span first = span;
                form(first.block(), span.kts.data(), span.vs.data(), 6);
                for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
                    const float m = std::max(first.m[r], part.m[r]);
                    const float a = std::exp(first.m[r] - m);
                    const float b = part.l[r] > 0.0f ? std::exp(part.m[r] - m) : 0.0f;
                    const float l = first.l[r] * a + part.l[r] * b;
                    EXPECT_NEAR(l, all.l[r], 1e-6f * all.l[r]) << name << " " << where(span, r);
                    for (size_t d = 0; d < static_cast<size_t>(hd); ++d) {
                        const size_t i = r * static_cast<size_t>(hd) + d;
                        EXPECT_NEAR((first.o[i] * a + part.o[i] * b) / l, all.o[i] / all.l[r],
                                    1e-6f * span.max_v)
                            << name << " " << where(span, r) << " d " << d;
                    }
                }
                for (int64_t r = 0; r < rows; ++r) {
                    Bf16Span one = span;
                    form(rows_of(one.block(), r, 1), span.kts.data(), span.vs.data(), 12);
                    const auto ru = static_cast<size_t>(r);
                    EXPECT_EQ(one.m[ru], all.m[ru]) << name << " " << where(span, ru);
                    EXPECT_EQ(one.l[ru], all.l[ru]) << name << " " << where(span, ru);
                    for (size_t d = 0; d < static_cast<size_t>(hd); ++d) {
                        const size_t i = ru * static_cast<size_t>(hd) + d;
                        EXPECT_EQ(one.o[i], all.o[i]) << name << " " << where(span, ru);
                    }
                }
            }
        }
    }
}

// kernels::attend_steps_for names the CPU's form (FP16 products where it has
// them, else BF16 ones where those are fast, else none), attend_steps runs
// it bit for bit as calling it does, and attend_span_16 stays F32 with or
// without BF16 queries.
TEST(AttendSteps, TakeTheFormTheTableHolds) {
    const OpsTable& ops = active_table().ops;
    const AttendSteps steps = attend_steps_for(64);
    if (ops.attend_span_fp16 != nullptr) {
        EXPECT_EQ(steps.tiles, kFp16StepTiles);
        EXPECT_FALSE(steps.bf16);
    } else if (ops.attend_span_bf16 != nullptr) {
        EXPECT_EQ(steps.tiles, kBf16StepTiles);
        EXPECT_TRUE(steps.bf16);
    } else {
        EXPECT_EQ(steps.tiles, 0);
    }
    EXPECT_EQ(attend_steps_for(80).tiles, 0);  // head sizes the forms do not take
    for (int64_t rows : {3, 8, 9, 40}) {
        const int64_t n = 12;
        if (steps.tiles > 0) {
            Bf16Span got(rows, 64, n), want(rows, 64, n);
            for (Bf16Span* s : {&got, &want}) {  // every row attends every position
                std::fill(s->first.begin(), s->first.end(), 0);
                std::fill(s->last.begin(), s->last.end(), 1 << 30);
            }
            attend_steps(got.block(), got.kts.data(), got.vs.data(), n);
            if (steps.bf16) {
                ops.attend_span_bf16(want.block(), want.kts.data(), want.vs.data(), n);
            } else {
                for (int64_t r = 0; r < rows; r += kF16TileMaxRows) {
                    ops.attend_span_fp16(
                        rows_of(want.block(), r, std::min(kF16TileMaxRows, rows - r)),
                        want.kts.data(), want.vs.data(), n);
                }
            }
            EXPECT_EQ(got.m, want.m) << rows;
            EXPECT_EQ(got.l, want.l) << rows;
            EXPECT_EQ(got.o, want.o) << rows;
        }
        Bf16Span with(rows, 64, n), without(rows, 64, n);
        attend_span_16(TensorType::F16, with.block(), with.kts.data(), with.vs.data(), n);
        AttendBlock b = without.block();
        b.qb = nullptr;
        attend_span_16(TensorType::F16, b, without.kts.data(), without.vs.data(), n);
        EXPECT_EQ(with.m, without.m) << rows;
        EXPECT_EQ(with.l, without.l) << rows;
        EXPECT_EQ(with.o, without.o) << rows;
    }
}

}  // namespace
}  // namespace pensieve::kernels::test
