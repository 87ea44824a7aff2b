#include "gpu/ops.hpp"

#include <algorithm>
#include <cstring>

namespace pensieve::gpu {
namespace {

// The push constants of each shader, in its std430 layout.
struct RmsNormPush {
    uint64_t x, w, y, rows_of;
    uint32_t n, rows, x_stride, y_stride;
    float eps;
};
struct RopePush {
    uint64_t x, table;
    uint32_t rows, n_heads, head_dim, n_dims, neox, x_stride, table_stride;
};
struct GluPush {
    uint64_t gate, up, y;
    uint32_t n, gelu;
};
struct AddPush {
    uint64_t a, b, y;
    uint32_t n, rows, a_stride, b_stride, y_stride;
};
struct KvStorePush {
    uint64_t k, v, k_cache, v_cache, rows_info, tables;
    uint32_t rows, n_head_kv, head_dim, stride;
};
struct AttentionPush {
    uint64_t q, k_cache, v_cache, rows_info, tables, y;
    uint32_t n_head, n_head_kv, head_dim, q_stride, y_stride, window;
    float scale;
};

template <typename Push>
Dispatch dispatch(const Pipeline& p, const Push& push, uint32_t gx, uint32_t gy) {
    static_assert(sizeof(Push) <= Pipeline::kPushBytes);
    Dispatch d;
    d.pipeline = &p;
    std::memcpy(d.push.data(), &push, sizeof push);
    d.push_bytes = sizeof push;
    d.groups = {gx, gy, 1};
    return d;
}

void need(bool ok, const char* what) {
    if (!ok) throw GpuError(std::string("gpu ops: ") + what);
}

constexpr uint32_t kMaxGroupsY = 65535;  // the least every device allows

}  // namespace

const Pipeline& Ops::pipeline(const std::string& name) {
    auto& slot = pipelines_[name];
    if (!slot) slot = std::make_unique<Pipeline>(context_, name);
    return *slot;
}

// Workgroups for n items of per_group each, in x (within the device's limit).
uint32_t Ops::groups_for(uint64_t n, uint32_t per_group) const {
    const uint64_t groups = (n + per_group - 1) / per_group;
    need(groups <= context_.max_groups_x(), "too many workgroups for one dispatch");
    return static_cast<uint32_t>(groups);
}

void Ops::rms_norm(uint64_t x, uint32_t x_stride, uint64_t w, uint64_t y, uint32_t y_stride,
                   uint32_t n, uint32_t rows, float eps, std::vector<Dispatch>& out,
                   uint64_t rows_of) {
    need(n > 0 && rows > 0, "rms_norm of nothing");
    const uint32_t gx = std::min(rows, context_.max_groups_x());
    const uint32_t gy = (rows + gx - 1) / gx;
    need(gy <= kMaxGroupsY, "rms_norm: too many rows");
    out.push_back(dispatch(pipeline("rms_norm"),
                           RmsNormPush{x, w, y, rows_of, n, rows, x_stride, y_stride, eps}, gx,
                           gy));
}

void Ops::rope(uint64_t x, uint32_t x_stride, uint64_t table, uint32_t table_stride, uint32_t rows,
               uint32_t n_heads, uint32_t head_dim, uint32_t n_dims, bool neox,
               std::vector<Dispatch>& out) {
    need(rows > 0 && rows <= kMaxGroupsY, "rope: rows out of range");
    need(n_dims > 0 && n_dims % 2 == 0 && n_dims <= head_dim, "rope: bad n_dims");
    const uint32_t gx = groups_for(uint64_t{n_dims / 2} * n_heads, 64);
    out.push_back(dispatch(
        pipeline("rope"),
        RopePush{x, table, rows, n_heads, head_dim, n_dims, neox ? 1u : 0u, x_stride, table_stride},
        gx, rows));
}

void Ops::glu(uint64_t gate, uint64_t up, uint64_t y, uint32_t n, bool gelu,
              std::vector<Dispatch>& out) {
    need(n > 0, "glu of nothing");
    const uint32_t groups = (n + 255) / 256;
    const uint32_t gx = std::min(groups, context_.max_groups_x());
    out.push_back(dispatch(pipeline("glu"), GluPush{gate, up, y, n, gelu ? 1u : 0u}, gx,
                           (groups + gx - 1) / gx));
}

void Ops::add(uint64_t a, uint32_t a_stride, uint64_t b, uint32_t b_stride, uint64_t y,
              uint32_t y_stride, uint32_t n, uint32_t rows, std::vector<Dispatch>& out) {
    need(n > 0 && rows > 0 && rows <= kMaxGroupsY, "add: shape out of range");
    out.push_back(dispatch(pipeline("add"), AddPush{a, b, y, n, rows, a_stride, b_stride, y_stride},
                           groups_for(n, 256), rows));
}

namespace {

void check_kv(const KvArgs& kv) {
    need(kv.rows > 0 && kv.rows <= kMaxGroupsY, "kv: rows out of range");
    need(kv.n_head_kv > 0, "kv: no KV heads");
    need(kv.head_dim > 0 && kv.head_dim % 2 == 0 && kv.head_dim <= 256,
         "kv: head_dim must be even and at most 256");
}

}  // namespace

void Ops::kv_store(const KvArgs& kv, uint64_t k, uint64_t v, uint32_t stride,
                   std::vector<Dispatch>& out) {
    check_kv(kv);
    const uint32_t pairs = kv.n_head_kv * kv.head_dim / 2;
    out.push_back(dispatch(pipeline("kv_store"),
                           KvStorePush{k, v, kv.k_cache, kv.v_cache, kv.rows_info, kv.tables,
                                       kv.rows, kv.n_head_kv, kv.head_dim, stride},
                           groups_for(pairs, 64), kv.rows));
}

void Ops::attention(const KvArgs& kv, uint64_t q, uint32_t q_stride, uint32_t n_head,
                    uint32_t window, float scale, uint64_t y, uint32_t y_stride,
                    std::vector<Dispatch>& out) {
    check_kv(kv);
    need(n_head > 0 && n_head % kv.n_head_kv == 0,
         "attention: n_head is not a multiple of KV heads");
    need(n_head <= context_.max_groups_x(), "attention: too many heads");
    out.push_back(
        dispatch(pipeline("attention"),
                 AttentionPush{q, kv.k_cache, kv.v_cache, kv.rows_info, kv.tables, y, n_head,
                               kv.n_head_kv, kv.head_dim, q_stride, y_stride, window, scale},
                 n_head, kv.rows));
}

}  // namespace pensieve::gpu
