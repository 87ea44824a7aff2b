// The mixture-of-experts layer: routing (softmax, top-k with ties to the
// lower expert index, renormalisation), the grouped layer against a direct
// per-token computation (all tokens on one expert, every expert used), and
// the kernels' matmul_many against one matmul per job.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/thread_pool.hpp"
#include "kernels/traits.hpp"
#include "model/moe.hpp"

namespace pensieve::model {
namespace {

using gguf::TensorType;

TEST(RouteToken, EqualLogitsGoToTheLowerExpertIndexFirst) {
    const std::vector<float> logits = {1.0f, 3.0f, 0.5f, 3.0f, 3.0f, -2.0f};
    std::vector<int32_t> ids(4);
    std::vector<float> w(4);
    route_token(logits.data(), 6, 4, /*renormalise=*/false, ids.data(), w.data());
    EXPECT_EQ(ids, (std::vector<int32_t>{1, 3, 4, 0}));
    EXPECT_FLOAT_EQ(w[0], w[1]);
    EXPECT_FLOAT_EQ(w[1], w[2]);
}

TEST(RouteToken, WeightsAreTheSoftmaxProbabilitiesOrRenormalisedToOne) {
    const std::vector<float> logits = {0.2f, -1.0f, 2.0f, 0.7f};
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l));
    std::vector<int32_t> ids(2);
    std::vector<float> w(2);
    route_token(logits.data(), 4, 2, false, ids.data(), w.data());
    EXPECT_EQ(ids, (std::vector<int32_t>{2, 3}));
    EXPECT_NEAR(w[0], std::exp(2.0) / sum, 1e-6);
    EXPECT_NEAR(w[1], std::exp(0.7) / sum, 1e-6);
    route_token(logits.data(), 4, 2, true, ids.data(), w.data());
    EXPECT_NEAR(w[0] + w[1], 1.0, 1e-6);
    EXPECT_NEAR(w[0] / w[1], std::exp(2.0 - 0.7), 1e-5);
}

TEST(RouteToken, UsingEveryExpertListsThemAllInRoutingOrder) {
    const std::vector<float> logits = {0.0f, 0.0f, 5.0f, -1.0f};
    std::vector<int32_t> ids(4);
    std::vector<float> w(4);
    route_token(logits.data(), 4, 4, true, ids.data(), w.data());
    EXPECT_EQ(ids, (std::vector<int32_t>{2, 0, 1, 3}));
    EXPECT_NEAR(w[0] + w[1] + w[2] + w[3], 1.0, 1e-6);
}

TEST(RouteToken, NanLogitsStillChooseDistinctValidExperts) {
    const float nan = std::nanf("");
    for (const std::vector<float>& logits : {std::vector<float>{nan, nan, nan, nan, nan},
                                             std::vector<float>{1.0f, nan, 2.0f, nan, 0.5f}}) {
        std::vector<int32_t> ids(4);
        std::vector<float> w(4);
        route_token(logits.data(), 5, 4, true, ids.data(), w.data());
        std::vector<int32_t> sorted = ids;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_TRUE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
        for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < 5) << id;
    }
}

// A one-layer mixture with F32 weights held in vectors.
struct TinyMoe {
    static constexpr int64_t kEmbd = 16, kFf = 8, kExperts = 4;
    HParams hp;
    std::vector<float> router, gate, up, down;
    LayerWeights w;

    explicit TinyMoe(int64_t used, bool renormalise) {
        hp.config.moe = true;
        hp.n_embd = kEmbd;
        hp.n_expert = kExperts;
        hp.n_expert_used = used;
        hp.n_ff_exp = kFf;
        hp.expert_weights_norm = renormalise;
        std::mt19937 rng(5);
        std::normal_distribution<float> d(0.0f, 0.3f);
        for (auto* v : {&gate, &up, &down}) {
            v->resize(static_cast<size_t>(kExperts * kFf * kEmbd));
            for (float& x : *v) x = d(rng);
        }
        // Expert e is scored by input element e, ten times over: a token
        // whose element e stands out goes to expert e first.
        router.assign(static_cast<size_t>(kExperts * kEmbd), 0.0f);
        for (int64_t e = 0; e < kExperts; ++e) router[static_cast<size_t>(e * kEmbd + e)] = 10.0f;
        w.router = matrix(router.data(), kExperts, kEmbd);
        w.gate_exps = experts(gate.data(), kFf, kEmbd);
        w.up_exps = experts(up.data(), kFf, kEmbd);
        w.down_exps = experts(down.data(), kEmbd, kFf);
    }

    static kernels::WeightMatrix matrix(const float* data, int64_t n, int64_t k) {
        return {TensorType::F32, data, n, k, static_cast<size_t>(k) * sizeof(float)};
    }
    static Experts experts(const float* data, int64_t n, int64_t k) {
        return {matrix(data, n, k), static_cast<size_t>(n * k) * sizeof(float), kExperts};
    }

