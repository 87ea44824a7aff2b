// The GPU's layer operations (gpu::Ops) against the CPU's scalar reference:
// RMSNorm, RoPE, SwiGLU/GeGLU, additions, and attention over the device's
// paged F16 KV cache, whose
// oracle is a double-precision softmax over the same F16-rounded keys and
// values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gpu/ops.hpp"
#include "gpu_test_util.hpp"
#include "kernels/cpu.hpp"
#include "kernels/fp16.hpp"
#include "kernels/ops.hpp"

namespace pensieve::gpu {
namespace {

using gguf::TensorType;

class GpuOps : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
        context_ = open_test_device();
        ASSERT_NE(context_, nullptr);
        ops_ = std::make_unique<Ops>(*context_);
    }
    void TearDown() override { kernels::set_active_isa(kernels::best_isa()); }

    // A mapped buffer holding `data`.
    template <typename T>
    Buffer mapped(const std::vector<T>& data) {
        Buffer b = context_->buffer(std::max<size_t>(data.size() * sizeof(T), 4), true);
        std::memcpy(b.mapped(), data.data(), data.size() * sizeof(T));
        return b;
    }
    template <typename T>
    std::vector<T> read(const Buffer& b, size_t n) {
        std::vector<T> out(n);
        std::memcpy(out.data(), b.mapped(), n * sizeof(T));
        return out;
    }
    void run() {
        context_->run(dispatches_);
        dispatches_.clear();
    }

    std::vector<float> random(size_t n, float sigma = 1.0f) {
        std::normal_distribution<float> normal(0.0f, sigma);
        std::vector<float> v(n);
        for (float& x : v) x = normal(rng_);
        return v;
    }

    std::unique_ptr<Context> context_;
    std::unique_ptr<Ops> ops_;
    std::vector<Dispatch> dispatches_;
    std::mt19937 rng_{7};
};

// |got - want| within rel · (the row's largest |want|) + abs.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel,
                  double abs, const std::string& what) {
    ASSERT_EQ(got.size(), want.size());
    double scale = 0.0;
    for (float w : want) scale = std::max(scale, std::fabs(static_cast<double>(w)));
    for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], rel * scale + abs) << what << " at " << i;
    }
}

TEST_F(GpuOps, RmsNormMatchesTheReference) {
    for (const uint32_t n : {64u, 576u, 2048u, 100u}) {
        const uint32_t rows = 5, x_stride = n + 3, y_stride = n + 1;
        std::vector<float> x = random(size_t{rows} * x_stride, 3.0f);
        const std::vector<float> w = random(n);
        const Buffer xb = mapped(x), wb = mapped(w);
        const Buffer yb = context_->buffer(size_t{rows} * y_stride * 4, true);
        ops_->rms_norm(xb.address(), x_stride, wb.address(), yb.address(), y_stride, n, rows, 1e-6f,
                       dispatches_);
        // In place, too.
        ops_->rms_norm(xb.address(), x_stride, wb.address(), xb.address(), x_stride, n, rows, 1e-6f,
                       dispatches_);
        run();
        const std::vector<float> y = read<float>(yb, size_t{rows} * y_stride);
        const std::vector<float> in_place = read<float>(xb, x.size());
        for (uint32_t r = 0; r < rows; ++r) {
            std::vector<float> want(n);
            kernels::rms_norm(&x[r * x_stride], w.data(), want.data(), n, 1e-6f);
            expect_close({y.begin() + r * y_stride, y.begin() + r * y_stride + n}, want, 1e-5, 0,
                         "rms_norm n " + std::to_string(n));
            expect_close({in_place.begin() + r * x_stride, in_place.begin() + r * x_stride + n},
                         want, 1e-5, 0, "in place");
        }
    }
}

// The final norm's gather: output row r is the norm of input row rows_of[r]
// (rows in any order, one twice, some left out).
TEST_F(GpuOps, RmsNormGathersRows) {
    const uint32_t n = 576, in_rows = 7, x_stride = n + 5;
    const std::vector<uint32_t> rows_of = {6, 0, 3, 3};
    const auto rows = static_cast<uint32_t>(rows_of.size());
    const std::vector<float> x = random(size_t{in_rows} * x_stride, 3.0f);
    const std::vector<float> w = random(n);
    const Buffer xb = mapped(x), wb = mapped(w), ib = mapped(rows_of);
    const Buffer yb = context_->buffer(size_t{rows} * n * 4, true);
    ops_->rms_norm(xb.address(), x_stride, wb.address(), yb.address(), n, n, rows, 1e-6f,
                   dispatches_, ib.address());
    run();
    const std::vector<float> y = read<float>(yb, size_t{rows} * n);
    for (uint32_t r = 0; r < rows; ++r) {
        std::vector<float> want(n);
        kernels::rms_norm(&x[rows_of[r] * x_stride], w.data(), want.data(), n, 1e-6f);
        expect_close({y.begin() + r * n, y.begin() + (r + 1) * n}, want, 1e-5, 0,
                     "gathered row " + std::to_string(r));
    }
}

