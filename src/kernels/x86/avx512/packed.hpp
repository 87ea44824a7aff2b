// The packed row layouts of the AVX-512 matmul path (see gemm.cpp) and small
// helpers shared by its translation units. Internal linkage only, as
// everything under x86/ (each ISA file gets its own copy).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// Row sizes and offsets of one packed activation / weight row of k elements
// (layouts in gemm.cpp's header).
struct Geometry {
    int64_t nb, ng, n16;
    explicit Geometry(int64_t k) : nb(k / kQK), ng((k / kQK + 3) / 4), n16((k / kQK + 15) / 16) {}
    size_t act_dx() const { return static_cast<size_t>(ng) * 128; }
    size_t act_isum() const { return act_dx() + static_cast<size_t>(ng) * 64; }
    size_t act_s() const { return act_isum() + static_cast<size_t>(ng) * 64; }
    size_t act_bytes() const { return act_s() + static_cast<size_t>(n16) * 64; }
    size_t w_dx() const { return static_cast<size_t>(ng) * 128; }
    size_t w_m() const { return w_dx() + static_cast<size_t>(ng) * 64; }
    size_t w_bytes() const { return w_m() + static_cast<size_t>(n16) * 64; }
};

inline float half(uint16_t h) {
    return _cvtsh_ss(h);
}

inline __m512i load512(const void* p) {
    return _mm512_loadu_si512(p);
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v = 0;
    __builtin_memcpy(&v, p, 4);
    return v;
}

}  // namespace
}  // namespace pensieve::kernels::avx512
