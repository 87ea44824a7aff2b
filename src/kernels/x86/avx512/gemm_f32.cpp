// Packed matmul paths (PackedGemm in dispatch.hpp) of F16 and BF16 weights
// with F32 products. The weights are converted to F32 exactly and the
// activations stay F32, so the results are the reference vec_dot's up to
// summation order. Two forms:
//
// The GEMV (the `packed` row, batches below kMinBatch): activation rows as
// they are (copied, zero-padded to 16), weight rows streamed straight into
// FMAs, 8 rows interleaved at b = 1 (4 at b = 2..3) with the software
// prefetch of the other b = 1 kernels. The per-row vec_dot it replaces reads
// one row at a time with two AVX2 accumulators: latency-bound, about half of
// the read bandwidth.
//
// The tiles (the `packed_large` row, for AVX-512 CPUs without BF16 products;
// gemm_bf16.cpp replaces it where the CPU has them): what they save over the
// GEMV is converting each weight once per tile instead of once per
// activation row, and the horizontal sum of every dot.
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

// 16 F16 / BF16 values as F32 bits (exact).
template <TensorType kType>
inline __m512i to_f32(__m256i h) {
    if constexpr (kType == TensorType::BF16) {
        return _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    } else {
        return _mm512_castps_si512(_mm512_cvtph_ps(h));
    }
}

// Elements [i, i + 16) of a weight row as F32 bits, zero past k.
template <TensorType kType>
inline __m512i load_chunk(const uint16_t* row, int64_t i, int64_t k) {
    return to_f32<kType>(_mm256_maskz_loadu_epi16(mask16(k - i), row + i));
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

// ---- the GEMV -----------------------------------------------------------

// One activation row: k floats, zero up to a multiple of 16.
size_t gemv_act_bytes(int64_t k) {
    return static_cast<size_t>(padded(k)) * sizeof(float);
}

size_t gemv_work_bytes(int64_t) {
    return 0;
}

void gemv_pack_act(const float* x, void* dst, int64_t k) {
    auto* a = static_cast<float*>(dst);
    for (int64_t i = 0; i < padded(k); i += kChunk)
        _mm512_storeu_ps(a + i, _mm512_maskz_loadu_ps(mask16(k - i), x + i));
}

// R weight rows (w_stride bytes apart) x C activation rows over the whole k:
// y[c * y_stride + r] for r < R, c < C. Two steps of 16 elements per
// iteration, one cache line of each row, prefetched kAhead bytes ahead.
template <TensorType kType, int R, int C>
void gemv_rows(const PackedGemmArgs& a, const uint8_t* w, const float* const* act, float* y) {
    constexpr size_t kAhead = 2048;
    const int64_t k = a.k;
    const size_t row_bytes = static_cast<size_t>(k) * sizeof(uint16_t);
    const size_t skip = R * a.w_stride - row_bytes;
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 * kChunk <= k; i += 2 * kChunk) {
        __m512 av[C][2];
        for (int c = 0; c < C; ++c) {
            av[c][0] = _mm512_loadu_ps(act[c] + i);
            av[c][1] = _mm512_loadu_ps(act[c] + i + kChunk);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + static_cast<size_t>(r) * a.w_stride;
            prefetch_ahead<1, kAhead, _MM_HINT_T1>(row, static_cast<size_t>(i) * 2, row_bytes,
                                                   skip);
            const auto* h = reinterpret_cast<const __m256i*>(row) + i / kChunk;
            const __m512 w0 = _mm512_castsi512_ps(to_f32<kType>(_mm256_loadu_si256(h)));
            const __m512 w1 = _mm512_castsi512_ps(to_f32<kType>(_mm256_loadu_si256(h + 1)));
            for (int c = 0; c < C; ++c) {
                acc[r][c] = _mm512_fmadd_ps(w0, av[c][0], acc[r][c]);
                acc[r][c] = _mm512_fmadd_ps(w1, av[c][1], acc[r][c]);
            }
        }
    }
    for (; i < k; i += kChunk) {  // the activations are zero past k
        for (int r = 0; r < R; ++r) {
            const auto* row =
                reinterpret_cast<const uint16_t*>(w + static_cast<size_t>(r) * a.w_stride);
            const __m512 wv = _mm512_castsi512_ps(load_chunk<kType>(row, i, k));
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(act[c] + i), acc[r][c]);
        }
    }
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * a.y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
}

// Rows [r0, r1) for activation rows [c0, c0 + C).
template <TensorType kType, int C>
void gemv_cols(const PackedGemmArgs& a, int64_t r0, int64_t r1, int64_t c0) {
    const auto* base = static_cast<const uint8_t*>(a.w);
    const float* act[C];
    for (int c = 0; c < C; ++c)
        act[c] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a.act) +
                                                static_cast<size_t>(c0 + c) * a.act_stride);
    float* y = a.y + c0 * a.y_stride;
    // Eight row streams at b = 1 (as kGemvRows); at b = 2..3 four rows keep
    // the accumulators in registers.
    constexpr int kRows = C == 1 ? kGemvRows : 4;
    int64_t r = r0;
    for (; r + kRows <= r1; r += kRows)
        gemv_rows<kType, kRows, C>(a, base + static_cast<size_t>(r) * a.w_stride, act, y + r);
    for (; r < r1; ++r)
        gemv_rows<kType, 1, C>(a, base + static_cast<size_t>(r) * a.w_stride, act, y + r);
}

// Any batch, in passes of up to three activation rows (matmul gives it
// fewer than kMinBatch).
template <TensorType kType>
void gemv_tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void*) {
    for (int64_t c0 = 0; c0 < a.b; c0 += 3) {
        with_count<3>(a.b - c0 < 3 ? static_cast<int>(a.b - c0) : 3, [&](auto c) {
            gemv_cols<kType, decltype(c)::value>(a, r0, r1, c0);
        });
    }
}

// From this batch on the F32 tiles beat the GEMV (in its passes of three
// rows, the weights of a 16-row tile come from L2 after the first). One
// thread of an AVX-512 Xeon without BF16 products, 8192 x 2048 F16,
// GFLOP/s GEMV vs tiles: b = 4 64 vs 25, 16 82-87 vs 71-73, 64 95 vs 115,
// 256 85 vs 124.
constexpr int64_t kMinBatch = 32;

}  // namespace

PackedGemm float_f32_entry(TensorType type) {
    PackedGemm p{act_bytes, work_bytes, nullptr,
                 type == TensorType::BF16 ? tile<TensorType::BF16> : tile<TensorType::F16>};
    p.min_batch = kMinBatch;
    p.pack_group = pack_group;
    p.long_runs = true;
    return p;
}

PackedGemm float_gemv_entry(TensorType type) {
    return PackedGemm{gemv_act_bytes, gemv_work_bytes, gemv_pack_act,
                      type == TensorType::BF16 ? gemv_tile<TensorType::BF16>
                                               : gemv_tile<TensorType::F16>};
}

void register_gemm_f32(KernelTable& table) {
    for (TensorType t : {TensorType::F16, TensorType::BF16}) {
        packed_row(table, t) = float_gemv_entry(t);
        packed_large_row(table, t) = float_f32_entry(t);
    }
}

}  // namespace pensieve::kernels::avx512
