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
#include "kernels/traits.hpp"

namespace pensieve::kernels {

// Element-wise and reduction kernels that have SIMD variants. Shapes and
// meanings are documented on the public wrappers in ops.hpp.
struct OpsTable {
    void (*rms_norm)(const float* x, const float* weight, float* out, int64_t n,
                     float eps) = nullptr;
    void (*softmax)(float* x, int64_t n, float scale, const float* mask) = nullptr;
    void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
    float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
    float (*dot_f16)(const uint16_t* a, const float* b, int64_t n) = nullptr;
    void (*axpy_f32)(float a, const float* x, float* y, int64_t n) = nullptr;
    void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n) = nullptr;
    void (*add)(const float* a, const float* b, float* out, int64_t n) = nullptr;
    void (*mul)(const float* a, const float* b, float* out, int64_t n) = nullptr;
};

inline constexpr uint32_t kTypeIdLimit = 40;  // one past the largest GGML type id we index

struct KernelTable {
    Isa isa = Isa::Ref;
    std::array<TypeTraits, kTypeIdLimit> types{};  // indexed by type id; empty rows: unsupported
    OpsTable ops;
};

// The row of `type` in `table`. Out of line on purpose: SIMD translation units
// use it instead of std::array::operator[] so that they instantiate no
// standard-library code (see x86/avx2/avx2.hpp).
TypeTraits& type_row(KernelTable& table, TensorType type);

// The table of `isa`, or nullptr when this CPU cannot run it.
const KernelTable* table_for(Isa isa);
const KernelTable& active_table();

// Builders, one per instruction set, each in its own translation unit.
void fill_ref(KernelTable& table);
void patch_avx2(KernelTable& table);
void patch_avx512(KernelTable& table);

namespace detail {
void activate(Isa isa);
Isa startup_isa();
}  // namespace detail

}  // namespace pensieve::kernels
