// Packed matmul path (PackedGemm in dispatch.hpp) of F16 and BF16 weights with
// BF16 products (AVX512-BF16: vdpbf16ps), for batches of min_batch rows or
// more (the `packed_large` rows; smaller ones take the GEMV of gemm_f32.cpp,
// which converts every weight to F32 once per activation row and reduces
// each dot horizontally).
//
// Roundings (the scalar reference is ref::dot_bf16): activations are rounded
// to BF16 once per call (nearest even), F16 weights go F16 -> F32 -> BF16
// (three mantissa bits lost), BF16 weights are used as they are; every
// product of two BF16 values is exact in F32 and the sums run in F32.
//
// vdpbf16ps adds a[2i]·b[2i] + a[2i+1]·b[2i+1] into lane i. Lanes are the
// 16 weight rows of a tile and pairs run along k:
//   weights (per tile, into the thread's work buffer): wb[kp][16][2] BF16,
//     pair p of row r at (p * 16 + r) * 2, rows past the tile zero;
//   activations (once per call, in groups of 16 rows: PackedGemm::pack_group)
//     the same shape ab[kp][16][2], pair p of row c at (p * 16 + c) * 2, rows
//     past the batch zero, so pair p of row c is one 32-bit broadcast;
//   both zero-padded to a whole number of 32-element chunks.
// The micro-kernel keeps a group's 16 accumulators (one per activation row,
// lanes the 16 weight rows) in registers: per pair, one 64-byte weight load,
// 16 broadcasts from one 64-byte activation line and 16 products, and the
// sums of a row land in y without a horizontal add.
//
// Compiled with -mavx512bf16 and registered only where the CPU has it and
// its BF16 products are faster than F32 ones (CpuFeatures::bf16_products_fast).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/x86/gcc_avx512_warnings.hpp"

#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/avx512/transpose.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int64_t kChunk = 32;  // elements per conversion step: 16 pairs, one vector per row

int64_t padded(int64_t k) {
    return (k + kChunk - 1) / kChunk * kChunk;
}

// One group of kPackedActGroup activation rows.
size_t act_bytes(int64_t k) {
    return static_cast<size_t>(padded(k)) * sizeof(uint16_t) * kPackedActGroup;
}

size_t work_bytes(int64_t k) {
    return static_cast<size_t>(padded(k)) * sizeof(uint16_t) * 16;
}

inline __mmask32 mask32(int64_t n) {
    if (n <= 0) return 0;
    return n >= 32 ? static_cast<__mmask32>(0xFFFFFFFF) : static_cast<__mmask32>((1u << n) - 1u);
}

// Two vectors of 16 floats as 32 BF16 values in order (cvtne2ps puts its
// second operand in the low half).
inline __m512i to_bf16(__m512 lo, __m512 hi) {
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
}

// Elements [i, i + 32) of a weight row as BF16, zero past k.
template <TensorType kType>
inline __m512i load_chunk(const uint16_t* row, int64_t i, int64_t k) {
    if constexpr (kType == TensorType::BF16) {
        return _mm512_maskz_loadu_epi16(mask32(k - i), row + i);
    } else {
        const __m512 lo = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(k - i), row + i));
        const __m512 hi =
            _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(k - i - 16), row + i + 16));
        return to_bf16(lo, hi);
    }
}

// Rows [0, rows) of x (stride x_stride floats) -> ab[kp][16][2].
void pack_group(const float* x, int64_t x_stride, int64_t rows, void* dst, int64_t k) {
    auto* ab = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < k; i += kChunk) {
        __m512i v[16];
        for (int64_t r = 0; r < 16; ++r) {
            if (r < rows) {
                const float* row = x + r * x_stride + i;
                v[r] = to_bf16(_mm512_maskz_loadu_ps(mask16(k - i), row),
                               _mm512_maskz_loadu_ps(mask16(k - i - 16), row + 16));
            } else {
                v[r] = _mm512_setzero_si512();
            }
        }
        transpose16(v);
        for (int p = 0; p < 16; ++p) _mm512_store_si512(ab + (i / 2 + p) * 32, v[p]);
    }
}

// Rows [r0, r0 + rows) of the weights -> wb[kp][16][2].
template <TensorType kType>
void unpack_tile(const PackedGemmArgs& a, int64_t r0, int64_t rows, uint16_t* wb) {
    const auto* base = static_cast<const uint8_t*>(a.w);
    for (int64_t i = 0; i < a.k; i += kChunk) {
        __m512i v[16];
        for (int64_t r = 0; r < 16; ++r) {
            v[r] = r < rows
                       ? load_chunk<kType>(reinterpret_cast<const uint16_t*>(
                                               base + static_cast<size_t>(r0 + r) * a.w_stride),
                                           i, a.k)
                       : _mm512_setzero_si512();
        }
        transpose16(v);
        for (int p = 0; p < 16; ++p) _mm512_store_si512(wb + (i / 2 + p) * 32, v[p]);
    }
}

// y[c][r0 + 0..16) for the first C activation rows of a group (masked to
// the tile's rows).
template <int C>
void micro(const uint16_t* wb, const uint16_t* ab, int64_t kp, float* y, int64_t y_stride,
           __mmask16 rows) {
    __m512 acc[C];
    for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kp; ++p) {
        const __m512bh w = reinterpret_cast<__m512bh>(_mm512_load_si512(wb + p * 32));
        const uint16_t* a = ab + p * 32;
        for (int c = 0; c < C; ++c) {
            uint32_t pair = 0;
            __builtin_memcpy(&pair, a + 2 * c, 4);
            acc[c] = _mm512_dpbf16_ps(
                acc[c], w, reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(pair))));
        }
    }
    for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * y_stride, rows, acc[c]);
}

template <TensorType kType>
void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    auto* wb = static_cast<uint16_t*>(work);
    unpack_tile<kType>(a, r0, r1 - r0, wb);
    const int64_t kp = padded(a.k) / 2;
    const __mmask16 rows = mask16(r1 - r0);
    for_act_groups(a, r0, r1, [&](const uint8_t* act, int cols, float* y) {
        const auto* ab = reinterpret_cast<const uint16_t*>(act);
        with_count<kPackedActGroup>(cols, [&](auto c) {
            micro<decltype(c)::value>(wb, ab, kp, y, a.y_stride, rows);
        });
    });
}

// Below this batch the GEMV (gemm_f32.cpp) is faster. Not measured on one
// CPU: the GEMV read 64 GFLOP/s at b = 4 and 82-87 at b = 16 on an AVX-512
// Xeon without BF16 products, these tiles 36-39 at b = 4, 67-72 at b = 8 and
// 103-107 at b = 16 on a Zen 4 core (bench/kernels/README.md).
constexpr int64_t kMinBatch = 8;

}  // namespace

PackedGemm float_bf16_entry(TensorType type) {
    PackedGemm p{act_bytes, work_bytes, nullptr,
                 type == TensorType::BF16 ? tile<TensorType::BF16> : tile<TensorType::F16>};
    p.min_batch = kMinBatch;
    p.pack_group = pack_group;
    p.long_runs = true;
    return p;
}

void register_gemm_bf16(KernelTable& table) {
    if (!cpu_features().bf16_products_fast) return;
    for (TensorType t : {TensorType::F16, TensorType::BF16})
        packed_large_row(table, t) = float_bf16_entry(t);
}

}  // namespace pensieve::kernels::avx512