TEST_F(GpuOps, RopeMatchesTheReference) {
    const std::vector<float> factors = {1.0f, 2.0f, 4.5f, 8.0f, 1.0f, 3.0f, 1.5f, 1.0f,
                                        1.0f, 2.0f, 4.5f, 8.0f, 1.0f, 3.0f, 1.5f, 1.0f};
    for (const bool neox : {false, true}) {
        for (const int n_dims : {32, 24}) {  // all of a head, or its leading dims
            kernels::RopeConfig c;
            c.head_dim = 32;
            c.n_dims = n_dims;
            c.freq_base = 10000.0f;
            c.freq_scale = 0.5f;
            c.style = neox ? kernels::RopeStyle::NeoX : kernels::RopeStyle::Normal;
            c.freq_factors = n_dims == 32 ? factors.data() : nullptr;
            c.attn_factor = n_dims == 32 ? 1.1f : 1.0f;
            const int heads = 3;
            const std::vector<int64_t> positions = {0, 1, 17, 4095, 100000};
            const auto rows = static_cast<uint32_t>(positions.size());
            const uint32_t stride = heads * 32 + 4, t_stride = static_cast<uint32_t>(n_dims) + 2;
            std::vector<float> x = random(size_t{rows} * stride);
            std::vector<float> table(size_t{rows} * t_stride);
            for (uint32_t r = 0; r < rows; ++r) {
                for (int i = 0; i < n_dims / 2; ++i) {
                    const auto [cs, sn] = kernels::rope_angle(positions[r], c, i);
                    table[r * t_stride + 2 * i] = cs;
                    table[r * t_stride + 2 * i + 1] = sn;
                }
            }
            const Buffer xb = mapped(x), tb = mapped(table);
            ops_->rope(xb.address(), stride, tb.address(), t_stride, rows, heads, 32,
                       static_cast<uint32_t>(n_dims), neox, dispatches_);
            run();
            const std::vector<float> got = read<float>(xb, x.size());
            for (uint32_t r = 0; r < rows; ++r) {
                std::vector<float> want(x.begin() + r * stride, x.begin() + (r + 1) * stride);
                kernels::rope(want.data(), heads, positions[r], c);
                expect_close({got.begin() + r * stride, got.begin() + (r + 1) * stride}, want, 1e-6,
                             1e-7,
                             "rope neox " + std::to_string(neox) + " dims " +
                                 std::to_string(n_dims) + " pos " + std::to_string(positions[r]));
            }
        }
    }
}

TEST_F(GpuOps, GatedActivationsMatchTheReference) {
    const uint32_t n = 1000;
    std::vector<float> gate = random(n, 3.0f), up = random(n);
    gate[0] = 40.0f;  // saturated tanh and exp
    gate[1] = -40.0f;
    gate[2] = 0.0f;
    for (const bool gelu : {false, true}) {
        const Buffer gb = mapped(gate), ub = mapped(up);
        const Buffer yb = context_->buffer(n * 4, true);
        ops_->glu(gb.address(), ub.address(), yb.address(), n, gelu, dispatches_);
        run();
        std::vector<float> want(n);
        if (gelu)
            kernels::gelu_mul(gate.data(), up.data(), want.data(), n);
        else
            kernels::silu_mul(gate.data(), up.data(), want.data(), n);
        const std::vector<float> got = read<float>(yb, n);
        for (uint32_t i = 0; i < n; ++i) {
            ASSERT_FALSE(std::isnan(got[i])) << i;
            ASSERT_NEAR(got[i], want[i], 1e-5 * std::fabs(static_cast<double>(want[i])) + 1e-6)
                << (gelu ? "gelu " : "silu ") << gate[i] << " at " << i;
        }
    }
}

