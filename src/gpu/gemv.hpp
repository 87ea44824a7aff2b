// Matrix-vector products on the GPU (shaders/gemv.comp) for F32, F16, BF16,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights: the
// quantized formats take their activations quantized as the CPU does
// (activation_type: Q8_0 or Q8_K) and scale each block's integer dot product
// as the CPU's scalar reference does; the float formats take F32.
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

// One matrix product y[c][r] = W[r] . x[c]: rows weight rows of k elements
// (a whole number of the format's blocks), row_bytes apart from w_offset in
// w; cols activation rows of k elements in Gemv::activation_type(type),
// x_stride bytes apart; cols output rows of `rows` floats, y_stride floats
// apart.
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
    static constexpr uint32_t kMaxCols = 8;        // activation rows per dispatch (gemv.comp)
    static constexpr uint32_t kRowsPerGroup = 64;  // weight rows per workgroup (gemv.comp)

    // max_groups_x: workgroups per dispatch in x before y is used (0: the
    // device's limit; tests lower it).
    explicit Gemv(const Context& context, uint32_t max_groups_x = 0)
        : context_(context),
          max_groups_x_(max_groups_x != 0 ? max_groups_x : context.max_groups_x()) {}

    static bool supports(TensorType type);
    // The format the activations of a product with weights of `type` come
    // in: F32 for F32/F16/BF16, Q8_K for the K formats, Q8_0 for the others
    // (the CPU kernels' vec_dot_type).
    static TensorType activation_type(TensorType type);

    // Appends the dispatches of one product (ceil(cols / kMaxCols) of them)
    // to `out`. Throws GpuError for an unsupported format, a k that is not a
    // whole number of blocks, or buffers too small for the shapes.
    void append(const GemvArgs& args, std::vector<Dispatch>& out);

private:
    const Pipeline& pipeline(TensorType type);

    const Context& context_;
    uint32_t max_groups_x_;
    std::map<TensorType, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace pensieve::gpu
