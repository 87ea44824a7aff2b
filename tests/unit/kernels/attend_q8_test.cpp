// The attention kernels over Q8_0 KV tiles against their scalar references:
// the integer span form (decode) and the BF16 steps (prefill at depth), the
// latter over BF16 tiles too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

// A span of Q8_0 tiles, or of another KV type's (kv_tile.hpp's layouts,
// written by store_key and store_value): n_tiles tiles of random keys and
// values, rows whose ranges start or end inside the span or miss it, and an
// earlier state.
struct TileSpan {
    TensorType type;
    int64_t rows, hd, n_tiles;
    std::vector<float> q;
    std::vector<uint16_t> qb;  // q in BF16, for the BF16 steps
    std::vector<std::vector<uint8_t>> k, v;
    std::vector<const void*> kts, vs;
    std::vector<int32_t> first, last;
    AttendState state;
    TileSpan(int64_t rows_, int64_t hd_, int64_t n_tiles_, int64_t pos0,
             TensorType type_ = TensorType::Q8_0)
        : type(type_), rows(rows_), hd(hd_), n_tiles(n_tiles_) {
        const auto n = static_cast<size_t>(rows);
        q = normal_floats(n * static_cast<size_t>(hd), 15);
        for (float x : q) qb.push_back(fp32_to_bf16(x));
        const size_t bytes = kv_tile_bytes(type, hd);
        for (int64_t t = 0; t < n_tiles; ++t) {
            k.emplace_back(bytes);
            v.emplace_back(bytes);
            const std::vector<float> kf =
                normal_floats(static_cast<size_t>(16 * hd), 16 + static_cast<uint32_t>(t));
            const std::vector<float> vf =
                normal_floats(static_cast<size_t>(16 * hd), 40 + static_cast<uint32_t>(t));
            for (int64_t j = 0; j < 16; ++j) {
                store_key(type, kf.data() + j * hd, hd, k.back().data(), j);
                store_value(type, vf.data() + j * hd, hd, v.back().data(), j);
            }
        }
        for (int64_t t = 0; t < n_tiles; ++t) {
            kts.push_back(k[static_cast<size_t>(t)].data());
            vs.push_back(v[static_cast<size_t>(t)].data());
        }
        const int64_t end = pos0 + 16 * n_tiles;
        std::mt19937 rng(static_cast<uint32_t>(hd * 1000 + rows * 10 + n_tiles));
        first.resize(n);
        last.resize(n);
        for (size_t r = 0; r < n; ++r) {
            first[r] = static_cast<int32_t>(
                rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % (end - pos0)) : 0);
            last[r] = static_cast<int32_t>(
                rng() % 3 == 0 ? pos0 + static_cast<int64_t>(rng() % (end - pos0 + 2)) - 1
                               : 100000);
        }
        state = {std::vector<float>(n, 0.5f), std::vector<float>(n, 3.0f),
                 normal_floats(n * static_cast<size_t>(hd), 8)};
    }
    AttendBlock block(int64_t pos0) {
        return {q.data(),       rows,           hd,
                nullptr,        nullptr,        pos0,
                first.data(),   last.data(),    1.0f / std::sqrt(static_cast<float>(hd)),
                state.m.data(), state.l.data(), state.o.data(),
                qb.data()};
    }
};

// The integer form of the Q8_0 spans (AVX-512) against its reference, which
// takes the same softmax steps (q8_span_tiles): every head size the KV type
// takes up to the largest, 1..8 rows (every register grouping) and spans
// longer and shorter than the steps.
TEST(AttendSpanQ8, MatchesItsReference) {
    IsaGuard guard;
    bool any = false;
    for (Isa isa : simd_isas()) {
        const auto span = table_for(isa)->ops.attend_span_q8;
        if (span == nullptr) continue;
        any = true;
        ASSERT_TRUE(set_active_isa(isa));
        for (int64_t hd : {32, 64, 96, 128, 256, 512}) {
            for (int64_t rows = 1; rows <= kF16TileMaxRows; ++rows) {
                for (int64_t n_tiles : {1, 2, 3, 4, 5, 7, 9}) {
                    const int64_t pos0 = 48;
                    TileSpan got(rows, hd, n_tiles, pos0), want(rows, hd, n_tiles, pos0);
                    span(got.block(pos0), got.kts.data(), got.vs.data(), n_tiles);
                    ref::attend_span_q8(want.block(pos0), want.kts.data(), want.vs.data(), n_tiles);
                    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
                        expect_attend_near(
                            got.state, want.state, r, hd,
                            std::string(isa_name(isa)) + " hd " + std::to_string(hd) + " rows " +
                                std::to_string(rows) + " tiles " + std::to_string(n_tiles) +
                                " row " + std::to_string(r));
                    }
                }
            }
        }
    }
    if (!any) GTEST_SKIP() << "no kernel table of this CPU has the Q8_0 span form";
}

