// Quantized dot-product kernels on 256-bit vectors, shared by the AVX2 and the
// AVX-512 translation units. Each kernel is a template over an Int8 policy
// that supplies the one instruction sequence that differs:
//
//   Int8::dot(u, s) -> 8 x int32: sums of 4 adjacent u8 x s8 products
//
// (AVX2: vpmaddubsw + vpmaddwd; AVX-512 VNNI: vpdpbusd). Everything here has
// internal linkage and is only included by ISA translation units; the scalar
// meaning of every kernel is its counterpart in ref/.
//
// Every kernel computes one weight row against N = 1..4 activation rows so
// that the weight block is unpacked once and reused N times.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/blocks.hpp"
#include "kernels/k_scales.hpp"

namespace pensieve::kernels::x86 {
namespace {

inline float half(uint16_t h) {
    return _cvtsh_ss(h);
}

inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 16 bytes of packed nibbles -> 32 bytes: the low nibbles (elements 0..15)
// then the high nibbles (elements 16..31), as the 32-element formats order them.
inline __m256i nibbles(const uint8_t* p) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

// Bit j of the 32 bits at p -> byte j is 0xFF if set, 0x00 if clear.
inline __m256i bits_to_bytes(const uint8_t* p) {
    int32_t bits = 0;
    __builtin_memcpy(&bits, p, 4);
    // Byte j gets byte j/8 of `bits`; OR-ing every bit but bit j%8 in and
    // comparing with all-ones leaves exactly that bit's state.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1));
}

template <typename Block>
const Block* act_row(const void* act, size_t stride, int j) {
    return reinterpret_cast<const Block*>(static_cast<const char*>(act) +
                                          static_cast<size_t>(j) * stride);
}

// ---- 32-element formats against Q8_0 --------------------------------------

// Signed weights q (-128..127) times Q8_0 activations. The u8 x s8 multiply
// gets |q| and the activation with q's sign moved onto it.
template <class Int8, int N, typename Unpack>
void dot_signed_q8_0(int64_t k, const void* w, size_t block_bytes, const void* act, size_t stride,
                     float* out, Unpack unpack) {
    const auto* wb = static_cast<const uint8_t*>(w);
    __m256 acc[2][N];
    for (int j = 0; j < N; ++j) acc[0][j] = acc[1][j] = _mm256_setzero_ps();
    const int64_t nb = k / kQK;
    auto block = [&](int64_t i, __m256* accs) {
        float dw = 0.0f;
        const __m256i q = unpack(wb + static_cast<size_t>(i) * block_bytes, dw);
        const __m256i aq = _mm256_sign_epi8(q, q);
        for (int j = 0; j < N; ++j) {
            const BlockQ8_0& a = act_row<BlockQ8_0>(act, stride, j)[i];
            const __m256i s = _mm256_sign_epi8(load256(a.qs), q);
            const __m256 sum = _mm256_cvtepi32_ps(Int8::dot(aq, s));
            accs[j] = _mm256_fmadd_ps(sum, _mm256_set1_ps(dw * half(a.d)), accs[j]);
        }
    };
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {  // two accumulators hide the FMA latency when N = 1
        block(i, acc[0]);
        block(i + 1, acc[1]);
    }
    if (i < nb) block(i, acc[0]);
    for (int j = 0; j < N; ++j) out[j] = hsum(_mm256_add_ps(acc[0][j], acc[1][j]));
}

// Unsigned weights q with an offset m (Q4_1, Q5_1): d*q + m against Q8_0.
// The m term needs the activation block's quant sum, taken with a u8 x s8
// dot against ones.
template <class Int8, int N, typename Unpack>
void dot_offset_q8_0(int64_t k, const void* w, size_t block_bytes, const void* act, size_t stride,
                     float* out, Unpack unpack) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const __m256i ones = _mm256_set1_epi8(1);
    __m256 acc[N];
    for (int j = 0; j < N; ++j) acc[j] = _mm256_setzero_ps();
    const int64_t nb = k / kQK;
    for (int64_t i = 0; i < nb; ++i) {
        float dw = 0.0f, mw = 0.0f;
        const __m256i q = unpack(wb + static_cast<size_t>(i) * block_bytes, dw, mw);
        for (int j = 0; j < N; ++j) {
            const BlockQ8_0& a = act_row<BlockQ8_0>(act, stride, j)[i];
            const __m256i s = load256(a.qs);
            const float da = half(a.d);
            const __m256 qa = _mm256_cvtepi32_ps(Int8::dot(q, s));
            const __m256 sa = _mm256_cvtepi32_ps(Int8::dot(ones, s));
            acc[j] = _mm256_fmadd_ps(qa, _mm256_set1_ps(dw * da), acc[j]);
            acc[j] = _mm256_fmadd_ps(sa, _mm256_set1_ps(mw * da), acc[j]);
        }
    }
    for (int j = 0; j < N; ++j) out[j] = hsum(acc[j]);
}

template <class Int8>
struct Q4_0Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_signed_q8_0<Int8, N>(k, w, sizeof(BlockQ4_0), act, stride, out,
                                 [](const uint8_t* p, float& d) {
                                     const auto& b = *reinterpret_cast<const BlockQ4_0*>(p);
                                     d = half(b.d);
                                     return _mm256_sub_epi8(nibbles(b.qs), _mm256_set1_epi8(8));
                                 });
    }
};

