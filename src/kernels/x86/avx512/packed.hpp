// The packed row layouts of the AVX-512 matmul path (see gemm.cpp) and small
// helpers shared by its translation units. Internal linkage only, as
// everything under x86/ (each ISA file gets its own copy).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/blocks.hpp"
#include "kernels/dispatch.hpp"

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

// The first n of 16 lanes (none for n <= 0).
inline __mmask16 mask16(int64_t n) {
    if (n <= 0) return 0;
    return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// Software prefetch for the b = 1 kernels, which stream their weight rows
// from memory with R rows interleaved. A core keeps only so many cache-line
// misses in flight, and the hardware prefetcher starts every short row stream
// cold, so each stream asks for the line kAhead bytes past its read position
// (pos, within a row of row_bytes). Near the row's end that reaches into the
// row the same stream reads next, R rows further on: `skip` = R * row stride
// - row_bytes. Prefetches never fault, so reaching past the task's last row
// is harmless. kLines lines per call: as many as one step's bytes span,
// unaligned (fewer skip a line every few steps, left to a demand miss).
// kAhead per format was measured on a 2-core Xeon (GEMV over 1 GB, 2
// threads, alternating runs, GB/s): Q4_1 1536 bytes (1024: 20.4, 1536: 21.9),
// Q4_0 1024 (768: 20.8, 1024: 22.0, 1536: 21.7), Q8_0 1536 (1024 and 1280 no
// better); Q4_K 2048 on a 2-core Zen 4 (1 thread: 1024: 21.3, 2048: 22.4,
// 3072: 21.6). kHint: the cache level the lines go to. Every GEMV prefetches
// into L2 (_MM_HINT_T1): on the Zen 4 (48 GB/s read bandwidth, where the
// GEMVs stall on memory rather than compute) into L1 left most misses
// waiting, and L2 measured (1 thread, from memory) Q4_K 13.5 -> 21.5 GB/s,
// Q4_1 12.3 -> 21, Q8_0 15 -> 22, Q5_0 15 -> 19.5; on the Xeon L2 cost Q4_1,
// Q5_0 and Q8_0 3-6%, a far smaller loss than the Zen 4's gain.
template <int kLines, size_t kAhead, decltype(_MM_HINT_T0) kHint = _MM_HINT_T0>
inline void prefetch_ahead(const uint8_t* row, size_t pos, size_t row_bytes, size_t skip) {
    // A row shorter than kAhead (k = 2048 in Q6_K is 1680 bytes, k = 1152 in
    // Q8_0 1224) is prefetched one row ahead in its stream: the same offset
    // of the row R rows on. From memory, 2 threads, Zen 4, interleaved runs:
    // Q6_K 8192 x 2048 35-36 -> 48-50 GB/s, Q8_0 6912 x 1152 26-28 -> 30-32
    // (kAhead past the row's end, as longer rows take it: unchanged; exactly
    // kAhead on in the stream, R or 2R rows on: 25-26 and 39-41).
    const size_t at = pos + (kAhead < row_bytes ? kAhead : row_bytes);
    const uint8_t* p = row + at + (at >= row_bytes ? skip : 0);
    for (int l = 0; l < kLines; ++l) _mm_prefetch(reinterpret_cast<const char*>(p + 64 * l), kHint);
}

// Part `part` of `parts` of the next tile's weights (rows r1..r1+16 of the
// matrix at w, `stride` bytes apart), prefetched into L2 while this tile is
// dotted: unpacking a tile otherwise waits on memory for rows no hardware
// prefetcher has seen. Useful where the next tile is this thread's
// (PackedGemm::long_runs); past the matrix's end prefetches never fault.
inline void prefetch_next_tile(const void* w, size_t stride, int64_t r1, int64_t part,
                               int64_t parts) {
    const size_t bytes = static_cast<size_t>(kPackedTileRows) * stride;
    const size_t from = bytes * static_cast<size_t>(part) / static_cast<size_t>(parts);
    const size_t to = bytes * static_cast<size_t>(part + 1) / static_cast<size_t>(parts);
    const auto* base = static_cast<const uint8_t*>(w) + static_cast<size_t>(r1) * stride;
    for (size_t at = from & ~size_t{63}; at < to; at += 64)
        _mm_prefetch(reinterpret_cast<const char*>(base + at), _MM_HINT_T1);
}

// Weight rows interleaved by the b = 1 kernels: eight row streams keep more
// misses in flight than four (from memory, 2 threads: Q4_1 20.1 -> 23.0 GB/s,
// Q8_0 24.9 -> 26.9); sixteen measured slower.
constexpr int kGemvRows = 8;

// fn(std::integral_constant<int, n>{}) for a run-time count 1 <= n <= N (n
// past N as N): a micro-kernel instantiated per row or column count, so
// that its accumulators stay in registers.
template <int N, typename Fn>
inline void with_count(int n, Fn&& fn) {
    if constexpr (N > 1) {
        if (n < N) {
            with_count<N - 1>(n, fn);
            return;
        }
    }
    fn(std::integral_constant<int, N>{});
}

// The activation groups of a tile whose weight rows r0..r1 are unpacked
// (the float-weight tiles, PackedGemm::pack_group layouts): for each group of
// up to kPackedActGroup rows, a part of the next tile is prefetched, then
// group(act, cols, y) runs with the group's packed rows, their count and the
// group's first output.
template <typename Group>
inline void for_act_groups(const PackedGemmArgs& a, int64_t r0, int64_t r1, Group&& group) {
    const auto* act = static_cast<const uint8_t*>(a.act);
    const int64_t groups = (a.b + kPackedActGroup - 1) / kPackedActGroup;
    for (int64_t c = 0; c < a.b; c += kPackedActGroup) {
        const int64_t g = c / kPackedActGroup;
        prefetch_next_tile(a.w, a.w_stride, r1, g, groups);
        const int cols = static_cast<int>(a.b - c < kPackedActGroup ? a.b - c : kPackedActGroup);
        group(act + static_cast<size_t>(g) * a.act_stride, cols, a.y + c * a.y_stride + r0);
    }
}

}  // namespace
}  // namespace pensieve::kernels::avx512
