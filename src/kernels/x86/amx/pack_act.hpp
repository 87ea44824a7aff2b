// Activation rows to the AMX tile layout (see amx.hpp): groups of 16 rows,
// each 32-element block's int8 quants interleaved four bytes per row (the
// B-operand layout of TDPBSSD), with per-row block scales da and sums s
// (da * sum(q) for Q8_0; unused for Q8_K, whose mins term runs on the tiles).
// The quants and scales are those of the exact Q8_0 / Q8_K quantizers, so the
// arithmetic is the reference vec_dot's up to summation order. Internal
// linkage only.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/x86/quantize_256.hpp"

namespace pensieve::kernels::amx {
namespace {

inline size_t act_group_bytes(int64_t k) {
    return static_cast<size_t>(k / kQK) * (512 + 64 + 64);
}

struct ActGroup {
    uint8_t* q;  // [nb][8][16][4]
    float* da;   // [nb][16]
    float* s;    // [nb][16]
    ActGroup(void* dst, int64_t nb)
        : q(static_cast<uint8_t*>(dst)),
          da(reinterpret_cast<float*>(q + nb * 512)),
          s(da + nb * 16) {}
    // Row c's quants of block j (32 int8), scale d and s (see the callers).
    void put(int64_t j, int64_t c, const int8_t* qs, float d, float s_value) const {
        uint8_t* base = q + j * 512 + c * 4;
        for (int kk = 0; kk < 8; ++kk) std::memcpy(base + kk * 64, qs + 4 * kk, 4);
        da[j * 16 + c] = d;
        s[j * 16 + c] = s_value;
    }
};

inline int sum32(const int8_t* q) {
    int s = 0;
    for (int l = 0; l < kQK; ++l) s += q[l];
    return s;
}

inline void pack_group_q8_0(const float* x, int64_t x_stride, int64_t rows, void* dst, int64_t k) {
    const int64_t nb = k / kQK;
    if (rows < 16) std::memset(dst, 0, act_group_bytes(k));
    const ActGroup g(dst, nb);
    for (int64_t c = 0; c < rows; ++c) {
        for (int64_t j = 0; j < nb; ++j) {
            BlockQ8_0 blk;
            x86::quantize_q8_0(x + c * x_stride + j * kQK, &blk, kQK);
            const float d = _cvtsh_ss(blk.d);
            g.put(j, c, blk.qs, d, d * static_cast<float>(sum32(blk.qs)));
        }
    }
}

inline void pack_group_q8_k(const float* x, int64_t x_stride, int64_t rows, void* dst, int64_t k) {
    const int64_t nb = k / kQK;
    if (rows < 16) std::memset(dst, 0, act_group_bytes(k));
    const ActGroup g(dst, nb);
    for (int64_t c = 0; c < rows; ++c) {
        for (int64_t i = 0; i < k / kQKK; ++i) {
            BlockQ8_K blk;
            x86::quantize_q8_k(x + c * x_stride + i * kQKK, &blk, kQKK);
            // No s: gemm_k.cpp sums the mins term on the tiles.
            for (int sb = 0; sb < 8; ++sb) g.put(8 * i + sb, c, blk.qs + 32 * sb, blk.d, 0.0f);
        }
    }
}

}  // namespace
}  // namespace pensieve::kernels::amx
