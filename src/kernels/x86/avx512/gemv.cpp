// Fused AVX-512 VNNI GEMV for the 32-element formats (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0) at batch 1..kMaxGemvCols: the weights go from their blocks
// straight into the dot products with the packed activation rows of
// gemm.cpp (Q8_0 quants, see its header), without the unpacking to a buffer
// that larger batches amortise. gemv_k.cpp is the same for Q4_K / Q5_K.
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/legacy_blocks.hpp"
#include "kernels/x86/avx512/packed.hpp"

namespace pensieve::kernels::avx512 {
namespace {

// b = 1..7 for the 32-element formats: the weights go straight from their
// blocks into the dot products with C activation rows (unpacking to a
// buffer first costs as much as the dots when each weight is used a few
// times), R weight rows sharing the activation loads. Each group's block
// scales come out of the vectors loaded from its first bytes (one word
// permute); a 16-block gather of them per row cost more than the rest of the
// loop. The offsets m of Q4_1 / Q5_1 are applied per lane with the
// activation's dx * isum. Rows stream from memory, so each prefetches ahead
// (packed.hpp).
template <Legacy F, int R, int C>
struct GemvRows {
    using Fmt = LegacyFormat<F>;
    // Words [d0 x4, d1 x4, d2 x4, d3 x4] (and for Q4_1 / Q5_1 [m0 x4, ...]
    // after them) of the group's words 0..31 and 32..63: blocks of kWords
    // words have d at word kWords * j and m at kWords * j + 1.
    static constexpr int kWords = static_cast<int>(Fmt::bytes / 2);
    static constexpr int pair(int word) { return (word << 16) | word; }
    static constexpr int m_pair(int word) { return Fmt::has_m ? pair(word + 1) : 0; }
    // Cache lines prefetched per row and step of four blocks: as many as
    // the step's bytes span, so that from one step to the next the
    // prefetched lines never skip one. Q8_0's 136 bytes took two and
    // skipped a line in nine, left to a demand miss: 2 threads, Zen 4,
    // interleaved runs, GB/s, 2 -> 3 lines: 49152 x 576 (SmolLM2's output)
    // 22-27 -> 34-39, 24576 x 1152 28-35 -> 44-49, 6912 x 4096 40-49 ->
    // 44-54.
    static constexpr int kStepLines = static_cast<int>((4 * Fmt::bytes + 63) / 64);

    const Geometry& geo;
    const uint8_t* w;
    size_t w_stride;
    const uint8_t* const* act;
    size_t row_bytes, skip;
    __m512i sc_idx = _mm512_setr_epi32(
        pair(0), pair(0), pair(kWords), pair(kWords), pair(2 * kWords), pair(2 * kWords),
        pair(3 * kWords), pair(3 * kWords), m_pair(0), m_pair(0), m_pair(kWords), m_pair(kWords),
        m_pair(2 * kWords), m_pair(2 * kWords), m_pair(3 * kWords), m_pair(3 * kWords));
    __m512 acc[R][C] = {};

    // Group g of `count` blocks (kFull: 4, known at compile time, so that
    // every load is a whole vector and no lane needs masking).
    template <bool kFull>
    inline __attribute__((always_inline)) void step(int64_t g, int count) {
        __m512 dxa[C], s_lane[C];
        __m512i off[C];
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
            dxa[c] = _mm512_loadu_ps(act[c] + geo.act_dx() + g * 64);
            const __m512i isum = load512(act[c] + geo.act_isum() + g * 64);
            off[c] = _mm512_setzero_si512();
            s_lane[c] = _mm512_setzero_ps();
            if constexpr (Fmt::has_m) {
                s_lane[c] = _mm512_mul_ps(dxa[c], _mm512_cvtepi32_ps(isum));
            } else {
                off[c] =
                    _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(isum, Fmt::shift));
            }
        }
        const int words = kFull ? kWords * 4 : kWords * count;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const uint8_t* row = w + static_cast<size_t>(r) * w_stride;
            const size_t pos = static_cast<size_t>(4 * g) * Fmt::bytes;
            const uint8_t* blk = row + pos;
            __m512i lo, hi, sc;
            prefetch_ahead<kStepLines, F == Legacy::Q4_0 ? 1024 : 1536, _MM_HINT_T1>(
                row, pos, row_bytes, skip);
            // The quants as the tile unpacking reads them (legacy_blocks.hpp);
            // the scales from the same first words (the compiler merges the
            // repeated loads).
            load_group<F>(blk, kFull ? 4 : count, lo, hi);
            if constexpr (3 * kWords + 1 < 32) {  // Q4_0, Q4_1: the scales in words 0..31
                sc = _mm512_permutexvar_epi16(sc_idx, load_words(blk, words));
            } else {
                sc = _mm512_permutex2var_epi16(load_words(blk, words), sc_idx,
                                               load_words(blk + 64, words - 32));
            }
            // Lanes of blocks past the row hold garbage scales: zero them.
            const auto valid = static_cast<__mmask16>(kFull ? 0xFFFFu : (1u << (4 * count)) - 1u);
            const __m512 d = _mm512_maskz_cvtph_ps(valid, _mm512_castsi512_si256(sc));
            __m512 m = _mm512_setzero_ps();
            if constexpr (Fmt::has_m)
                m = _mm512_maskz_cvtph_ps(valid, _mm512_extracti64x4_epi64(sc, 1));
#pragma GCC unroll 8
            for (int c = 0; c < C; ++c) {
                // Starts from -offset * isum (zero for the formats with m).
                __m512i p = _mm512_dpbusd_epi32(off[c], lo, load512(act[c] + g * 128));
                p = _mm512_dpbusd_epi32(p, hi, load512(act[c] + g * 128 + 64));
                if constexpr (Fmt::has_m) acc[r][c] = _mm512_fmadd_ps(m, s_lane[c], acc[r][c]);
                acc[r][c] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(d, dxa[c]), acc[r][c]);
            }
        }
    }
};

