// Matrix products on the GPU for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K, Q5_K and Q6_K weights, dequantized as the CPU's scalar
// reference dequantizes them (shaders/dequant.glsl), against F32
// activations: up to kGemvCols activation rows take the GEMV
// (shaders/gemv.comp: a subgroup per weight row), more take the tiled
// GEMM (shaders/gemm.comp: 64 weight rows by 32 activation rows per
// workgroup, each weight dequantized once per tile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gguf/tensor_type.hpp"
#include "gpu/vulkan.hpp"

namespace pensieve::gpu {

using gguf::TensorType;

// One matrix product y[c][r] = W[r] . x[c]: rows weight rows of k elements
// (a whole number of the format's blocks), row_bytes apart from w_offset in
// w; cols activation rows of k floats, x_stride floats apart; cols output
// rows of `rows` floats, y_stride floats apart.
struct MatmulArgs {
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

class Matmul {
  public:
    static constexpr uint32_t kGemvCols = 8;   // activation rows per GEMV dispatch
    static constexpr uint32_t kGemvRows = 8;   // weight rows per GEMV workgroup
    static constexpr uint32_t kGemmRows = 64;  // weight rows per GEMM workgroup
    static constexpr uint32_t kGemmCols = 32;  // activation rows per GEMM workgroup

    // max_groups_x: workgroups per dispatch in x before y is used (0: the
    // device's limit; tests lower it).
    explicit Matmul(const Context& context, uint32_t max_groups_x = 0)
        : context_(context),
          max_groups_x_(max_groups_x != 0 ? max_groups_x : context.max_groups_x()) {}

    static bool supports(TensorType type);

    // Appends the dispatches of one product to `out`. Throws GpuError for an
    // unsupported format, a k that is not a whole number of blocks, or
    // buffers too small for the shapes.
    void append(const MatmulArgs& args, std::vector<Dispatch>& out);

  private:
    const Pipeline& pipeline(const std::string& name);

    const Context& context_;
    uint32_t max_groups_x_;
    std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace pensieve::gpu
