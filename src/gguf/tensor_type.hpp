// GGML tensor type ids as stored in GGUF tensor infos, with the block geometry
// (elements per block, bytes per block) that sizes every tensor. This is the
// one table the reader validates sizes with; kernels/ builds its per-format
// operations on top of these ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pensieve::gguf {

// Values are the on-disk ids (ggml's enum); gaps are ids retired upstream.
enum class TensorType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
};

struct TypeInfo {
    std::string_view name;  // as llama.cpp prints it, e.g. "q4_K"
    uint32_t block_elems;   // weights per block (1 for plain scalar types)
    uint32_t block_bytes;   // bytes per block
};

// The geometry of a known type id, or nullopt for ids this build does not know.
std::optional<TypeInfo> type_info(uint32_t id);

// Same, for a TensorType value that is known by construction.
TypeInfo type_info(TensorType type);

// Bytes taken by n elements of `type`, or nullopt when n is not a whole number
// of blocks or the size overflows uint64.
std::optional<uint64_t> bytes_for(TensorType type, uint64_t n_elements);

}  // namespace pensieve::gguf