template <Legacy F, int R, int C>
void gemv_rows(const Geometry& geo, const uint8_t* w, size_t w_stride, const uint8_t* const* act,
               float* y, int64_t y_stride) {
    const size_t row_bytes = static_cast<size_t>(geo.nb) * LegacyFormat<F>::bytes;
    GemvRows<F, R, C> k{geo, w, w_stride, act, row_bytes, R * w_stride - row_bytes};
    const int64_t full = geo.nb / 4;
    for (int64_t g = 0; g < full; ++g) k.template step<true>(g, 4);
    if (full < geo.ng) k.template step<false>(full, static_cast<int>(geo.nb - 4 * full));
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(k.acc[r][c]);
}

// Weight rows interleaved per activation-row count C: kGemvRows streams at
// C = 1 (memory-bound), four at C = 2..4 and two at C = 5..7 (R x C
// accumulators in registers). Engine decode of 2..7 sequences (SmolLM2, 2
// threads) against unpacking tiles for b >= 2: x4 290 -> 470 tok/s
// aggregate, x5..x7 +10-20% over a C <= 4 limit.
template <Legacy F, int C>
void gemv_cols(const PackedGemmArgs& a, int64_t r0, int64_t r1) {
    const Geometry geo(a.k);
    const auto* w = static_cast<const uint8_t*>(a.w);
    const uint8_t* act[C];
    for (int c = 0; c < C; ++c)
        act[c] = static_cast<const uint8_t*>(a.act) + static_cast<size_t>(c) * a.act_stride;
    constexpr int kRows = C == 1 ? kGemvRows : C <= 4 ? 4 : 2;
    int64_t r = r0;
    for (; r + kRows <= r1; r += kRows)
        gemv_rows<F, kRows, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act,
                               a.y + r, a.y_stride);
    if constexpr (kRows > 4 || C > 4) {
        for (; r + 2 <= r1; r += 2)
            gemv_rows<F, 2, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act,
                               a.y + r, a.y_stride);
    }
    for (; r < r1; ++r)
        gemv_rows<F, 1, C>(geo, w + static_cast<size_t>(r) * a.w_stride, a.w_stride, act, a.y + r,
                           a.y_stride);
}

template <Legacy F>
void gemv_format(const PackedGemmArgs& a, int64_t r0, int64_t r1) {
    using Cols = void (*)(const PackedGemmArgs&, int64_t, int64_t);
    static constexpr Cols kCols[kMaxGemvCols] = {gemv_cols<F, 1>, gemv_cols<F, 2>, gemv_cols<F, 3>,
                                                 gemv_cols<F, 4>, gemv_cols<F, 5>, gemv_cols<F, 6>,
                                                 gemv_cols<F, 7>};
    kCols[a.b - 1](a, r0, r1);
}

}  // namespace

void gemv_tile(const PackedGemmArgs& args, int64_t r0, int64_t r1, TensorType type) {
    switch (type) {
        case TensorType::Q4_0:
            return gemv_format<Legacy::Q4_0>(args, r0, r1);
        case TensorType::Q4_1:
            return gemv_format<Legacy::Q4_1>(args, r0, r1);
        case TensorType::Q5_0:
            return gemv_format<Legacy::Q5_0>(args, r0, r1);
        case TensorType::Q5_1:
            return gemv_format<Legacy::Q5_1>(args, r0, r1);
        default:
            return gemv_format<Legacy::Q8_0>(args, r0, r1);
    }
}

}  // namespace pensieve::kernels::avx512