// The reference itself against F32 attention over the same tiles loaded as
// F32 (load_keys / load_values): only the query's Q8_0 rounding and the
// probabilities' int16 one differ, so the outputs stay within a few tenths of
// a percent of the values' scale.
TEST(AttendSpanQ8, ReferenceStaysNearF32OverTheSameTiles) {
    const KernelTable& ref = *table_for(Isa::Ref);
    for (int64_t hd : {64, 256}) {
        const int64_t rows = 3, n_tiles = 5, pos0 = 0;
        TileSpan got(rows, hd, n_tiles, pos0), want(rows, hd, n_tiles, pos0);
        ref::attend_span_q8(got.block(pos0), got.kts.data(), got.vs.data(), n_tiles);
        std::vector<float> kt(static_cast<size_t>(16 * hd)), v(kt.size());
        for (int64_t t = 0; t < n_tiles; ++t) {
            load_keys(TensorType::Q8_0, want.kts[static_cast<size_t>(t)], hd, 16, kt.data());
            load_values(TensorType::Q8_0, want.vs[static_cast<size_t>(t)], hd, 16, v.data());
            AttendBlock b = want.block(pos0 + 16 * t);
            b.kt = kt.data();
            b.v = v.data();
            ref.ops.attend_block(b);
        }
        for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
            const std::string where = "hd " + std::to_string(hd) + " row " + std::to_string(r);
            if (want.state.l[r] == 3.0f) continue;  // attended nothing here
            EXPECT_NEAR(got.state.m[r], want.state.m[r], 0.02f * (1.0f + std::abs(want.state.m[r])))
                << where;
            for (int64_t d = 0; d < hd; ++d) {
                const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                EXPECT_NEAR(got.state.o[i] / got.state.l[r], want.state.o[i] / want.state.l[r],
                            0.02f)
                    << where << " d " << d;
            }
        }
    }
}

// The BF16 steps over Q8_0 and BF16 tiles (prefill's runs of many rows at
// depth) against their reference, which loads the same tiles as F32 and
// rounds as the F16 steps do: AttendSpanBf16.MatchesItsReference's bounds,
// on spans of many rows.
TEST(AttendSpanBf16, OverQ8AndBf16TilesMatchesItsReference) {
    if (!cpu_features().avx512bf16) GTEST_SKIP() << "this CPU has no BF16 products";
    EXPECT_EQ(table_for(Isa::Avx512)->ops.attend_span_bf16_typed != nullptr,
              cpu_features().bf16_products_fast);
    const AttendSpanTypedFn span = avx512::attend_span_bf16_typed_entry();
    IsaGuard guard;
    ASSERT_TRUE(set_active_isa(Isa::Avx512));  // the tiles' loaders
    for (TensorType type : {TensorType::Q8_0, TensorType::BF16}) {
        for_each_span([&](int64_t hd, int64_t rows, int64_t n_tiles) {
            TileSpan got(rows, hd, n_tiles, 48, type), want(rows, hd, n_tiles, 48, type);
            span(got.block(48), type, got.kts.data(), got.vs.data(), n_tiles);
            ref::attend_span_bf16_typed(want.block(48), type, want.kts.data(), want.vs.data(),
                                        n_tiles);
            float max_v = 0.0f;
            std::vector<float> v(static_cast<size_t>(16 * hd));
            for (const void* tile : want.vs) {
                load_values(type, tile, hd, 16, v.data());
                for (float x : v) max_v = std::max(max_v, std::abs(x));
            }
            const float steps = static_cast<float>((n_tiles + kBf16StepTiles - 1) / kBf16StepTiles);
            for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
                const std::string at = std::string(gguf::type_info(type).name) + " hd " +
                                       std::to_string(hd) + " rows " + std::to_string(rows) +
                                       " tiles " + std::to_string(n_tiles) + " row " +
                                       std::to_string(r);
                const AttendState& g = got.state;
                const AttendState& w = want.state;
                EXPECT_NEAR(g.m[r], w.m[r], 1e-5f * (1.0f + std::abs(w.m[r]))) << at;
                EXPECT_NEAR(g.l[r], w.l[r], 1e-5f * (1.0f + w.l[r]) + steps * 0x1p-7f) << at;
                for (int64_t d = 0; d < hd; ++d) {
                    const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
                    EXPECT_NEAR(g.o[i], w.o[i],
                                1e-5f * (1.0f + 4.0f * w.l[r]) + steps * 0x1p-7f * max_v)
                        << at << " d " << d;
                }
            }
        });
    }
}

}  // namespace
}  // namespace pensieve::kernels::test
