#include "gpu/gemv.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include "gpu/shaders.hpp"

namespace pensieve::gpu {
namespace {

// The push constants of gemv.comp, in its std430 layout.
struct GemvPush {
    uint64_t w, x, y;
    uint32_t rows, k, row_bytes, cols, x_stride, y_stride;
};
static_assert(sizeof(GemvPush) == 48);

// gemv_<format>, e.g. gemv_q4_k: the variants src/gpu/CMakeLists.txt compiles.
std::string shader_name(TensorType type) {
    std::string name = "gemv_" + std::string(gguf::type_info(type).name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
}

void need(bool ok, const std::string& what) {
    if (!ok) throw GpuError("gemv: " + what);
}

}  // namespace

bool Gemv::supports(TensorType type) {
    return gguf::type_info(static_cast<uint32_t>(type)).has_value() &&
           !shader_code(shader_name(type)).empty();
}

TensorType Gemv::activation_type(TensorType type) {
    switch (type) {
        case TensorType::F32:
        case TensorType::F16:
        case TensorType::BF16:
            return TensorType::F32;
        case TensorType::Q4_K:
        case TensorType::Q5_K:
        case TensorType::Q6_K:
            return TensorType::Q8_K;
        default:
            return TensorType::Q8_0;
    }
}

const Pipeline& Gemv::pipeline(TensorType type) {
    auto& slot = pipelines_[type];
    if (!slot) slot = std::make_unique<Pipeline>(context_, shader_name(type));
    return *slot;
}

void Gemv::append(const GemvArgs& a, std::vector<Dispatch>& out) {
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
    const gguf::TypeInfo act = gguf::type_info(activation_type(a.type));
    const uint64_t act_bytes = uint64_t{a.k} / act.block_elems * act.block_bytes;
    need(a.x_stride >= act_bytes || a.cols == 1, "activation rows overlap");
    need(uint64_t{a.cols - 1} * a.x_stride + act_bytes <= a.x->bytes(),
         "the activations run past their buffer");
    need(a.y_stride >= a.rows || a.cols == 1, "output rows overlap");
    need((uint64_t{a.cols - 1} * a.y_stride + a.rows) * 4 <= a.y->bytes(),
         "the outputs run past their buffer");

    const Pipeline& p = pipeline(a.type);
    // kRowsPerGroup rows per workgroup, over x and then y when they pass
    // the device's limit of workgroups in x.
    const uint32_t groups = (a.rows + kRowsPerGroup - 1) / kRowsPerGroup;
    const uint32_t gx = std::min(groups, max_groups_x_);
    const uint32_t gy = (groups + gx - 1) / gx;
    for (uint32_t c = 0; c < a.cols; c += kMaxCols) {
        GemvPush push{};
        push.w = a.w->address() + a.w_offset;
        push.x = a.x->address() + uint64_t{c} * a.x_stride;
        push.y = a.y->address() + uint64_t{c} * a.y_stride * 4;
        push.rows = a.rows;
        push.k = a.k;
        push.row_bytes = static_cast<uint32_t>(a.row_bytes);
        push.cols = std::min(kMaxCols, a.cols - c);
        push.x_stride = a.x_stride;
        push.y_stride = a.y_stride;
        Dispatch d;
        d.pipeline = &p;
        std::memcpy(d.push.data(), &push, sizeof push);
        d.push_bytes = sizeof push;
        d.groups = {gx, gy, 1};
        out.push_back(d);
    }
}

}  // namespace pensieve::gpu
