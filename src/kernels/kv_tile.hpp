// How the KV cache stores the keys or the values of one KV head for one
// block of kKvBlockTokens positions (a tile), in each KV type, and how a tile
// becomes the F32 tile that attend_block multiplies.
//
// Keys are stored transposed, [head_dim][16]: row d holds dimension d of the
// block's 16 positions, so q·k for 16 positions is head_dim broadcast
// multiply-adds of one vector each. Values keep one row per position,
// [16][head_dim], since the output adds whole value rows.
//
//   F16, BF16  2 bytes per element in those layouts.
//   Q8_0       each position's head row is quantized as gguf's Q8_0 would
//              (blocks of 32 dimensions, one F16 scale each). Values are
//              those Q8_0 rows; keys are the int8 quants transposed,
//              [head_dim][16], then the scales, [head_dim/32][16].
//
// A tile is 2 · 16 · head_dim bytes in F16/BF16 and 17 · head_dim in Q8_0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/tensor_type.hpp"
#include "kernels/ops.hpp"

namespace pensieve::kernels {

using gguf::TensorType;

// "" when `type` can hold heads of head_dim, else why not.
std::string kv_type_error(TensorType type, int64_t head_dim);

size_t kv_tile_bytes(TensorType type, int64_t head_dim);

// Writes position `slot` (< kKvBlockTokens) of a tile from head_dim floats.
void store_key(TensorType type, const float* k, int64_t head_dim, void* tile, int64_t slot);
void store_value(TensorType type, const float* v, int64_t head_dim, void* tile, int64_t slot);

// The first n (≤ kKvBlockTokens) positions of a tile as F32 in attend_block's
// layouts (kt[d * 16 + j], v[j * head_dim + d]); later positions read as 0,
// so that slots not written yet can never put a NaN into a product.
void load_keys(TensorType type, const void* tile, int64_t head_dim, int64_t n, float* kt);
void load_values(TensorType type, const void* tile, int64_t head_dim, int64_t n, float* v);

// One attend_block step over a block's cache tiles, n positions written:
// whole F16 tiles are read as stored by runs of up to 8 rows (a decoding
// token's query heads; converting the tiles to F32 first took a fifth of
// SmolLM2's decode time at depth 8192), other tiles are loaded into kt and v
// (head_dim × kKvBlockTokens floats each) first. `a` holds everything but
// the tiles.
void attend_tiles(TensorType type, const void* key_tile, const void* value_tile, int64_t n,
                  AttendBlock a, float* kt, float* v);

// Runs of up to this many rows (a decoding token's query heads: GQA groups
// reach 8, as in Qwen3-30B-A3B) read F16 tiles as stored. At 8 rows this
// beat the BF16 products, which rearrange both tiles for every block
// (Qwen3-30B-A3B-shaped decode at depth 4096, Zen 4: 11.8 against 10.6 tok/s).
inline constexpr int64_t kF16TileMaxRows = 8;

// attend_tiles over n whole F16 or BF16 tiles (`type`) of consecutive
// positions (key tile t at key_tiles[t], from position a.pos0 + 16 t) for
// rows that all stay on them, with F32 products: the CPU's span form where it
// has one (OpsTable::attend_span_f16, attend_span_bf16_tiles), in groups of
// up to kF16TileMaxRows rows, else (F16 only: BF16 tiles need
// span_16_available) tile by tile.
void attend_span_16(TensorType type, const AttendBlock& a, const uint16_t* const* key_tiles,
                    const uint16_t* const* value_tiles, int64_t n);
// Whether attend_span_16 has this CPU's span form for a type and head size.
bool span_16_available(TensorType type, int64_t head_dim);

// Whether attend_q8_span has this CPU's span form for a head size
// (OpsTable::attend_span_q8): queries quantized as Q8_0 and integer q · k.
bool q8_span_available(int64_t head_dim);
// attend_tiles over n whole Q8_0 tiles of consecutive positions (key tile t
// at key_tiles[t], from position a.pos0 + 16 t), q8_span_available(head_dim),
// in groups of up to kF16TileMaxRows rows. SmolLM2 decode at depth 8192 on
// 2 Zen 4 cores: see the README of src/kernels.
void attend_q8_span(const AttendBlock& a, const void* const* key_tiles,
                    const void* const* value_tiles, int64_t n);

// Whether this CPU takes BF16 steps over Q8_0 or BF16 tiles for a head size
// (OpsTable::attend_span_bf16_typed: where its BF16 products are fast), and
// those steps: attend_steps' BF16 form over whole tiles of that type, each
// loaded as F32 and then rounded as F16 ones are, for runs of more than
// kF16TileMaxRows rows (prefill at depth), with AttendBlock::qb.
bool bf16_steps_available(TensorType type, int64_t head_dim);
void attend_steps_typed(TensorType type, const AttendBlock& a, const void* const* key_tiles,
                        const void* const* value_tiles, int64_t n);

// Attention over whole steps of F16 tiles with 16-bit float products, where
// this CPU has them for this head size: FP16 products
// (OpsTable::attend_span_fp16, steps of kFp16StepTiles) with AVX512-FP16,
// else BF16 products (OpsTable::attend_span_bf16, steps of kBf16StepTiles)
// where those are fast. Either way steps start at a multiple of their
// positions, counted from position 0, and what a step adds to a row's state
// depends on the row's query and the step's tiles alone (ops.hpp).
struct AttendSteps {
    int64_t tiles = 0;  // per step; 0: this CPU and head size stay in F32
    bool bf16 = false;  // BF16 products, which take AttendBlock::qb
    int64_t positions() const { return tiles * kKvBlockTokens; }
};
AttendSteps attend_steps_for(int64_t head_dim);
// attend_span_16 of F16 tiles in the steps attend_steps_for(a.head_dim)
// gives (tiles > 0): n a multiple of its tiles, a.pos0 of its positions,
// every row attends every position of the span, and a.qb given for BF16
// products.
void attend_steps(const AttendBlock& a, const uint16_t* const* key_tiles,
                  const uint16_t* const* value_tiles, int64_t n);

}  // namespace pensieve::kernels
