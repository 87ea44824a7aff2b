// Attention over the paged KV cache (attend_range, merge_attention) against a
// plain double-precision reference over the same F16 keys and values: causal,
// windowed, grouped-query, across block edges, on scattered blocks; and a
// range cut into parts and merged (split-KV decode) against the whole range.
//
// Tolerance: outputs are convex combinations of values in [-1, 1]. Each score
// is a float dot of head_dim ≤ 256 products (q in [-2, 2], k in [-1, 1]), off
// the exact one by at most head_dim · 2^-24 · Σ|q·k| < 1e-5 before the scale,
// and the SIMD exp is within a few ulps; a weighted mean moves by at most the
// score error times the value spread, so 2e-5 absolute bounds it with room
// and still catches a wrong position, head or window (errors of order 0.1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/fp16.hpp"
#include "model/attention.hpp"
#include "model/kv_cache.hpp"

namespace pensieve::model {
namespace {

constexpr float kTolerance = 2e-5f;
constexpr int64_t kKvHeads = 2;  // the attended head is not the first one

struct Case {
    int64_t group, head_dim, length, window;  // window 0: none
};

std::string name(const Case& c) {
    return "group " + std::to_string(c.group) + ", head_dim " + std::to_string(c.head_dim) +
           ", length " + std::to_string(c.length) + ", window " + std::to_string(c.window);
}

// A cache holding `length` random positions of sequence 0 on both layers,
// its blocks scattered among another sequence's so that the table matters.
struct Filled {
    KvCache kv;
    std::vector<float> q;  // [group][head_dim] of the last position's token

    Filled(const Case& c, std::mt19937& rng)
        : kv({2, kKvHeads * c.head_dim, 2 * (c.length / 16 + 1) + 2, 16}) {
        std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
        for (int64_t p = 0; p < c.length; p += 16) {
            EXPECT_TRUE(kv.reserve(0, std::min(c.length, p + 16)));
            EXPECT_TRUE(kv.reserve(1, p + 16));
        }
        const auto& table = kv.block_table(0);
        for (int64_t layer = 0; layer < 2; ++layer) {
            for (int64_t p = 0; p < c.length; ++p) {
                const int32_t block = table[static_cast<size_t>(p / 16)];
                for (int64_t i = 0; i < kKvHeads * c.head_dim; ++i) {
                    kv.key(layer, block, p % 16)[i] = kernels::fp32_to_fp16(unit(rng));
                    kv.value(layer, block, p % 16)[i] = kernels::fp32_to_fp16(unit(rng));
                }
            }
        }
        q.resize(static_cast<size_t>(c.group * c.head_dim));
        for (float& x : q) x = 2.0f * unit(rng);
    }
};

// softmax(scale · q_h·k_p) over p in [first, last], weighting v_p; doubles.
std::vector<float> reference(Filled& f, const Case& c, const AttentionHead& a, int64_t first,
                             int64_t last) {
    const auto& table = f.kv.block_table(0);
    auto row = [&](bool key, int64_t p) {
        const int32_t block = table[static_cast<size_t>(p / 16)];
        const uint16_t* r =
            key ? f.kv.key(a.layer, block, p % 16) : f.kv.value(a.layer, block, p % 16);
        return r + a.kv_head * c.head_dim;
    };
    std::vector<float> out(f.q.size());
    for (int64_t h = 0; h < c.group; ++h) {
        std::vector<double> s;
        for (int64_t p = first; p <= last; ++p) {
            double d = 0;
            for (int64_t i = 0; i < c.head_dim; ++i) {
                d += static_cast<double>(f.q[static_cast<size_t>(h * c.head_dim + i)]) *
                     static_cast<double>(kernels::fp16_to_fp32(row(true, p)[i]));
            }
            s.push_back(d * static_cast<double>(a.scale));
        }
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - m));
        for (int64_t i = 0; i < c.head_dim; ++i) {
            double acc = 0;
            for (int64_t p = first; p <= last; ++p) {
                acc += s[static_cast<size_t>(p - first)] *
                       static_cast<double>(kernels::fp16_to_fp32(row(false, p)[i]));
            }
            out[static_cast<size_t>(h * c.head_dim + i)] = static_cast<float>(acc / sum);
        }
    }
    return out;
}

