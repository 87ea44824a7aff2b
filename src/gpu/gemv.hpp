// Dequantizing matrix-vector products on the GPU (shaders/gemv.comp): the
// decode-time matmul of every weight format the CPU's scalar reference
// dequantizes the same way (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q4_K, Q5_K, Q6_K), with F32 activations and F32 sums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "gguf/tensor_type.hpp"
#include "gpu/vulkan.hpp"

namespace pensieve::gpu {

using gguf::TensorType;

// One matrix product y[c][r] = sum_e W[r][e] * x[c][e]: rows weight rows of
// k elements (a whole number of the format's blocks), row_bytes apart from
// w_offset in w; cols activation rows of k floats, x_stride floats apart;
// cols output rows of `rows` floats, y_stride floats apart.
struct GemvArgs {
    TensorType type = TensorType::F32;
    const Buffer* w = nullptr;
    size_t w_offset = 0;
    size_t row_bytes = 0;
    uint32_t rows = 0;
    uint32_t k = 0;
    const Buffer* x = nullptr;
    uint32_t x_stride = 0;
    uint32_t cols = 1;
    const Buffer* y = nullptr;
    uint32_t y_stride = 0;
};

class Gemv {
public:
    static constexpr uint32_t kMaxCols = 8;  // activation rows per dispatch (gemv.comp)

    explicit Gemv(const Context& context) : context_(context) {}

    static bool supports(TensorType type);

    // Appends the dispatches of one product (ceil(cols / kMaxCols) of them)
    // to `out`. Throws GpuError for an unsupported format, a k that is not a
    // whole number of blocks, or buffers too small for the shapes.
    void append(const GemvArgs& args, std::vector<Dispatch>& out);

private:
    const Pipeline& pipeline(TensorType type);

    const Context& context_;
    std::map<TensorType, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace pensieve::gpu
