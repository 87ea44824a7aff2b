// The BF16-product span of whole F16 tiles (OpsTable::attend_span_bf16,
// prefill's runs of many rows at depth) against its scalar reference
// ref::attend_span_bf16, and against F32 products tile by tile.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "kernels/fp16.hpp"
#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/ref/ref.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "test_util.hpp"

namespace pensieve::kernels::test {
namespace {

// One span: n_tiles F16 tiles of random keys and values from position kPos0,
// rows whose ranges mostly cover it and sometimes start or end inside it (or
// miss it), and an earlier state, as a span in the middle of a range has.
struct Span {
    static constexpr int64_t kPos0 = 48;
    int64_t rows, hd, n_tiles;
    std::vector<float> q;
    std::vector<uint16_t> qb, kt16, v16;
    std::vector<float> kt, v;  // the F16 values as F32
    std::vector<const uint16_t*> kts, vs;
    std::vector<int32_t> first, last;
    std::vector<float> m, l, o;
    float max_v = 0.0f;

    Span(int64_t rows_, int64_t hd_, int64_t n_tiles_) : rows(rows_), hd(hd_), n_tiles(n_tiles_) {
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

std::string where(const Span& s, size_t r) {
    return "hd " + std::to_string(s.hd) + " rows " + std::to_string(s.rows) + " tiles " +
           std::to_string(s.n_tiles) + " row " + std::to_string(r);
}

// Head sizes the form takes, row counts around its groups of 8, spans
// shorter and longer than a step and than a chunk of the kernel's buffer
// (30 tiles at head size 64, 3 at 512).
template <typename Fn>
void for_each_span(Fn fn) {
    for (int64_t hd : {32, 64, 96, 128, 256, 512}) {
        for (int64_t rows : {1, 3, 8, 9, 16, 25, 96}) {
            for (int64_t n_tiles : {1, 2, 3, 4, 5, 7, 17, 40}) {
                if (hd * rows * n_tiles > 128 * 96 * 17) continue;  // bounded time
                fn(hd, rows, n_tiles);
            }
        }
    }
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
        Span got(rows, hd, n_tiles), want(rows, hd, n_tiles);
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
        Span got(rows, hd, n_tiles), want(rows, hd, n_tiles);
        span(got.block(), got.kts.data(), got.vs.data(), n_tiles);
        const auto tile = static_cast<size_t>(16 * hd);
        for (int64_t t = 0; t < n_tiles; ++t) {
            AttendBlock b = want.block();
            b.qb = nullptr;
            b.kt = want.kt.data() + static_cast<size_t>(t) * tile;
            b.v = want.v.data() + static_cast<size_t>(t) * tile;
            b.pos0 = Span::kPos0 + 16 * t;
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

// kernels::attend_f16_span sends runs of more than kF16TileMaxRows rows that
// carry BF16 queries to the BF16 form where the table holds it, and all
// others to the F32 spans: bit for bit the same as calling them.
TEST(AttendSpanBf16, SpansOfManyRowsTakeItWhereTheTableHoldsIt) {
    const AttendSpanFn bf16 = active_table().ops.attend_span_bf16;
    for (int64_t rows : {8, 9, 40}) {
        Span got(rows, 64, 7), want(rows, 64, 7);
        attend_f16_span(got.block(), got.kts.data(), got.vs.data(), 7);
        if (bf16 != nullptr && rows > kF16TileMaxRows) {
            bf16(want.block(), want.kts.data(), want.vs.data(), 7);
        } else {
            AttendBlock b = want.block();
            b.qb = nullptr;  // the F32 forms ignore it
            attend_f16_span(b, want.kts.data(), want.vs.data(), 7);
        }
        EXPECT_EQ(got.m, want.m) << rows;
        EXPECT_EQ(got.l, want.l) << rows;
        EXPECT_EQ(got.o, want.o) << rows;
    }
}

}  // namespace
}  // namespace pensieve::kernels::test
