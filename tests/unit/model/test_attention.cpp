// Attention over the paged KV cache (attend, merge_attention) against a plain
// double-precision reference over the same keys and values: runs of query
// tokens (prefill chunks) and lone tokens (decode), causal and windowed,
// grouped-query, across block edges, on scattered blocks, with every KV type;
// a run attended in chunks against the run at once; and a range cut into
// parts and merged (split-KV decode) against the whole range.
//
// The reference rounds keys and values as each type stores them, through the
// scalar conversions and the reference Q8_0 quantizer (bit-exact with
// gguf.quants), not through the tile code under test.
//
// Tolerance: outputs are convex combinations of values in [-1, 1]. Each score
// is a float dot of head_dim ≤ 256 products (q in [-2, 2], k in [-1, 1]), off
// the exact one by at most head_dim · 2^-24 · Σ|q·k| < 1e-5 before the scale,
// and the SIMD exp is within a few ulps; a weighted mean moves by at most the
// score error times the value spread, so 2e-5 absolute bounds it with room
// and still catches a wrong position, head, mask or window (errors ~0.1).
// With 16-bit products allowed, BF16 ones (runs of 8 rows or more, on CPUs
// where they are fast) round q, k, v and the probabilities by up to 2^-9
// relative, and FP16 ones (whole steps of an F16 cache, on CPUs with
// AVX512-FP16) sum scores and p · V in FP16: the outputs moved by up to
// 0.004 over these cases, so 1e-2, an order below those errors. FP16 steps
// do not depend on the chunking, so chunks agree with the run at once as
// closely as F32 ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.hpp"
#include "kernels/fp16.hpp"
#include "kernels/kv_tile.hpp"
#include "model/attention.hpp"
#include "model/kv_cache.hpp"

namespace pensieve::model {
namespace {

using gguf::TensorType;

constexpr float kTolerance = 2e-5f;
constexpr float kToleranceBf16 = 1e-2f;
constexpr int64_t kKvHeads = 2;  // the attended head is not the first one
constexpr int64_t kLayer = 1;    // nor the first layer

struct Case {
    TensorType type;
    int64_t group, head_dim, pos0, n_tokens, window;  // window 0: none
};

std::string name(const Case& c) {
    return std::string(c.type == TensorType::F16    ? "F16"
                       : c.type == TensorType::BF16 ? "BF16"
                                                    : "Q8_0") +
           ", group " + std::to_string(c.group) + ", head_dim " + std::to_string(c.head_dim) +
           ", tokens " + std::to_string(c.pos0) + "+" + std::to_string(c.n_tokens) + ", window " +
           std::to_string(c.window);
}

// A row as the cache of `type` gives it back.
std::vector<float> rounded(TensorType type, const std::vector<float>& x) {
    std::vector<float> out(x.size());
    if (type == TensorType::Q8_0) {
        const kernels::TypeTraits& t =
            kernels::table_for(kernels::Isa::Ref)->types[static_cast<size_t>(TensorType::Q8_0)];
        std::vector<uint8_t> q(kernels::row_bytes(t, static_cast<int64_t>(x.size())));
        t.quantize_row(x.data(), q.data(), static_cast<int64_t>(x.size()));
        t.dequantize_row(q.data(), out.data(), static_cast<int64_t>(x.size()));
        return out;
    }
    for (size_t i = 0; i < x.size(); ++i) {
        out[i] = type == TensorType::F16 ? kernels::fp16_to_fp32(kernels::fp32_to_fp16(x[i]))
                                         : kernels::bf16_to_fp32(kernels::fp32_to_bf16(x[i]));
    }
    return out;
}

// A cache holding positions [0, pos0 + n_tokens) of sequence 0 on two layers,
// its blocks scattered among another sequence's so that the table matters;
// keys and values as the reference sees them; the run's queries.
struct Filled {
    KvCache kv;
    std::vector<std::vector<float>> keys, values;  // [position][head_dim] of the attended head
    std::vector<float> q;                          // [token][group][head_dim]

