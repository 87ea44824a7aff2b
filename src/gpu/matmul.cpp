#include "gpu/matmul.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include "gpu/shaders.hpp"

namespace pensieve::gpu {
namespace {

// The push constants of gemv.comp and gemm.comp, in their std430 layout.
struct MatmulPush {
    uint64_t w, x, y;
    uint32_t rows, k, row_bytes, cols, x_stride, y_stride;
};
static_assert(sizeof(MatmulPush) == 48);

// <shader>_<format>, e.g. gemv_q4_k: the variants src/gpu/CMakeLists.txt
// compiles.
std::string shader_name(const char* shader, TensorType type) {
    std::string name = shader + ("_" + std::string(gguf::type_info(type).name));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
}

void need(bool ok, const std::string& what) {
    if (!ok) throw GpuError("matmul: " + what);
}

}  // namespace

bool Matmul::supports(TensorType type) {
    return gguf::type_info(static_cast<uint32_t>(type)).has_value() &&
           !shader_code(shader_name("gemv", type)).empty() &&
           !shader_code(shader_name("gemm", type)).empty();
}

const Pipeline& Matmul::pipeline(const std::string& name) {
    auto& slot = pipelines_[name];
    if (!slot) slot = std::make_unique<Pipeline>(context_, name);
    return *slot;
}

void Matmul::append(const MatmulArgs& a, std::vector<Dispatch>& out) {
    need(supports(a.type),
         "no shader for weights of type " + std::to_string(static_cast<uint32_t>(a.type)));
    const gguf::TypeInfo info = gguf::type_info(a.type);
    need(a.w != nullptr && a.x != nullptr && a.y != nullptr, "a buffer is missing");
    need(a.rows > 0 && a.cols > 0, "no rows or no columns");
    need(a.k > 0 && a.k % 32 == 0 && a.k % info.block_elems == 0,
         "k = " + std::to_string(a.k) + " is not a whole number of blocks");
    const uint64_t packed = uint64_t{a.k} / info.block_elems * info.block_bytes;
    need(a.row_bytes >= packed && a.row_bytes <= UINT32_MAX, "row_bytes too small or too large");
    need(a.w_offset + uint64_t{a.rows - 1} * a.row_bytes + packed <= a.w->bytes(),
         "the weights run past their buffer");
    need(a.x_stride >= a.k || a.cols == 1, "activation rows overlap");
    need((uint64_t{a.cols - 1} * a.x_stride + a.k) * 4 <= a.x->bytes(),
         "the activations run past their buffer");
    need(a.y_stride >= a.rows || a.cols == 1, "output rows overlap");
    need((uint64_t{a.cols - 1} * a.y_stride + a.rows) * 4 <= a.y->bytes(),
         "the outputs run past their buffer");

    MatmulPush push{};
    push.w = a.w->address() + a.w_offset;
    push.x = a.x->address();
    push.y = a.y->address();
    push.rows = a.rows;
    push.k = a.k;
    push.row_bytes = static_cast<uint32_t>(a.row_bytes);
    push.cols = a.cols;
    push.x_stride = a.x_stride;
    push.y_stride = a.y_stride;
    Dispatch d;
    d.push_bytes = sizeof push;
    if (a.cols > kGemvCols) {
        // Tiles of kGemmRows × kGemmCols: row tiles in x, column tiles in y.
        const uint32_t gx = (a.rows + kGemmRows - 1) / kGemmRows;
        const uint32_t gy = (a.cols + kGemmCols - 1) / kGemmCols;
        need(gx <= max_groups_x_ && gy <= 65535, "too many tiles for one dispatch");
        d.pipeline = &pipeline(shader_name("gemm", a.type));
        std::memcpy(d.push.data(), &push, sizeof push);
        d.groups = {gx, gy, 1};
        out.push_back(d);
        return;
    }
    // kGemvRows rows per workgroup, over x and then y when they pass the
    // device's limit of workgroups in x.
    const uint32_t groups = (a.rows + kGemvRows - 1) / kGemvRows;
    const uint32_t gx = std::min(groups, max_groups_x_);
    d.pipeline = &pipeline(shader_name("gemv", a.type));
    std::memcpy(d.push.data(), &push, sizeof push);
    d.groups = {gx, (groups + gx - 1) / gx, 1};
    out.push_back(d);
}

}  // namespace pensieve::gpu