template <class Int8>
struct Q5_0Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_signed_q8_0<Int8, N>(
            k, w, sizeof(BlockQ5_0), act, stride, out, [](const uint8_t* p, float& d) {
                const auto& b = *reinterpret_cast<const BlockQ5_0*>(p);
                d = half(b.d);
                const __m256i high = _mm256_and_si256(bits_to_bytes(b.qh), _mm256_set1_epi8(0x10));
                return _mm256_sub_epi8(_mm256_or_si256(nibbles(b.qs), high), _mm256_set1_epi8(16));
            });
    }
};

template <class Int8>
struct Q8_0Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_signed_q8_0<Int8, N>(k, w, sizeof(BlockQ8_0), act, stride, out,
                                 [](const uint8_t* p, float& d) {
                                     const auto& b = *reinterpret_cast<const BlockQ8_0*>(p);
                                     d = half(b.d);
                                     return load256(b.qs);
                                 });
    }
};

template <class Int8>
struct Q4_1Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_offset_q8_0<Int8, N>(k, w, sizeof(BlockQ4_1), act, stride, out,
                                 [](const uint8_t* p, float& d, float& m) {
                                     const auto& b = *reinterpret_cast<const BlockQ4_1*>(p);
                                     d = half(b.d);
                                     m = half(b.m);
                                     return nibbles(b.qs);
                                 });
    }
};

template <class Int8>
struct Q5_1Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_offset_q8_0<Int8, N>(
            k, w, sizeof(BlockQ5_1), act, stride, out, [](const uint8_t* p, float& d, float& m) {
                const auto& b = *reinterpret_cast<const BlockQ5_1*>(p);
                d = half(b.d);
                m = half(b.m);
                const __m256i high = _mm256_and_si256(bits_to_bytes(b.qh), _mm256_set1_epi8(0x10));
                return _mm256_or_si256(nibbles(b.qs), high);
            });
    }
};

// ---- K formats against Q8_K -----------------------------------------------
// Each super-block is unpacked once into eight runs of 32 unsigned quants plus
// their 16-bit scale vectors, then dotted with every activation row. Sub-block
// sums are weighted by their integer scales with vpmaddwd and kept in int32
// for the whole super-block; mins (and Q6_K's +32 bias) use the activation's
// precomputed 16-element sums.

// Weighted sums of one 32-element run: maddubs pairs, then vpmaddwd by scale.
inline __m256i scaled(__m256i q, const int8_t* a, __m256i scale16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a)), scale16);
}

