// The GPU's dequantizing GEMV against the CPU's scalar reference: weights
// quantized by the reference quantizer, dequantized by the reference, and
// dotted in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu/gemv.hpp"
#include "gpu_test_util.hpp"
#include "kernels/cpu.hpp"
#include "kernels/traits.hpp"

namespace pensieve::gpu {
namespace {

using kernels::traits;

struct Matrix {
    std::vector<uint8_t> bytes;  // rows of row_bytes, from offset
    std::vector<float> dequantized;
    size_t row_bytes = 0;
};

// rows x k random weights of `type`, each row padded to row_bytes (>= its
// packed size) and the whole placed `offset` bytes into the buffer.
Matrix random_matrix(TensorType type, uint32_t rows, uint32_t k, size_t pad, size_t offset,
                     std::mt19937& rng) {
    const kernels::TypeTraits& t = traits(type);
    Matrix m;
    m.row_bytes = kernels::row_bytes(t, k) + pad;
    m.bytes.assign(offset + rows * m.row_bytes, 0xA5);
    m.dequantized.resize(size_t{rows} * k);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> row(k);
    for (uint32_t r = 0; r < rows; ++r) {
        for (float& v : row) v = normal(rng);
        uint8_t* dst = m.bytes.data() + offset + r * m.row_bytes;
        t.quantize_row(row.data(), dst, k);
        t.dequantize_row(dst, m.dequantized.data() + size_t{r} * k, k);
    }
    return m;
}

class GpuGemv : public ::testing::TestWithParam<TensorType> {
protected:
    void SetUp() override {
        ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
        context_ = open_test_device();
        ASSERT_NE(context_, nullptr);
    }
    void TearDown() override { kernels::set_active_isa(kernels::best_isa()); }

    // One product on the GPU against the reference, every output checked.
    void check(uint32_t rows, uint32_t k, uint32_t cols, size_t pad, size_t offset) {
        const TensorType type = GetParam();
        SCOPED_TRACE("rows " + std::to_string(rows) + " k " + std::to_string(k) + " cols " +
                     std::to_string(cols));
        std::mt19937 rng(rows * 31 + k + cols);
        const Matrix w = random_matrix(type, rows, k, pad, offset, rng);
        const uint32_t x_stride = k + 3, y_stride = rows + 5;
        std::vector<float> x(size_t{cols} * x_stride);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (float& v : x) v = normal(rng);

        const Buffer wb = context_->buffer(w.bytes.size(), false);
        context_->upload(wb, 0, w.bytes.data(), w.bytes.size());
        const Buffer xb = context_->buffer(x.size() * 4, true);
        context_->upload(xb, 0, x.data(), x.size() * 4);
        const Buffer yb = context_->buffer(size_t{cols} * y_stride * 4, true);
        std::vector<float> y(size_t{cols} * y_stride, NAN);
        context_->upload(yb, 0, y.data(), y.size() * 4);

        Gemv gemv(*context_);
        std::vector<Dispatch> dispatches;
        gemv.append({type, &wb, offset, w.row_bytes, rows, k, &xb, x_stride, cols, &yb, y_stride},
                    dispatches);
        context_->run(dispatches);
        context_->download(yb, 0, y.data(), y.size() * 4);

        for (uint32_t c = 0; c < cols; ++c) {
            for (uint32_t r = 0; r < rows; ++r) {
                double exact = 0.0, magnitude = 0.0;
                for (uint32_t e = 0; e < k; ++e) {
                    const double p =
                        static_cast<double>(w.dequantized[size_t{r} * k + e]) *
                        static_cast<double>(x[size_t{c} * x_stride + e]);
                    exact += p;
                    magnitude += std::fabs(p);
                }
                const auto got = static_cast<double>(y[size_t{c} * y_stride + r]);
                ASSERT_NEAR(got, exact, 1e-5 * magnitude + 1e-6) << "row " << r << " col " << c;
            }
            // Past the rows, the outputs are untouched.
            for (uint32_t r = rows; r < y_stride && c + 1 < cols; ++r)
                ASSERT_TRUE(std::isnan(y[size_t{c} * y_stride + r]));
        }
    }

    std::unique_ptr<Context> context_;
};

TEST_P(GpuGemv, AgreesWithTheScalarReference) {
    const bool k_format = traits(GetParam()).block_elems == 256;
    for (const uint32_t k : {256u, 768u}) {
        for (const uint32_t cols : {1u, 3u, 8u, 11u}) check(37, k, cols, 0, 0);
    }
    if (!k_format) check(5, 96, 2, 0, 0);  // fewer units than invocations
    // Padded rows, an offset into the buffer.
    check(9, 512, 2, 6, 64);
}

INSTANTIATE_TEST_SUITE_P(Formats, GpuGemv,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::BF16,
                                           TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                                           TensorType::Q5_1, TensorType::Q8_0, TensorType::Q4_K,
                                           TensorType::Q5_K, TensorType::Q6_K),
                         [](const auto& param) {
                             return std::string(traits(param.param).name);
                         });

class GpuGemvRows : public GpuGemv {};

// More rows than one dimension of workgroups holds (65535 is the least a
// device may allow): the rest go to the second dimension.
TEST_P(GpuGemvRows, PastOneDimensionOfWorkgroups) {
    check(context_->max_groups_x() + 3, 32, 1, 0, 0);
}

INSTANTIATE_TEST_SUITE_P(Q8_0, GpuGemvRows, ::testing::Values(TensorType::Q8_0));

TEST(GpuGemvErrors, ShapesTheBuffersCannotHoldAreRefused) {
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    const Buffer w = context->buffer(34 * 8, true), x = context->buffer(256 * 4, true),
                 y = context->buffer(64, true);
    Gemv gemv(*context);
    std::vector<Dispatch> out;
    const GemvArgs ok{TensorType::Q8_0, &w, 0, 34 * 8, 1, 256, &x, 256, 1, &y, 16};
    gemv.append(ok, out);
    EXPECT_EQ(out.size(), 1u);
    GemvArgs a = ok;
    a.k = 100;  // not whole blocks
    EXPECT_THROW(gemv.append(a, out), GpuError);
    a = ok;
    a.rows = 2;  // the second row is past the weights
    EXPECT_THROW(gemv.append(a, out), GpuError);
    a = ok;
    a.cols = 2;  // the second activation row is past x
    EXPECT_THROW(gemv.append(a, out), GpuError);
    a = ok;
    a.type = TensorType::Q2_K;  // no shader
    EXPECT_THROW(gemv.append(a, out), GpuError);
    a = ok;
    a.w = nullptr;
    EXPECT_THROW(gemv.append(a, out), GpuError);
    EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace pensieve::gpu
