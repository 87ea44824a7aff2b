// Q6_K matmul on AVX-512 VNNI for batches of kQ6MinBatch rows or more (the
// `packed_large` row of Q6_K): a tile of weight rows is unpacked once into
// int8 quants and per-sub-block scale vectors, then dotted with every
// activation row. The fused GEMV (gemv_q6k.cpp) unpacks each super-block
// again for every three activation rows; here the unpacking is paid once per
// tile, and a super-block costs six multiplies per row pair (q6_block_sum).
//
// Arithmetic: a super-block's int32 sum Σ_j sc_j Σ_e q_e a_e (q = the 6-bit
// value - 32, a = the Q8_K quant) as the reference's, from
//   vpdpbusd(a + 128, q)   (four products per int32 lane; |sum| <= 4·255·32)
//   vpackssdw              (two vectors' lane sums to int16, exactly)
//   vpdpwssd(.., scale)    (times the sub-block's scale, summed in int32)
// The +128 that makes a an unsigned operand adds 128 sc_j Σ q_e to each int32
// lane, a constant of the weight row: unpacking stores its negation per lane
// (the same sum with every a = 0), and every super-block's sum starts from
// it. So each lane holds exactly its share of the reference's integer sum
// before it is converted to float (subtracting the offset in float instead,
// after the lanes are scaled and summed, leaves a rounding error of the
// offset's size, which can exceed a result near 0).
//
// Row layouts (nb super-blocks, n16 = ceil(nb / 16), zero past the row):
//   activation: qs[nb][256] uint8 (a + 128) | d[n16][16] f32
//   weights:    q[nb][256] int8 | sc[nb][2][32] int16 | start[nb][16] int32 |
//               d[n16][16] f32
// where sc[i][u] is the scale vector of the lane sums vpackssdw makes from
// elements 128u..128u+127 (see pair_scale_index).
#include "kernels/x86/gcc_avx512_warnings.hpp"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/traits.hpp"
#include "kernels/x86/avx512/avx512.hpp"
#include "kernels/x86/avx512/packed.hpp"
#include "kernels/x86/avx512/q6k_unpack.hpp"

namespace pensieve::kernels::avx512 {
namespace {

struct Q6Geometry {
    int64_t nb, n16;
    explicit Q6Geometry(int64_t k) : nb(k / kQKK), n16((k / kQKK + 15) / 16) {}
    size_t act_d() const { return static_cast<size_t>(nb) * kQKK; }
    size_t act_bytes() const { return act_d() + static_cast<size_t>(n16) * 64; }
    size_t w_sc() const { return static_cast<size_t>(nb) * kQKK; }
    size_t w_start() const { return w_sc() + static_cast<size_t>(nb) * 128; }
    size_t w_d() const { return w_start() + static_cast<size_t>(nb) * 64; }
    size_t w_bytes() const { return w_d() + static_cast<size_t>(n16) * 64; }
};

size_t act_bytes(int64_t k) {
    return Q6Geometry(k).act_bytes();
}

size_t work_bytes(int64_t k) {
    return Q6Geometry(k).w_bytes() * static_cast<size_t>(kPackedTileRows);
}

// Q8_K quants by the active table's quantizer (bit-exact with the
// reference's in every table), shifted to unsigned.
void pack_act(const float* x, void* dst, int64_t k) {
    const Q6Geometry geo(k);
    const QuantizeRowFn quantize = traits(TensorType::Q8_K).quantize_row;
    auto* row = static_cast<uint8_t*>(dst);
    auto* d = reinterpret_cast<float*>(row + geo.act_d());
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int64_t i = 0; i < geo.nb; ++i) {
        BlockQ8_K blk;
        quantize(x + i * kQKK, &blk, kQKK);
        for (int v = 0; v < 4; ++v) {
            _mm512_storeu_si512(row + i * kQKK + 64 * v,
                                _mm512_xor_si512(load512(blk.qs + 64 * v), flip));
        }
        d[i] = blk.d;
    }
    for (int64_t i = geo.nb; i < geo.n16 * 16; ++i) d[i] = 0.0f;
}

// int16 g of scale vector u (g = 8L + i in 128-bit lane L) = the scale of the
// sub-block whose lane sums vpackssdw puts there from vectors 2u (i < 4) and
// 2u + 1: lanes 4L..4L+3 of vector v are sub-block 4v + L.
inline __m512i pair_scale_index(int u) {
    alignas(64) int16_t idx[32];
    for (int g = 0; g < 32; ++g)
        idx[g] = static_cast<int16_t>(8 * u + g / 8 + (g % 8 >= 4 ? 4 : 0));
    return _mm512_load_si512(idx);
}

// The int32 sum of one super-block of activation a (unsigned) and weights q
// (int8), lanes as the micro-kernel leaves them: vpdpbusd sums four products
// per int32 lane (|sum| <= 4 * 255 * 32, fits int16), vpackssdw packs the
// lanes of two vectors to int16 and vpdpwssd scales and sums them: six
// multiplies per 256 elements, where vpmaddubsw + vpdpwssd take eight.
inline __m512i q6_block_sum(__m512i start, const __m512i* a, const __m512i* q, const __m512i* s) {
    const __m512i z = _mm512_setzero_si512();
    const __m512i x0 =
        _mm512_packs_epi32(_mm512_dpbusd_epi32(z, a[0], q[0]), _mm512_dpbusd_epi32(z, a[1], q[1]));
    const __m512i x1 =
        _mm512_packs_epi32(_mm512_dpbusd_epi32(z, a[2], q[2]), _mm512_dpbusd_epi32(z, a[3], q[3]));
    return _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(start, x0, s[0]), x1, s[1]);
}

