// Packed matmul path (PackedGemm in dispatch.hpp) of F16 and BF16 weights
// with F32 products, for AVX-512 CPUs without BF16 ones (gemm_bf16.cpp
// replaces it where the CPU has them). The weights are converted to F32
// exactly and the activations stay F32, so the results are the reference
// vec_dot's up to summation order; what it saves over the per-row vec_dot is
// converting each weight once per tile instead of once per activation row,
// and the horizontal sum of every dot.
//
// Lanes are the 16 weight rows of a tile, one element of k per step:
//   weights (per tile, into the thread's work buffer): wf[kq][16] F32,
//     element e of row r at e * 16 + r, rows past the tile zero;
//   activations (once per call, groups of 16 rows: PackedGemm::pack_group)
//     af[kq][16] F32, element e of row c at e * 16 + c, rows past the batch
//     zero;
//   kq = k rounded up to 16, zero-padded.
// The micro-kernel keeps a group's 16 accumulators in registers: per element,
// one weight load, 16 broadcasts from one activation line and 16 FMAs.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/x86/gcc_avx512_warnings.hpp"

#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/avx512/transpose.hpp"

namespace pensieve::kernels::avx512 {
namespace {

constexpr int64_t kChunk = 16;  // elements per conversion step: one vector per row

int64_t padded(int64_t k) {
    return (k + kChunk - 1) / kChunk * kChunk;
}

// One group of kPackedActGroup activation rows.
size_t act_bytes(int64_t k) {
    return static_cast<size_t>(padded(k)) * sizeof(float) * kPackedActGroup;
}

size_t work_bytes(int64_t k) {
    return static_cast<size_t>(padded(k)) * sizeof(float) * 16;
}

// The first n lanes (none for n <= 0).
inline __mmask16 mask16(int64_t n) {
    if (n <= 0) return 0;
    return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// Rows [0, rows) of x (stride x_stride floats) -> af[kq][16].
void pack_group(const float* x, int64_t x_stride, int64_t rows, void* dst, int64_t k) {
    auto* af = static_cast<float*>(dst);
    for (int64_t i = 0; i < k; i += kChunk) {
        __m512i v[16];
        for (int64_t r = 0; r < 16; ++r) {
            v[r] = r < rows ? _mm512_castps_si512(
                                  _mm512_maskz_loadu_ps(mask16(k - i), x + r * x_stride + i))
                            : _mm512_setzero_si512();
        }
        transpose16(v);
        for (int e = 0; e < 16; ++e) _mm512_store_si512(af + (i + e) * 16, v[e]);
    }
}

// Elements [i, i + 16) of a weight row as F32 bits, zero past k.
template <TensorType kType>
inline __m512i load_chunk(const uint16_t* row, int64_t i, int64_t k) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask16(k - i), row + i);
    if constexpr (kType == TensorType::BF16) {
        return _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    } else {
        return _mm512_castps_si512(_mm512_cvtph_ps(h));
    }
}

// Rows [r0, r0 + rows) of the weights -> wf[kq][16].
template <TensorType kType>
void unpack_tile(const PackedGemmArgs& a, int64_t r0, int64_t rows, float* wf) {
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
        for (int e = 0; e < 16; ++e) _mm512_store_si512(wf + (i + e) * 16, v[e]);
    }
}

// y[c][r0 + 0..16) for the first C activation rows of a group (masked to
// the tile's rows).
template <int C>
void micro(const float* wf, const float* af, int64_t kq, float* y, int64_t y_stride,
           __mmask16 rows) {
    __m512 acc[C];
    for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t e = 0; e < kq; ++e) {
        const __m512 w = _mm512_load_ps(wf + e * 16);
        const float* a = af + e * 16;
        for (int c = 0; c < C; ++c) acc[c] = _mm512_fmadd_ps(w, _mm512_set1_ps(a[c]), acc[c]);
    }
    for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * y_stride, rows, acc[c]);
}

template <TensorType kType>
void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    auto* wf = static_cast<float*>(work);
    unpack_tile<kType>(a, r0, r1 - r0, wf);
    const int64_t kq = padded(a.k);
    const __mmask16 rows = mask16(r1 - r0);
    for_act_groups(a, r0, r1, [&](const uint8_t* act, int cols, float* y) {
        const auto* af = reinterpret_cast<const float*>(act);
        with_count<kPackedActGroup>(cols, [&](auto c) {
            micro<decltype(c)::value>(wf, af, kq, y, a.y_stride, rows);
        });
    });
}

// The BF16 form's threshold (gemm_bf16.cpp); not measured for this form,
// which the CPU the figures come from (with BF16 products) never takes.
constexpr int64_t kMinBatch = 4;

}  // namespace

PackedGemm float_f32_entry(TensorType type) {
    PackedGemm p{act_bytes, work_bytes, nullptr,
                 type == TensorType::BF16 ? tile<TensorType::BF16> : tile<TensorType::F16>};
    p.min_batch = kMinBatch;
    p.pack_group = pack_group;
    p.long_runs = true;
    return p;
}

void register_gemm_f32(KernelTable& table) {
    packed_row(table, TensorType::F16) = float_f32_entry(TensorType::F16);
    packed_row(table, TensorType::BF16) = float_f32_entry(TensorType::BF16);
}

}  // namespace pensieve::kernels::avx512
