// Packed block structs of the GGUF weight formats and of the activation
// formats their dot products consume. Layouts are ggml's (a GGUF file is
// read in place, so they are fixed by the file format); every size is pinned
// so a layout slip fails to compile instead of misreading a model.
//
// Half-precision fields are kept as raw uint16_t bits: conversion is the
// kernel's job (F16C in SIMD code, fp16.hpp in scalar code).
#pragma once

#include <cstdint>

namespace pensieve::kernels {

inline constexpr int kQK = 32;    // weights per block of the "legacy" formats
inline constexpr int kQKK = 256;  // weights per super-block of the K formats

// 4-bit, symmetric: x = d * (q - 8).
// qs[j] holds element j in its low nibble and element j + 16 in its high one.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 2 + 16);

// 4-bit with offset: x = d * q + m.
struct BlockQ4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 2 + 2 + 16);

// 5-bit, symmetric: x = d * (q - 16); bit j of qh (little-endian uint32) is
// bit 4 of element j, nibbles as in Q4_0.
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 2 + 4 + 16);

// 5-bit with offset: x = d * q + m.
struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 2 + 2 + 4 + 16);

// 8-bit, symmetric: x = d * q. Also the activation format of every 32-element
// weight format.
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 2 + 32);

// ggml's activation format for Q4_1/Q5_1: Q8_0 plus s = d * sum(qs). Supported
// for (de)quantization only: our Q4_1/Q5_1 dots take Q8_0 and sum the quants
// exactly instead of trusting a half-precision s.
struct BlockQ8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 2 + 2 + 32);

// 2-bit K: 16 sub-blocks of 16; scales[i] = scale (low nibble) | min (high).
// Element h*128 + s*32 + l is (qs[h*32 + l] >> 2s) & 3.
// x = d * scale * q - dmin * min.
struct BlockQ2_K {
    uint8_t scales[kQKK / 16];
    uint8_t qs[kQKK / 4];
    uint16_t d;
    uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 16 + 64 + 2 + 2);

// 3-bit K: 16 sub-blocks of 16 with 6-bit signed scales packed in 12 bytes.
// Low 2 bits as in Q2_K; element i*32 + l has hmask[l] bit i as its third
// bit, and q = low - (bit ? 0 : 4). x = d * (scale - 32) * q.
struct BlockQ3_K {
    uint8_t hmask[kQKK / 8];
    uint8_t qs[kQKK / 4];
    uint8_t scales[12];
    uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 32 + 64 + 12 + 2);

// 4-bit K: 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes.
// Element c*64 + h*32 + l is nibble h of qs[c*32 + l].
// x = d * scale * q - dmin * min.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ4_K) == 2 + 2 + 12 + 128);

// 5-bit K: Q4_K plus qh; element i*32 + l has qh[l] bit i as bit 4.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQKK / 8];
    uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ5_K) == 2 + 2 + 12 + 32 + 128);

// 6-bit K: 16 sub-blocks of 16 with int8 scales. Element h*128 + n*64 + l
// (l < 64) has nibble n of ql[h*64 + l] as its low bits; element
// h*128 + s*32 + l has (qh[h*32 + l] >> 2s) & 3 as bits 4-5.
// x = d * scale * (q - 32).
struct BlockQ6_K {
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 128 + 64 + 16 + 2);

// Activation format of every K format: float scale, int8 quants and the sums
// of each 16 quants (which the K formats' mins multiply).
struct BlockQ8_K {
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];
};
static_assert(sizeof(BlockQ8_K) == 4 + 256 + 32);

}  // namespace pensieve::kernels