void unpack_row(const uint8_t* src, const Q6Geometry& geo, uint8_t* dst) {
    const __m512i sidx[2] = {pair_scale_index(0), pair_scale_index(1)};
    const __m512i u128 = _mm512_set1_epi8(static_cast<char>(0x80)), bias = _mm512_set1_epi8(32);
    auto* d = reinterpret_cast<float*>(dst + geo.w_d());
    for (int64_t i = 0; i < geo.nb; ++i) {
        const auto& b = *reinterpret_cast<const BlockQ6_K*>(src + i * sizeof(BlockQ6_K));
        const __m512i sc = _mm512_castsi256_si512(
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales))));
        __m512i q[4];
        q6_unpack_half(b, 0, q[0], q[1]);
        q6_unpack_half(b, 1, q[2], q[3]);
        __m512i s[2];
        for (int u = 0; u < 2; ++u) {
            s[u] = _mm512_permutexvar_epi16(sidx[u], sc);
            _mm512_storeu_si512(dst + geo.w_sc() + i * 128 + 64 * u, s[u]);
        }
        for (int v = 0; v < 4; ++v) {
            q[v] = _mm512_sub_epi8(q[v], bias);
            _mm512_storeu_si512(dst + i * kQKK + 64 * v, q[v]);
        }
        // The offset per lane: the same sum with every activation at 0 (+128).
        const __m512i a0[4] = {u128, u128, u128, u128};
        const __m512i offset = q6_block_sum(_mm512_setzero_si512(), a0, q, s);
        _mm512_storeu_si512(dst + geo.w_start() + i * 64,
                            _mm512_sub_epi32(_mm512_setzero_si512(), offset));
        d[i] = half(b.d);
    }
    for (int64_t i = geo.nb; i < geo.n16 * 16; ++i) d[i] = 0.0f;
}

