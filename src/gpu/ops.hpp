// The operations of a transformer layer other than its matrix products, on
// F32 rows in device buffers (shaders/*.comp): RMSNorm, RoPE, the gated
// activations, additions and copies, and attention over a paged F16 KV
// cache on the device. Each call
// appends its dispatches to a list for Context::run or Context::record;
// buffers are named by device address (Buffer::address() + an offset).
// The CPU's scalar reference (src/kernels/ref, model/attention) is every
// operation's test oracle.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gguf/tensor_type.hpp"
#include "gpu/vulkan.hpp"

namespace pensieve::gpu {

// Token slots per block of the device's KV cache (the CPU cache's size).
inline constexpr uint32_t kKvBlockTokens = 16;

// A paged KV cache on the device, as kv_store and attention read it: one
// layer's keys (and values) as [block][KV head][slot][head_dim] F16. Row r
// of a batch is at position rows_info[2r] of the sequence whose block table
// starts at tables[rows_info[2r + 1]] (int32 block ids).
struct KvArgs {
    uint64_t k_cache = 0;
    uint64_t v_cache = 0;
    uint64_t rows_info = 0;
    uint64_t tables = 0;
    uint32_t rows = 0;
    uint32_t n_head_kv = 0;
    uint32_t head_dim = 0;  // even, at most 256
};

class Ops {
  public:
    explicit Ops(const Context& context) : context_(context) {}

    // y = x / sqrt(mean(x²) + eps) · w for `rows` rows of n floats (the
    // same w for each); y may be x. rows_of: 0, or the address of `rows`
    // uint32 input row numbers (output row r = the norm of input row
    // rows_of[r]; y must not be x then).
    void rms_norm(uint64_t x, uint32_t x_stride, uint64_t w, uint64_t y, uint32_t y_stride,
                  uint32_t n, uint32_t rows, float eps, std::vector<Dispatch>& out,
                  uint64_t rows_of = 0);
    // RoPE in place on rows of n_heads heads: pair i of row r turns by
    // table[r · table_stride + 2i] = cos, [.. + 2i + 1] = sin
    // (kernels::rope_angles); neox: NeoX pairing, else adjacent pairs.
    void rope(uint64_t x, uint32_t x_stride, uint64_t table, uint32_t table_stride, uint32_t rows,
              uint32_t n_heads, uint32_t head_dim, uint32_t n_dims, bool neox,
              std::vector<Dispatch>& out);
    // y = silu(gate) · up, or gelu(gate) · up, over n floats.
    void glu(uint64_t gate, uint64_t up, uint64_t y, uint32_t n, bool gelu,
             std::vector<Dispatch>& out);
    // y = a + b over rows of n floats; b_stride 0 adds one row of b to each;
    // b == 0 copies a.
    void add(uint64_t a, uint32_t a_stride, uint64_t b, uint32_t b_stride, uint64_t y,
             uint32_t y_stride, uint32_t n, uint32_t rows, std::vector<Dispatch>& out);
    // Stores each row's key and value (n_head_kv · head_dim floats, stride
    // apart) at its position in the cache.
    void kv_store(const KvArgs& kv, uint64_t k, uint64_t v, uint32_t stride,
                  std::vector<Dispatch>& out);
    // Attention of each row's n_head query heads (GQA: n_head / n_head_kv
    // per KV head) over its positions [first, pos] in the cache, first =
    // pos - window + 1 (window > 0) or 0; scores scaled by `scale`.
    void attention(const KvArgs& kv, uint64_t q, uint32_t q_stride, uint32_t n_head,
                   uint32_t window, float scale, uint64_t y, uint32_t y_stride,
                   std::vector<Dispatch>& out);

  private:
    const Pipeline& pipeline(const std::string& name);
    uint32_t groups_for(uint64_t n, uint32_t per_group) const;

    const Context& context_;
    std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace pensieve::gpu