std::vector<Case> cases() {
    std::vector<Case> out;
    for (int64_t group : {1, 3, 4, 8}) {
        for (int64_t hd : {64, 128, 256}) {
            for (int64_t length : {1, 15, 16, 17, 100, 1037}) {
                out.push_back({group, hd, length, 0});
                if (length > 20) out.push_back({group, hd, length, 19});
            }
        }
    }
    return out;
}

// The token at the last position, on layer 1, attending to KV head 1.
AttentionHead head_of(const Case& c) {
    return {1, 1, c.head_dim, c.group, 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
}

int64_t first_of(const Case& c) {
    return c.window > 0 ? std::max<int64_t>(0, c.length - c.window) : 0;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol,
                 const std::string& what) {
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    EXPECT_LE(worst, tol) << what;
}

TEST(Attention, MatchesTheReferenceOverCachedPositions) {
    std::mt19937 rng(7);
    for (const Case& c : cases()) {
        Filled f(c, rng);
        const AttentionHead a = head_of(c);
        const int64_t first = first_of(c), last = c.length - 1;
        std::vector<float> scores(static_cast<size_t>(c.group * c.length));
        std::vector<float> out(f.q.size()), lse(static_cast<size_t>(c.group));
        attend_range(f.kv, f.kv.block_table(0), a, f.q.data(), first, last, scores.data(), c.length,
                     out.data(), nullptr);
        const std::vector<float> want = reference(f, c, a, first, last);
        expect_near(out, want, kTolerance, name(c));
        // Asking for the log-normaliser changes nothing else.
        std::vector<float> out2(f.q.size());
        attend_range(f.kv, f.kv.block_table(0), a, f.q.data(), first, last, scores.data(), c.length,
                     out2.data(), lse.data());
        EXPECT_EQ(out, out2) << name(c);
    }
}

TEST(Attention, RangesCutIntoPartsMergeToTheWholeRange) {
    std::mt19937 rng(11);
    for (const Case& c : cases()) {
        const int64_t first = first_of(c), last = c.length - 1;
        if (last - first < 1) continue;
        Filled f(c, rng);
        AttentionHead a = head_of(c);
        // The merge must not rely on the scale's sign (odd lengths flip it).
        if (c.length % 2 == 1) a.scale = -a.scale;
        std::vector<float> scores(static_cast<size_t>(c.group * c.length));
        std::vector<float> whole(f.q.size());
        attend_range(f.kv, f.kv.block_table(0), a, f.q.data(), first, last, scores.data(), c.length,
                     whole.data(), nullptr);
        // Random cut points, one-position parts included.
        for (int trial = 0; trial < 3; ++trial) {
            std::vector<int64_t> cuts = {first, last + 1};
            const int64_t n_cuts = 1 + static_cast<int64_t>(rng() % 5);
            for (int64_t i = 0; i < n_cuts; ++i) {
                cuts.push_back(first + 1 +
                               static_cast<int64_t>(rng() % static_cast<uint32_t>(last - first)));
            }
            if (trial == 0) cuts.push_back(last);  // a last part of one position
            std::sort(cuts.begin(), cuts.end());
            cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
            const auto parts = static_cast<int64_t>(cuts.size()) - 1;
            std::vector<float> outs(static_cast<size_t>(parts) * f.q.size());
            std::vector<float> lse(static_cast<size_t>(parts * c.group));
            for (int64_t p = 0; p < parts; ++p) {
                attend_range(f.kv, f.kv.block_table(0), a, f.q.data(), cuts[static_cast<size_t>(p)],
                             cuts[static_cast<size_t>(p + 1)] - 1, scores.data(), c.length,
                             &outs[static_cast<size_t>(p) * f.q.size()],
                             &lse[static_cast<size_t>(p * c.group)]);
            }
            std::vector<float> merged(f.q.size());
            merge_attention(outs.data(), lse.data(), parts, c.group, c.head_dim, merged.data());
            expect_near(merged, whole, kTolerance,
                        name(c) + ", " + std::to_string(parts) + " parts");
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