// y[c][r] for R unpacked weight rows x C activation rows over the whole k.
template <int R, int C>
void micro(const Q6Geometry& geo, const uint8_t* w, size_t w_stride, const uint8_t* const* act,
           float* y, int64_t y_stride) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    const size_t a_d = geo.act_d(), w_sc = geo.w_sc(), w_start = geo.w_start(), w_d = geo.w_d();
    for (int64_t i = 0; i < geo.nb; ++i) {
        for (int r = 0; r < R; ++r) {
            const uint8_t* wr = w + static_cast<size_t>(r) * w_stride;
            __m512i q[4], s[2];
            for (int v = 0; v < 4; ++v) q[v] = load512(wr + i * kQKK + 64 * v);
            for (int u = 0; u < 2; ++u) s[u] = load512(wr + w_sc + i * 128 + 64 * u);
            const __m512i start = load512(wr + w_start + i * 64);
            const __m512 dw = _mm512_set1_ps(reinterpret_cast<const float*>(wr + w_d)[i]);
            for (int c = 0; c < C; ++c) {
                const uint8_t* a = act[c] + i * kQKK;
                const __m512i av[4] = {load512(a), load512(a + 64), load512(a + 128),
                                       load512(a + 192)};
                const __m512i isum = q6_block_sum(start, av, q, s);
                const __m512 scale = _mm512_mul_ps(
                    dw, _mm512_set1_ps(reinterpret_cast<const float*>(act[c] + a_d)[i]));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), scale, acc[r][c]);
            }
        }
    }
    for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) y[c * y_stride + r] = _mm512_reduce_add_ps(acc[r][c]);
}

constexpr int kMicroRows = 4;  // weight rows per micro-kernel call
constexpr int kMicroCols = 4;  // activation rows per micro-kernel call

template <int R>
void micro_c(int c_count, const Q6Geometry& geo, const uint8_t* w, size_t w_stride,
             const uint8_t* const* act, float* y, int64_t y_stride) {
    with_count<kMicroCols>(c_count, [&](auto c) {
        micro<R, decltype(c)::value>(geo, w, w_stride, act, y, y_stride);
    });
}

void micro_rc(int r_count, int c_count, const Q6Geometry& geo, const uint8_t* w, size_t w_stride,
              const uint8_t* const* act, float* y, int64_t y_stride) {
    with_count<kMicroRows>(r_count, [&](auto r) {
        micro_c<decltype(r)::value>(c_count, geo, w, w_stride, act, y, y_stride);
    });
}

void tile(const PackedGemmArgs& a, int64_t r0, int64_t r1, void* work) {
    const Q6Geometry geo(a.k);
    const size_t w_stride = geo.w_bytes();
    auto* buf = static_cast<uint8_t*>(work);
    const auto* wsrc = static_cast<const uint8_t*>(a.w);
    for (int64_t r = r0; r < r1; ++r)
        unpack_row(wsrc + static_cast<size_t>(r) * a.w_stride, geo,
                   buf + static_cast<size_t>(r - r0) * w_stride);
    const auto* abase = static_cast<const uint8_t*>(a.act);
    const int64_t parts = (a.b + kMicroCols - 1) / kMicroCols;
    for (int64_t c = 0; c < a.b; c += kMicroCols) {
        prefetch_next_tile(a.w, a.w_stride, r1, c / kMicroCols, parts);
        const int cn = static_cast<int>(a.b - c < kMicroCols ? a.b - c : kMicroCols);
        const uint8_t* act[kMicroCols];
        for (int j = 0; j < kMicroCols; ++j)
            act[j] = abase + static_cast<size_t>(c + (j < cn ? j : 0)) * a.act_stride;
        for (int64_t r = r0; r < r1; r += kMicroRows) {
            const int rn = static_cast<int>(r1 - r < kMicroRows ? r1 - r : kMicroRows);
            micro_rc(rn, cn, geo, buf + static_cast<size_t>(r - r0) * w_stride, w_stride, act,
                     a.y + c * a.y_stride + r, a.y_stride);
        }
    }
}

}  // namespace

PackedGemm q6_k_tile_entry() {
    PackedGemm p{act_bytes, work_bytes, pack_act, tile};
    p.min_batch = kQ6MinBatch;
    p.long_runs = true;  // tile() prefetches the next tile
    return p;
}

}  // namespace pensieve::kernels::avx512