    // The layer written out per token: every chosen expert's SwiGLU FFN.
    std::vector<float> direct(const std::vector<float>& x, int64_t n) const {
        std::vector<float> out(static_cast<size_t>(n * kEmbd), 0.0f);
        for (int64_t t = 0; t < n; ++t) {
            const float* xt = &x[static_cast<size_t>(t * kEmbd)];
            std::vector<float> logits(kExperts);
            for (int64_t e = 0; e < kExperts; ++e) logits[e] = dot(&router[e * kEmbd], xt, kEmbd);
            std::vector<int32_t> ids(static_cast<size_t>(hp.n_expert_used));
            std::vector<float> wt(ids.size());
            route_token(logits.data(), kExperts, hp.n_expert_used, hp.expert_weights_norm,
                        ids.data(), wt.data());
            for (size_t j = 0; j < ids.size(); ++j) {
                const int64_t e = ids[j];
                std::vector<float> act(kFf);
                for (int64_t i = 0; i < kFf; ++i) {
                    const float g = dot(&gate[(e * kFf + i) * kEmbd], xt, kEmbd);
                    const float u = dot(&up[(e * kFf + i) * kEmbd], xt, kEmbd);
                    act[i] = g / (1.0f + std::exp(-g)) * u;
                }
                for (int64_t o = 0; o < kEmbd; ++o) {
                    out[static_cast<size_t>(t * kEmbd + o)] +=
                        wt[j] * dot(&down[(e * kEmbd + o) * kFf], act.data(), kFf);
                }
            }
        }
        return out;
    }

    static float dot(const float* a, const float* b, int64_t n) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
        return static_cast<float>(s);
    }
};

// Token t's input: small noise, and element favourite(t) large.
std::vector<float> inputs(int64_t n, int64_t (*favourite)(int64_t)) {
    std::mt19937 rng(9);
    std::normal_distribution<float> d(0.0f, 0.2f);
    std::vector<float> x(static_cast<size_t>(n * TinyMoe::kEmbd));
    for (float& v : x) v = d(rng);
    for (int64_t t = 0; t < n; ++t)
        x[static_cast<size_t>(t * TinyMoe::kEmbd + favourite(t))] = 2.0f;
    return x;
}

void expect_layer_matches(const TinyMoe& m, const std::vector<float>& x, int64_t n) {
    kernels::ThreadPool pool(2);
    kernels::MatmulScratch scratch;
    MoeFfn ffn(m.hp, n);
    std::vector<float> out(static_cast<size_t>(n * TinyMoe::kEmbd));
    ffn.run(m.w, x.data(), n, out.data(), pool, scratch);
    const std::vector<float> want = m.direct(x, n);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-4) << i;
}

TEST(MoeFfn, AllTokensOnOneExpertMatchTheDirectComputation) {
    const TinyMoe m(/*used=*/1, /*renormalise=*/true);
    expect_layer_matches(m, inputs(9, [](int64_t) { return int64_t{2}; }), 9);
}

TEST(MoeFfn, EveryExpertUsedMatchesTheDirectComputation) {
    for (const bool norm : {false, true}) {
        const TinyMoe m(/*used=*/2, norm);
        expect_layer_matches(m, inputs(11, [](int64_t t) { return t % TinyMoe::kExperts; }), 11);
    }
    const TinyMoe all(/*used=*/TinyMoe::kExperts, false);
    expect_layer_matches(all, inputs(5, [](int64_t t) { return t % TinyMoe::kExperts; }), 5);
}

TEST(MoeFfn, ALoneTokenMatchesTheDirectComputation) {
    const TinyMoe m(/*used=*/2, true);
    expect_layer_matches(m, inputs(1, [](int64_t) { return int64_t{3}; }), 1);
}

// matmul_many over jobs of several types and batch sizes, some sharing
// their activations, against one matmul() per job: the same floats.
TEST(MatmulMany, GivesWhatOneMatmulPerJobGives) {
    constexpr int64_t k = 256;
    std::mt19937 rng(3);
    std::normal_distribution<float> d(0.0f, 1.0f);
    kernels::ThreadPool pool(2);
    kernels::MatmulScratch scratch;
    for (const int64_t b : {1, 3, 20}) {
        std::vector<float> x1(static_cast<size_t>(b * k)), x2(x1.size());
        for (auto* v : {&x1, &x2})
            for (float& f : *v) f = d(rng);
        struct Case {
            TensorType type;
            int64_t n;
            const float* x;
        };
        const std::vector<Case> cases = {{TensorType::Q4_K, 48, x1.data()},
                                         {TensorType::Q4_K, 40, x1.data()},
                                         {TensorType::Q8_0, 33, x2.data()},
                                         {TensorType::Q6_K, 17, x2.data()},
                                         {TensorType::F32, 5, x1.data()}};
        std::vector<std::vector<uint8_t>> data;
        std::vector<kernels::WeightMatrix> mats;
        mats.reserve(cases.size());
        for (const Case& c : cases) {
            const kernels::TypeTraits& tr = kernels::traits(c.type);
            const size_t row = kernels::row_bytes(tr, k);
            std::vector<uint8_t>& bytes = data.emplace_back(row * static_cast<size_t>(c.n));
            std::vector<float> v(k);
            for (int64_t r = 0; r < c.n; ++r) {
                for (float& f : v) f = d(rng);
                tr.quantize_row(v.data(), &bytes[static_cast<size_t>(r) * row], k);
            }
            mats.push_back({c.type, bytes.data(), c.n, k, row});
        }
        std::vector<std::vector<float>> got, want;
        std::vector<kernels::MatmulJob> jobs;
        for (size_t i = 0; i < cases.size(); ++i) {
            got.emplace_back(static_cast<size_t>(b * cases[i].n), -1.0f);
            want.emplace_back(static_cast<size_t>(b * cases[i].n), -2.0f);
            jobs.push_back({&mats[i], cases[i].x, b, got.back().data()});
        }
        kernels::matmul_many(pool, jobs, scratch);
        for (size_t i = 0; i < cases.size(); ++i) {
            kernels::matmul(pool, mats[i], cases[i].x, b, want[i].data(), scratch);
            EXPECT_EQ(got[i], want[i]) << "job " << i << ", b " << b;
        }
    }
}

}  // namespace
}  // namespace pensieve::model