    Filled(const Case& c, std::mt19937& rng)
        : kv({2, kKvHeads, c.head_dim, 2 * ((c.pos0 + c.n_tokens) / 16 + 1) + 2, c.type}) {
        std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
        const int64_t length = c.pos0 + c.n_tokens;
        for (int64_t p = 0; p < length; p += 16) {
            EXPECT_TRUE(kv.reserve(0, std::min(length, p + 16)));
            EXPECT_TRUE(kv.reserve(1, p + 16));
        }
        const auto& table = kv.block_table(0);
        std::vector<float> k(static_cast<size_t>(c.head_dim)), v(k.size());
        for (int64_t layer = 0; layer < 2; ++layer) {
            for (int64_t p = 0; p < length; ++p) {
                const int32_t block = table[static_cast<size_t>(p / 16)];
                for (int64_t h = 0; h < kKvHeads; ++h) {
                    for (size_t i = 0; i < k.size(); ++i) {
                        k[i] = unit(rng);
                        v[i] = unit(rng);
                    }
                    kernels::store_key(c.type, k.data(), c.head_dim, kv.key_tile(layer, block, h),
                                       p % 16);
                    kernels::store_value(c.type, v.data(), c.head_dim,
                                         kv.value_tile(layer, block, h), p % 16);
                    if (layer == kLayer && h == 1) {
                        keys.push_back(rounded(c.type, k));
                        values.push_back(rounded(c.type, v));
                    }
                }
            }
        }
        q.resize(static_cast<size_t>(c.n_tokens * c.group * c.head_dim));
        for (float& x : q) x = 2.0f * unit(rng);
    }
};

AttentionHead head_of(const Case& c, bool bf16) {
    return {kLayer, 1, c.head_dim, c.group, 1.0f / std::sqrt(static_cast<float>(c.head_dim)), bf16};
}

// F32 products, and 16-bit ones (the same as F32 on a CPU without fast ones).
std::string mode(bool bf16) {
    return bf16 ? " (16-bit products allowed)" : "";
}
float tolerance(bool bf16) {
    return bf16 ? kToleranceBf16 : kTolerance;
}

AttentionQueries queries_of(const Case& c, const Filled& f) {
    return {f.q.data(), c.group * c.head_dim, c.n_tokens, c.pos0, c.window};
}

// softmax(scale · q·k_p) over p in token i's range ∩ [lo, hi], weighting v_p; doubles.
std::vector<float> reference(const Filled& f, const Case& c, const AttentionHead& a, int64_t lo = 0,
                             int64_t hi = 1 << 30) {
    std::vector<float> out(f.q.size());
    for (int64_t i = 0; i < c.n_tokens; ++i) {
        const int64_t pos = c.pos0 + i;
        const int64_t first =
            std::max(lo, c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0);
        const int64_t last = std::min(hi, pos);
        for (int64_t g = 0; g < c.group; ++g) {
            const float* q = &f.q[static_cast<size_t>((i * c.group + g) * c.head_dim)];
            std::vector<double> s;
            for (int64_t p = first; p <= last; ++p) {
                double d = 0;
                for (int64_t e = 0; e < c.head_dim; ++e)
                    d +=
                        static_cast<double>(q[e]) *
                        static_cast<double>(f.keys[static_cast<size_t>(p)][static_cast<size_t>(e)]);
                s.push_back(d * static_cast<double>(a.scale));
            }
            const double m = *std::max_element(s.begin(), s.end());
            double sum = 0;
            for (double& x : s) sum += (x = std::exp(x - m));
            for (int64_t e = 0; e < c.head_dim; ++e) {
                double acc = 0;
                for (int64_t p = first; p <= last; ++p) {
                    acc += s[static_cast<size_t>(p - first)] *
                           static_cast<double>(
                               f.values[static_cast<size_t>(p)][static_cast<size_t>(e)]);
                }
                out[static_cast<size_t>((i * c.group + g) * c.head_dim + e)] =
                    static_cast<float>(acc / sum);
            }
        }
    }
    return out;
}

std::vector<Case> cases() {
    std::vector<Case> out;
    for (TensorType type : {TensorType::F16, TensorType::BF16, TensorType::Q8_0}) {
        for (int64_t group : {1, 3, 4, 8}) {
            for (int64_t hd : {64, 128, 256}) {
                // Lone tokens (decode) at lengths across block edges, and runs
                // (prefill chunks) starting at and off block edges.
                for (auto [pos0, n] : {std::pair<int64_t, int64_t>{0, 1},
                                       {14, 1},
                                       {15, 1},
                                       {16, 1},
                                       {99, 1},
                                       {1036, 1},
                                       {0, 32},
                                       {5, 17},
                                       {16, 16},
                                       {90, 12},
                                       {600, 32}}) {
                    out.push_back({type, group, hd, pos0, n, 0});
                    if (pos0 + n > 20) out.push_back({type, group, hd, pos0, n, 19});
                }
            }
        }
    }
    return out;
}

float worst(const std::vector<float>& got, const std::vector<float>& want) {
    float w = 0;
    for (size_t i = 0; i < got.size(); ++i) w = std::max(w, std::abs(got[i] - want[i]));
    return w;
}

TEST(Attention, MatchesTheReferenceOverCachedPositions) {
    std::mt19937 rng(7);
    AttentionScratch scratch;
    for (const Case& c : cases()) {
        for (bool bf16 : {false, true}) {
            Filled f(c, rng);
            const AttentionHead a = head_of(c, bf16);
            std::vector<float> out(f.q.size()), lse(static_cast<size_t>(c.n_tokens * c.group));
            attend(f.kv, f.kv.block_table(0), a, queries_of(c, f), scratch, out.data(),
                   c.group * c.head_dim, nullptr);
            EXPECT_LE(worst(out, reference(f, c, a)), tolerance(bf16)) << name(c) << mode(bf16);
            // Asking for the log-normaliser changes nothing else.
            std::vector<float> out2(f.q.size());
            attend(f.kv, f.kv.block_table(0), a, queries_of(c, f), scratch, out2.data(),
                   c.group * c.head_dim, lse.data());
            EXPECT_EQ(out, out2) << name(c) << mode(bf16);
        }
    }
}

TEST(Attention, ARunAttendedInChunksEqualsTheRunAtOnce) {
    std::mt19937 rng(5);
    AttentionScratch scratch;
    for (const Case& c : cases()) {
        for (bool bf16 : {false, true}) {
            if (c.n_tokens < 8) continue;
            Filled f(c, rng);
            const AttentionHead a = head_of(c, bf16);
            const int64_t stride = c.group * c.head_dim;
            std::vector<float> whole(f.q.size()), chunked(f.q.size());
            attend(f.kv, f.kv.block_table(0), a, queries_of(c, f), scratch, whole.data(), stride,
                   nullptr);
            // BF16 steps take runs of more than kF16TileMaxRows rows (fewer
            // stay F32), so their chunks are that long, the last one too.
            const kernels::AttendSteps form = kernels::attend_steps_for(c.head_dim);
            const bool stepped = bf16 && c.type == TensorType::F16 && form.tiles > 0;
            const int64_t least = stepped && form.bf16 ? kernels::kF16TileMaxRows / c.group + 1 : 1;
            for (int64_t t = 0; t < c.n_tokens;) {
                int64_t n =
                    std::min<int64_t>(least + static_cast<int64_t>(rng() % 7), c.n_tokens - t);
                if (c.n_tokens - t - n < least) n = c.n_tokens - t;
                AttentionQueries q = queries_of(c, f);
                q.q += t * stride;
                q.n_tokens = n;
                q.pos0 += t;
                attend(f.kv, f.kv.block_table(0), a, q, scratch,
                       &chunked[static_cast<size_t>(t * stride)], stride, nullptr);
                t += n;
            }
            // The same rows against the same blocks; only how rows are grouped
            // in registers differs (and, below a full group, which vector width
            // runs them), which moves the float rounding and nothing else.
            // Steps of 16-bit products are the same steps in any chunking: F32
            // noise only.
            EXPECT_LE(worst(whole, chunked), stepped ? kTolerance : tolerance(bf16))
                << name(c) << mode(bf16);
        }
    }
}

TEST(Attention, RangesCutIntoPartsMergeToTheWholeRange) {
    std::mt19937 rng(11);
    AttentionScratch scratch;
    for (Case c : cases()) {
        for (bool bf16 : {false, true}) {
            if (c.n_tokens != 1) continue;
            const int64_t last = c.pos0;
            const int64_t first = c.window > 0 ? std::max<int64_t>(0, last - c.window + 1) : 0;
            if (last - first < 1) continue;
            Filled f(c, rng);
            AttentionHead a = head_of(c, bf16);
            // The merge must not rely on the scale's sign.
            if (c.pos0 % 2 == 1) a.scale = -a.scale;
            std::vector<float> whole(f.q.size());
            const int64_t stride = c.group * c.head_dim;
            attend(f.kv, f.kv.block_table(0), a, queries_of(c, f), scratch, whole.data(), stride,
                   nullptr);
            // Random cut points, one-position parts included, and a part that
            // lies wholly before the window (it attends nothing).
            for (int trial = 0; trial < 3; ++trial) {
                std::vector<int64_t> cuts = {first, last + 1};
                const int64_t n_cuts = 1 + static_cast<int64_t>(rng() % 5);
                for (int64_t i = 0; i < n_cuts; ++i) {
                    cuts.push_back(
                        first + 1 +
                        static_cast<int64_t>(rng() % static_cast<uint32_t>(last - first)));
                }
                if (trial == 0) cuts.push_back(last);  // a last part of one position
                std::sort(cuts.begin(), cuts.end());
                cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
                if (trial == 1 && first > 0) cuts.insert(cuts.begin(), 0);
                const auto parts = static_cast<int64_t>(cuts.size()) - 1;
                std::vector<float> outs(static_cast<size_t>(parts) * f.q.size());
                std::vector<float> lse(static_cast<size_t>(parts * c.group));
                for (int64_t p = 0; p < parts; ++p) {
                    AttentionQueries q = queries_of(c, f);
                    q.lo = cuts[static_cast<size_t>(p)];
                    q.hi = cuts[static_cast<size_t>(p + 1)] - 1;
                    attend(f.kv, f.kv.block_table(0), a, q, scratch,
                           &outs[static_cast<size_t>(p) * f.q.size()], stride,
                           &lse[static_cast<size_t>(p * c.group)]);
                }
                std::vector<float> merged(f.q.size());
                merge_attention(outs.data(), lse.data(), parts, c.group, c.head_dim, merged.data());
                EXPECT_LE(worst(merged, whole), tolerance(bf16))
                    << name(c) << ", " << parts << " parts" << mode(bf16);
            }
        }
    }
}

TEST(Attention, ADominantPartOutweighsTheOthers) {
    // Scores far apart (a part whose lse is 80 above another's) must merge
    // without overflow: the small part's weight underflows to 0.
    const int64_t hd = 4;
    const std::vector<float> outs = {1, 2, 3, 4, -1, -2, -3, -4};
    const std::vector<float> lse = {100.0f, 20.0f};
    std::vector<float> out(4);
    merge_attention(outs.data(), lse.data(), 2, 1, hd, out.data());
    EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace pensieve::model
