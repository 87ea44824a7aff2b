// The kernel tables behind traits() and the ops: one table per instruction
// set, built once. The scalar reference fills every entry; each SIMD variant
// starts from the reference table and replaces the entries it speeds up, so a
// format without a fast path still works everywhere.
//
// Internal to src/kernels (and its tests); callers use traits.hpp / ops.hpp.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/cpu.hpp"
#include "kernels/ops.hpp"
#include "kernels/traits.hpp"

namespace pensieve::kernels {

// Element-wise and reduction kernels that have SIMD variants. Shapes and
// meanings are documented on the public wrappers in ops.hpp.
struct OpsTable {
    void (*rms_norm)(const float* x, const float* weight, float* out, int64_t n,
                     float eps) = nullptr;
    void (*softmax)(float* x, int64_t n, float scale, const float* mask) = nullptr;
    void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
    void (*gelu_mul)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
    float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
    float (*dot_f16)(const uint16_t* a, const float* b, int64_t n) = nullptr;
    void (*axpy_f32)(float a, const float* x, float* y, int64_t n) = nullptr;
    void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n) = nullptr;
    // The SIMD forms need head_dim % 8 == 0; ops.cpp sends other shapes to
    // the reference.
    void (*attend_block)(const AttendBlock& a) = nullptr;
    void (*dequantize_q8_0_keys)(const void* tile, int64_t head_dim, float* kt) = nullptr;
    void (*add)(const float* a, const float* b, float* out, int64_t n) = nullptr;
    void (*mul)(const float* a, const float* b, float* out, int64_t n) = nullptr;
    // attend_block with BF16 products (AttendBlock::qb needed, head_dim % 32
    // == 0, head_dim <= 512); only where the CPU has fast ones
    // (CpuFeatures::bf16_products_fast), never in the reference table.
    // ops.cpp uses it for runs of many rows.
    void (*attend_block_bf16)(const AttendBlock& a) = nullptr;
    // attend_block reading AttendBlock::kt16 / v16 (F16 tiles) instead of kt
    // and v, for decode's short runs (kv_tile.cpp's attend_tiles).
    void (*attend_block_f16)(const AttendBlock& a) = nullptr;
    // attend_block_f16 over n whole F16 tiles of consecutive positions (tile
    // t: kt16[t] and v16[t], positions from a.pos0 + 16 t) for 1 <= a.rows <=
    // 8 and head_dim % 16 == 0: one softmax step per few tiles. Null where the
    // ISA has no such form (the reference among them): kv_tile.cpp then steps
    // tile by tile, as it does for other shapes.
    void (*attend_span_f16)(const AttendBlock& a, const uint16_t* const* kt16,
                            const uint16_t* const* v16, int64_t n) = nullptr;
    // attend_span_f16 over BF16 tiles (F32 products), where the ISA has it.
    void (*attend_span_bf16_tiles)(const AttendBlock& a, const uint16_t* const* kt,
                                   const uint16_t* const* v, int64_t n) = nullptr;
    // attend_span_f16 with FP16 products (kFp16StepTiles in ops.hpp), for
    // 1 <= a.rows <= 8, head_dim % 32 == 0, head_dim <= 512, n a multiple
    // of kFp16StepTiles and rows that attend every position of the span;
    // only where the CPU has AVX512-FP16, never in the reference table.
    // kv_tile.cpp's attend_steps calls it for head sizes up to
    // kFp16MaxHeadDim.
    void (*attend_span_fp16)(const AttendBlock& a, const uint16_t* const* kt16,
                             const uint16_t* const* v16, int64_t n) = nullptr;
    // attend_span_f16 with BF16 products (kBf16StepTiles in ops.hpp) for any
    // number of rows, AttendBlock::qb needed, head_dim % 32 == 0, head_dim
    // <= 512; only where the CPU has fast BF16 products (with
    // attend_block_bf16), never in the reference table. kv_tile.cpp's
    // attend_steps calls it where the CPU has no FP16 products.
    void (*attend_span_bf16)(const AttendBlock& a, const uint16_t* const* kt16,
                             const uint16_t* const* v16, int64_t n) = nullptr;
    // attend_block over n whole Q8_0 tiles of consecutive positions (key
    // tile t at kt[t], value tile at v[t], layouts in kv_tile.hpp) for 1 <=
    // a.rows <= 8, head_dim % 32 == 0, head_dim <= 512, with the queries
    // quantized as Q8_0 and integer q · k sums (ref::attend_span_q8 says
    // exactly what it computes). Null where the ISA has no such form (the
    // reference among them): kv_tile.cpp then loads tile by tile as F32.
    void (*attend_span_q8)(const AttendBlock& a, const void* const* kt, const void* const* v,
                           int64_t n) = nullptr;
    // attend_span_bf16 over whole Q8_0 or BF16 tiles of the given type
    // (each loaded as F32, then rearranged as the F16 ones are), registered
    // with it.
    void (*attend_span_bf16_typed)(const AttendBlock& a, TensorType type, const void* const* kt,
                                   const void* const* v, int64_t n) = nullptr;
};