// One unpacked super-block: runs[r] holds elements 32r..32r+31 (0..63 each),
// scale[r] the 16-bit scales of its pairs, and bias the 16-bit weight of each
// of the activation's 16 bsums in the term subtracted per block (the mins of
// Q4_K/Q5_K, the +32 of Q6_K).
struct KBlock {
    __m256i runs[8];
    __m256i scale[8];
    __m256i bias;
};

inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

template <int N, typename Unpack>
void dot_k(int64_t k, const void* act, size_t stride, float* out, Unpack unpack) {
    __m256 acc[N];
    float corr[N];
    for (int j = 0; j < N; ++j) {
        acc[j] = _mm256_setzero_ps();
        corr[j] = 0.0f;
    }
    KBlock kb;
    for (int64_t i = 0; i < k / kQKK; ++i) {
        float d = 0.0f, dcorr = 0.0f;
        unpack(i, kb, d, dcorr);
        for (int j = 0; j < N; ++j) {
            const BlockQ8_K& a = act_row<BlockQ8_K>(act, stride, j)[i];
            __m256i sumi = _mm256_setzero_si256();
            for (int r = 0; r < 8; ++r)
                sumi = _mm256_add_epi32(sumi, scaled(kb.runs[r], a.qs + 32 * r, kb.scale[r]));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(a.d * d), acc[j]);
            const int bias = hsum_i32(_mm256_madd_epi16(load256(a.bsums), kb.bias));
            corr[j] -= a.d * dcorr * static_cast<float>(bias);
        }
    }
    for (int j = 0; j < N; ++j) out[j] = hsum(acc[j]) + corr[j];
}

// Scales of the eight 32-element sub-blocks, and their mins as the weights
// of the 16-element activation sums (each min covers two).
inline void k4_scales(const uint8_t* scales, KBlock& kb) {
    alignas(32) int16_t mins[16];
    for (int s = 0; s < 8; ++s) {
        int sc = 0, mn = 0;
        k4_scale_min(scales, s, sc, mn);
        kb.scale[s] = _mm256_set1_epi16(static_cast<int16_t>(sc));
        mins[2 * s] = mins[2 * s + 1] = static_cast<int16_t>(mn);
    }
    kb.bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(mins));
}

struct Q4_KDot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ4_K*>(w);
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        dot_k<N>(k, act, stride, out, [&](int64_t i, KBlock& kb, float& d, float& dcorr) {
            const BlockQ4_K& b = x[i];
            k4_scales(b.scales, kb);
            for (int c = 0; c < 4; ++c) {
                const __m256i q = load256(b.qs + 32 * c);
                kb.runs[2 * c] = _mm256_and_si256(q, m4);
                kb.runs[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            }
            d = half(b.d);
            dcorr = half(b.dmin);
        });
    }
};

struct Q5_KDot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ5_K*>(w);
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        const __m256i one = _mm256_set1_epi8(1);
        dot_k<N>(k, act, stride, out, [&](int64_t i, KBlock& kb, float& d, float& dcorr) {
            const BlockQ5_K& b = x[i];
            k4_scales(b.scales, kb);
            const __m256i qh = load256(b.qh);
            for (int c = 0; c < 4; ++c) {
                const __m256i q = load256(b.qs + 32 * c);
                // Bit s of qh[l] is bit 4 of element s*32 + l (sub-block s).
                const __m256i h0 =
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
                const __m256i h1 =
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
                kb.runs[2 * c] = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
                kb.runs[2 * c + 1] =
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            }
            d = half(b.d);
            dcorr = half(b.dmin);
        });
    }
};

