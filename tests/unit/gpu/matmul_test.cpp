// The GPU's matrix products (GEMV up to 8 activation rows, the tiled GEMM
// past them) against the CPU's scalar reference: weights quantized by the
// reference quantizer, the oracle their dequantization (by the reference)
// dotted with the F32 activations in double, within the rounding of F32
// sums: 1e-5 of the sum of |terms|.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu/matmul.hpp"
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
    size_t offset = 0;
};

// rows x k random weights of `type`, each row padded to row_bytes (>= its
// packed size) and the whole placed `offset` bytes into the buffer.
Matrix random_matrix(TensorType type, uint32_t rows, uint32_t k, size_t pad, size_t offset,
                     std::mt19937& rng) {
    const kernels::TypeTraits& t = traits(type);
    Matrix m;
    m.row_bytes = kernels::row_bytes(t, k) + pad;
    m.offset = offset;
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

class GpuMatmul : public ::testing::TestWithParam<TensorType> {
  protected:
    void SetUp() override {
        ASSERT_TRUE(kernels::set_active_isa(kernels::Isa::Ref));
        context_ = open_test_device();
        ASSERT_NE(context_, nullptr);
    }
    void TearDown() override { kernels::set_active_isa(kernels::best_isa()); }

    // One product on the GPU against the reference, every output checked.
    void check(uint32_t rows, uint32_t k, uint32_t cols, size_t pad, size_t offset,
               uint32_t max_groups_x = 0) {
        const TensorType type = GetParam();
        SCOPED_TRACE("rows " + std::to_string(rows) + " k " + std::to_string(k) + " cols " +
                     std::to_string(cols));
        std::mt19937 rng(rows * 31 + k + cols);
        const Matrix w = random_matrix(type, rows, k, pad, offset, rng);
        // Activation rows 3 floats apart past each.
        const uint32_t x_stride = k + 3;
        const uint32_t y_stride = rows + 5;
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

        Matmul matmul(*context_, max_groups_x);
        std::vector<Dispatch> dispatches;
        matmul.append({type, &wb, offset, w.row_bytes, rows, k, &xb, x_stride, cols, &yb, y_stride},
                      dispatches);
        context_->run(dispatches);
        context_->download(yb, 0, y.data(), y.size() * 4);

        for (uint32_t c = 0; c < cols; ++c) {
            for (uint32_t r = 0; r < rows; ++r) {
                const float got = y[size_t{c} * y_stride + r];
                double expected = 0.0, magnitude = 0.0;
                for (uint32_t e = 0; e < k; ++e) {
                    const double p = static_cast<double>(w.dequantized[size_t{r} * k + e]) *
                                     static_cast<double>(x[size_t{c} * x_stride + e]);
                    expected += p;
                    magnitude += std::fabs(p);
                }
                ASSERT_NEAR(static_cast<double>(got), expected, 1e-5 * magnitude + 1e-6)
                    << "row " << r << " col " << c;
            }
            // Past the rows, the outputs are untouched.
            for (uint32_t r = rows; r < y_stride && c + 1 < cols; ++r)
                ASSERT_TRUE(std::isnan(y[size_t{c} * y_stride + r]));
        }
    }

    std::unique_ptr<Context> context_;
};

TEST_P(GpuMatmul, AgreesWithTheScalarReference) {
    const bool k_format = traits(GetParam()).block_elems == 256;
    for (const uint32_t k : {256u, 768u}) {
        for (const uint32_t cols : {1u, 3u, 8u}) check(37, k, cols, 0, 0);
    }
    if (!k_format) check(5, 96, 2, 0, 0);  // fewer units than invocations
    // Padded rows, an offset into the buffer.
    check(9, 512, 2, 6, 64);
    // The GEMM: one partial tile, whole tiles and ragged edges of both.
    check(37, 256, 11, 0, 0);
    check(128, 512, 64, 0, 0);
    check(130, 256, 33, 6, 64);
}

INSTANTIATE_TEST_SUITE_P(Formats, GpuMatmul,
                         ::testing::Values(TensorType::F32, TensorType::F16, TensorType::BF16,
                                           TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                                           TensorType::Q5_1, TensorType::Q8_0, TensorType::Q4_K,
                                           TensorType::Q5_K, TensorType::Q6_K),
                         [](const auto& param) { return std::string(traits(param.param).name); });

class GpuMatmulRows : public GpuMatmul {};

// More rows than one dimension of workgroups holds (here lowered to 3
// workgroups): the rest go to the second dimension.
TEST_P(GpuMatmulRows, PastOneDimensionOfWorkgroups) {
    check(3 * Matmul::kGemvRows * 5 + 1, 64, 2, 0, 0, 3);
}

INSTANTIATE_TEST_SUITE_P(Q8_0, GpuMatmulRows, ::testing::Values(TensorType::Q8_0));

TEST(GpuMatmulErrors, ShapesTheBuffersCannotHoldAreRefused) {
    auto context = open_test_device();
    ASSERT_NE(context, nullptr);
    const Buffer w = context->buffer(34 * 8, true), x = context->buffer(256 * 4, true),
                 y = context->buffer(64, true);
    Matmul matmul(*context);
    std::vector<Dispatch> out;
    const MatmulArgs ok{TensorType::Q8_0, &w, 0, 34 * 8, 1, 256, &x, 256, 1, &y, 16};
    matmul.append(ok, out);
    EXPECT_EQ(out.size(), 1u);
    MatmulArgs a = ok;
    a.k = 100;  // not whole blocks
    EXPECT_THROW(matmul.append(a, out), GpuError);
    a = ok;
    a.rows = 2;  // the second row is past the weights
    EXPECT_THROW(matmul.append(a, out), GpuError);
    a = ok;
    a.cols = 2;  // the second activation row is past x
    EXPECT_THROW(matmul.append(a, out), GpuError);
    a = ok;
    a.type = TensorType::Q2_K;  // no shader
    EXPECT_THROW(matmul.append(a, out), GpuError);
    a = ok;
    a.w = nullptr;
    EXPECT_THROW(matmul.append(a, out), GpuError);
    EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace pensieve::gpu