// The signatures of the span entries above.
using AttendSpanFn = void (*)(const AttendBlock& a, const uint16_t* const* kt16,
                              const uint16_t* const* v16, int64_t n);
using AttendSpanTypedFn = void (*)(const AttendBlock& a, TensorType type, const void* const* kt,
                                   const void* const* v, int64_t n);

inline constexpr uint32_t kTypeIdLimit = 40;  // one past the largest GGML type id we index

// One matmul job as the packed fast path sees it: weight rows of k elements
// (row r at w + r * w_stride bytes), b activation rows already packed by
// PackedGemm::pack_act (row c at act + c * act_stride bytes), and outputs
// y[c * y_stride + r].
struct PackedGemmArgs {
    const void* w = nullptr;
    size_t w_stride = 0;
    int64_t k = 0;
    const void* act = nullptr;
    size_t act_stride = 0;
    int64_t b = 0;
    float* y = nullptr;
    int64_t y_stride = 0;
};

// Optional fast path of one weight format for matmul(): activations are
// packed once per call into an ISA-specific layout (same int8 values and
// scales as the format's vec_dot_type, rearranged and with precomputed sums),
// then each task unpacks a tile of weight rows into `work` and dots it with
// every activation row. Absent (tile == nullptr) in the reference table,
// whose vec_dot is this path's scalar reference.
struct PackedGemm {
    size_t (*act_bytes)(int64_t k) = nullptr;   // one packed activation row
    size_t (*work_bytes)(int64_t k) = nullptr;  // per-thread work buffer for one tile
    void (*pack_act)(const float* x, void* dst, int64_t k) = nullptr;
    // Rows [r0, r1) of the output, r1 - r0 <= kPackedTileRows.
    void (*tile)(const PackedGemmArgs& args, int64_t r0, int64_t r1, void* work) = nullptr;
    // Smallest batch the path is used for (below it vec_dot is faster).
    int64_t min_batch = 1;
    // Instead of pack_act: packs rows [0, rows) of x (rows <= kPackedActGroup,
    // row stride x_stride floats) into one interleaved group of act_bytes(k)
    // bytes, zero past `rows`. Set for layouts that mix the rows of a group
    // (AMX tiles); args.act_stride is then the stride between groups.
    void (*pack_group)(const float* x, int64_t x_stride, int64_t rows, void* dst,
                       int64_t k) = nullptr;
    // The tile kernel prefetches the weights of the tile after its own: give
    // each task the longest run of consecutive tiles that still balances
    // (two tasks per thread), so that the next tile is the same thread's.
    bool long_runs = false;
};
inline constexpr int64_t kPackedTileRows = 16;
inline constexpr int64_t kPackedActGroup = 16;

struct KernelTable {
    Isa isa = Isa::Ref;
    std::array<TypeTraits, kTypeIdLimit> types{};   // indexed by type id; empty rows: unsupported
    std::array<PackedGemm, kTypeIdLimit> packed{};  // indexed by type id; empty: use vec_dot
    // Used instead of `packed` when b >= its min_batch (AMX tiles); empty: none.
    std::array<PackedGemm, kTypeIdLimit> packed_large{};
    OpsTable ops;
};

// The row of `type` in `table`. Out of line on purpose: SIMD translation units
// use it instead of std::array::operator[] so that they instantiate no
// standard-library code (see x86/avx2/avx2.hpp).
TypeTraits& type_row(KernelTable& table, TensorType type);
PackedGemm& packed_row(KernelTable& table, TensorType type);
PackedGemm& packed_large_row(KernelTable& table, TensorType type);

// The table of `isa`, or nullptr when this CPU cannot run it.
const KernelTable* table_for(Isa isa);
const KernelTable& active_table();

// Builders, one per instruction set, each in its own translation unit.
void fill_ref(KernelTable& table);
void patch_avx2(KernelTable& table);
void patch_avx512(KernelTable& table);
void patch_amx(KernelTable& table);

namespace detail {
void activate(Isa isa);
Isa startup_isa();
}  // namespace detail

}  // namespace pensieve::kernels