struct Q6_KDot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const BlockQ6_K*>(w);
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        dot_k<N>(k, act, stride, out, [&](int64_t i, KBlock& kb, float& d, float& dcorr) {
            const BlockQ6_K& b = x[i];
            for (int h = 0; h < 2; ++h) {
                const __m256i l0 = load256(b.ql + 64 * h);
                const __m256i l1 = load256(b.ql + 64 * h + 32);
                const __m256i qh = load256(b.qh + 32 * h);
                // Runs of 32 (elements h*128 + r*32 + l), stored as q + 32 in 0..63.
                __m256i* run = kb.runs + 4 * h;
                run[0] = _mm256_or_si256(
                    _mm256_and_si256(l0, m4),
                    _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4));
                run[1] = _mm256_or_si256(
                    _mm256_and_si256(l1, m4),
                    _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2));
                run[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                         _mm256_and_si256(qh, _mm256_set1_epi8(0x30)));
                run[3] = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                    _mm256_srli_epi16(
                        _mm256_and_si256(qh, _mm256_set1_epi8(static_cast<char>(0xC0))), 2));
                for (int r = 0; r < 4; ++r) {
                    const int s = 8 * h + 2 * r;  // the run's two 16-element sub-blocks
                    kb.scale[4 * h + r] = _mm256_set_m128i(_mm_set1_epi16(b.scales[s + 1]),
                                                           _mm_set1_epi16(b.scales[s]));
                }
            }
            // The +32 bias comes back out as 32 * Σ scale * bsum.
            kb.bias =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
            d = half(b.d);
            dcorr = 32.0f * d;
        });
    }
};

// ---- float weights against F32 activations --------------------------------

template <typename Load8, typename Load1, int N>
void dot_float(int64_t k, const void* w, const void* act, size_t stride, float* out, Load8 load8,
               Load1 load1) {
    __m256 acc[2][N];
    for (int j = 0; j < N; ++j) acc[0][j] = acc[1][j] = _mm256_setzero_ps();
    const float* a[N];
    for (int j = 0; j < N; ++j) a[j] = act_row<float>(act, stride, j);
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256 w0 = load8(w, i), w1 = load8(w, i + 8);
        for (int j = 0; j < N; ++j) {
            acc[0][j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a[j] + i), acc[0][j]);
            acc[1][j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a[j] + i + 8), acc[1][j]);
        }
    }
    for (int j = 0; j < N; ++j) {
        float sum = hsum(_mm256_add_ps(acc[0][j], acc[1][j]));
        for (int64_t t = i; t < k; ++t) sum += load1(w, t) * a[j][t];
        out[j] = sum;
    }
}

struct F32Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_float<decltype(load_f32x8), decltype(load_f32), N>(k, w, act, stride, out, load_f32x8,
                                                               load_f32);
    }
    static constexpr auto load_f32x8 = [](const void* p, int64_t i) {
        return _mm256_loadu_ps(static_cast<const float*>(p) + i);
    };
    static constexpr auto load_f32 = [](const void* p, int64_t i) {
        return static_cast<const float*>(p)[i];
    };
};

struct F16Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_float<decltype(load8), decltype(load1), N>(k, w, act, stride, out, load8, load1);
    }
    static constexpr auto load8 = [](const void* p, int64_t i) {
        return _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i)));
    };
    static constexpr auto load1 = [](const void* p, int64_t i) {
        return half(static_cast<const uint16_t*>(p)[i]);
    };
};

struct Bf16Dot {
    template <int N>
    static void run(int64_t k, const void* w, const void* act, size_t stride, float* out) {
        dot_float<decltype(load8), decltype(load1), N>(k, w, act, stride, out, load8, load1);
    }
    static constexpr auto load8 = [](const void* p, int64_t i) {
        const __m128i h =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    };
    static constexpr auto load1 = [](const void* p, int64_t i) {
        const uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t*>(p)[i]) << 16;
        float f = 0.0f;
        __builtin_memcpy(&f, &bits, 4);
        return f;
    };
};

// The VecDotFn entry point for a kernel: picks the N instantiation.
template <class Kernel>
void dot_rows(int64_t k, const void* w, const void* act, size_t stride, int count, float* out) {
    switch (count) {
        case 1:
            Kernel::template run<1>(k, w, act, stride, out);
            break;
        case 2:
            Kernel::template run<2>(k, w, act, stride, out);
            break;
        case 3:
            Kernel::template run<3>(k, w, act, stride, out);
            break;
        default:
            Kernel::template run<4>(k, w, act, stride, out);
            break;
    }
}

}  // namespace
}  // namespace pensieve::kernels::x86