TEST_F(GpuOps, AddsRowsBroadcastsAndCopies) {
    const uint32_t n = 300, rows = 4;
    const std::vector<float> a = random(size_t{rows} * n), b = random(size_t{rows} * n);
    const Buffer ab = mapped(a), bb = mapped(b);
    const Buffer sum = context_->buffer(a.size() * 4, true),
                 bias = context_->buffer(a.size() * 4, true),
                 copy = context_->buffer(a.size() * 4, true);
    ops_->add(ab.address(), n, bb.address(), n, sum.address(), n, n, rows, dispatches_);
    ops_->add(ab.address(), n, bb.address(), 0, bias.address(), n, n, rows, dispatches_);
    ops_->add(ab.address(), n, 0, 0, copy.address(), n, n, rows, dispatches_);
    run();
    const std::vector<float> s = read<float>(sum, a.size()), bi = read<float>(bias, a.size()),
                             c = read<float>(copy, a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(s[i], a[i] + b[i]) << i;
        ASSERT_EQ(bi[i], a[i] + b[i % n]) << i;
        ASSERT_EQ(c[i], a[i]) << i;
    }
}

// One attention case: sequences with shuffled block tables; rows are
// (sequence, position) pairs.
struct AttentionCase {
    uint32_t n_head, n_head_kv, head_dim, window;
    std::vector<int32_t> seq_lengths;               // tokens cached per sequence
    std::vector<std::pair<int32_t, int32_t>> rows;  // (sequence, position)
};

void PrintTo(const AttentionCase& c, std::ostream* os) {
    *os << c.n_head << "/" << c.n_head_kv << " heads of " << c.head_dim << ", window " << c.window
        << ", " << c.rows.size() << " rows";
}

class GpuAttention : public GpuOps, public ::testing::WithParamInterface<AttentionCase> {};

TEST_P(GpuAttention, MatchesADoubleSoftmaxOverTheCache) {
    const AttentionCase& c = GetParam();
    const uint32_t hd = c.head_dim, kv_dim = c.n_head_kv * hd, q_dim = c.n_head * hd;
    // Block tables: every sequence's blocks drawn from one shuffled pool.
    std::vector<std::vector<int32_t>> tables;
    int32_t n_blocks = 0;
    for (int32_t len : c.seq_lengths) n_blocks += (len + 15) / 16;
    std::vector<int32_t> ids(static_cast<size_t>(n_blocks));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng_);
    std::vector<int32_t> flat;  // the tables one after another
    std::vector<int32_t> table_offset;
    size_t next = 0;
    for (int32_t len : c.seq_lengths) {
        table_offset.push_back(static_cast<int32_t>(flat.size()));
        std::vector<int32_t> t(ids.begin() + static_cast<ptrdiff_t>(next),
                               ids.begin() + static_cast<ptrdiff_t>(next + (len + 15) / 16));
        next += t.size();
        flat.insert(flat.end(), t.begin(), t.end());
        tables.push_back(t);
    }
    // Every cached position of every sequence is stored with kv_store.
    std::vector<std::vector<float>> keys, values;  // [seq][pos · kv_dim]
    std::vector<int32_t> info;
    std::vector<float> k_rows, v_rows;
    for (size_t s = 0; s < c.seq_lengths.size(); ++s) {
        keys.push_back(random(size_t(c.seq_lengths[s]) * kv_dim));
        values.push_back(random(size_t(c.seq_lengths[s]) * kv_dim));
        for (int32_t p = 0; p < c.seq_lengths[s]; ++p) {
            info.push_back(p);
            info.push_back(table_offset[s]);
        }
        k_rows.insert(k_rows.end(), keys.back().begin(), keys.back().end());
        v_rows.insert(v_rows.end(), values.back().begin(), values.back().end());
    }
    const size_t cache_bytes = size_t(n_blocks) * c.n_head_kv * 16 * hd * 2;
    const Buffer kc = context_->buffer(cache_bytes, true), vc = context_->buffer(cache_bytes, true);
    const Buffer tb = mapped(flat), store_info = mapped(info);
    const Buffer kb = mapped(k_rows), vb = mapped(v_rows);
    KvArgs store{kc.address(),
                 vc.address(),
                 store_info.address(),
                 tb.address(),
                 static_cast<uint32_t>(info.size() / 2),
                 c.n_head_kv,
                 hd};
    ops_->kv_store(store, kb.address(), vb.address(), kv_dim, dispatches_);
    run();
    // The cache holds each element rounded to F16 where its table says.
    const auto* k16 = static_cast<const uint16_t*>(kc.mapped());
    for (size_t s = 0; s < c.seq_lengths.size(); ++s) {
        for (int32_t p = 0; p < c.seq_lengths[s]; p += 7) {
            for (uint32_t e = 0; e < kv_dim; e += 5) {
                const size_t slot =
                    (size_t(tables[s][size_t(p / 16)]) * c.n_head_kv + e / hd) * 16 +
                    size_t(p % 16);
                ASSERT_EQ(k16[slot * hd + e % hd],
                          kernels::fp32_to_fp16(keys[s][size_t(p) * kv_dim + e]));
            }
        }
    }

    // Queries for the rows; the oracle in double over the F16-rounded cache.
    const auto rows = static_cast<uint32_t>(c.rows.size());
    const uint32_t q_stride = q_dim + 2, y_stride = q_dim + 6;
    const std::vector<float> q = random(size_t{rows} * q_stride);
    std::vector<int32_t> row_info;
    for (const auto& [s, p] : c.rows) {
        row_info.push_back(p);
        row_info.push_back(table_offset[size_t(s)]);
    }
    const Buffer qb = mapped(q), rb = mapped(row_info);
    const Buffer yb = context_->buffer(size_t{rows} * y_stride * 4, true);
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    KvArgs attend = store;
    attend.rows_info = rb.address();
    attend.rows = rows;
    ops_->attention(attend, qb.address(), q_stride, c.n_head, c.window, scale, yb.address(),
                    y_stride, dispatches_);
    run();
    const std::vector<float> y = read<float>(yb, size_t{rows} * y_stride);
    const auto f16 = [](float v) {
        return static_cast<double>(kernels::fp16_to_fp32(kernels::fp32_to_fp16(v)));
    };
    for (uint32_t r = 0; r < rows; ++r) {
        const auto [s, pos] = c.rows[r];
        const int32_t first = c.window > 0 ? std::max(0, pos - int32_t(c.window) + 1) : 0;
        for (uint32_t h = 0; h < c.n_head; ++h) {
            const uint32_t kvh = h / (c.n_head / c.n_head_kv);
            std::vector<double> score;
            for (int32_t p = first; p <= pos; ++p) {
                double dot = 0.0;
                for (uint32_t d = 0; d < hd; ++d)
                    dot += double(q[r * q_stride + h * hd + d]) *
                           f16(keys[size_t(s)][size_t(p) * kv_dim + kvh * hd + d]);
                score.push_back(dot * static_cast<double>(scale));
            }
            const double mx = *std::max_element(score.begin(), score.end());
            double sum = 0.0;
            for (double& v : score) sum += (v = std::exp(v - mx));
            for (uint32_t d = 0; d < hd; ++d) {
                double want = 0.0;
                for (int32_t p = first; p <= pos; ++p)
                    want += score[size_t(p - first)] / sum *
                            f16(values[size_t(s)][size_t(p) * kv_dim + kvh * hd + d]);
                ASSERT_NEAR(y[r * y_stride + h * hd + d], want, 2e-5)
                    << "row " << r << " (seq " << s << " pos " << pos << ") head " << h << " dim "
                    << d;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuAttention,
    ::testing::Values(
        // One sequence, lone tokens at chunk and block edges; MHA.
        AttentionCase{
            4, 4, 64, 0, {200}, {{0, 0}, {0, 15}, {0, 16}, {0, 63}, {0, 64}, {0, 65}, {0, 199}}},
        // GQA 3 and a head size that is not a multiple of the workgroup.
        AttentionCase{9, 3, 80, 0, {70, 33}, {{0, 69}, {1, 32}, {1, 0}, {0, 40}}},
        // GQA 4, head 128, a sliding window.
        AttentionCase{8, 2, 128, 48, {150}, {{0, 10}, {0, 47}, {0, 48}, {0, 149}}},
        // GQA 8, head 256, a run of consecutive tokens of two sequences.
        AttentionCase{
            8, 1, 256, 0, {20, 90}, {{1, 85}, {1, 86}, {1, 87}, {1, 88}, {1, 89}, {0, 19}}}),
    [](const auto& shape) { return "case" + std::to_string(shape.index); });

TEST(GpuOpsErrors, ShapesTheShadersCannotTakeAreRefused) {
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    Ops ops(*context);
    std::vector<Dispatch> out;
    EXPECT_THROW(ops.rope(0, 64, 0, 64, 1, 1, 64, 63, false, out), GpuError);
    EXPECT_THROW(ops.attention({0, 0, 0, 0, 1, 2, 64}, 0, 64, 3, 0, 1.0f, 0, 64, out), GpuError);
    EXPECT_THROW(ops.kv_store({0, 0, 0, 0, 1, 1, 512}, 0, 0, 512, out), GpuError);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pensieve::gpu
