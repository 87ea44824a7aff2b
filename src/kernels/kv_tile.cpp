// KV cache tiles: store one position, load a tile as F32 (layouts in kv_tile.hpp).
#include "kernels/kv_tile.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/ops.hpp"
#include "kernels/traits.hpp"

namespace pensieve::kernels {

namespace {

constexpr int64_t kMaxHeadDim = 512;
constexpr int64_t kQ8Block = 32;

bool is_kv_type(TensorType type) {
    return type == TensorType::F16 || type == TensorType::BF16 || type == TensorType::Q8_0;
}

}  // namespace

std::string kv_type_error(TensorType type, int64_t head_dim) {
    if (!is_kv_type(type)) return "the KV cache holds F16, BF16 or Q8_0";
    if (head_dim <= 0 || head_dim > kMaxHeadDim) {
        return "head size " + std::to_string(head_dim) + " is outside 1.." +
               std::to_string(kMaxHeadDim);
    }
    if (type == TensorType::Q8_0 && head_dim % kQ8Block != 0) {
        return "a Q8_0 KV cache needs a head size divisible by 32 (this model's is " +
               std::to_string(head_dim) + ")";
    }
    return "";
}

size_t kv_tile_bytes(TensorType type, int64_t head_dim) {
    return kKvBlockTokens * row_bytes(traits(type), head_dim);
}

void store_key(TensorType type, const float* k, int64_t head_dim, void* tile, int64_t slot) {
    if (type == TensorType::Q8_0) {
        std::array<BlockQ8_0, kMaxHeadDim / kQ8Block> row{};
        traits(type).quantize_row(k, row.data(), head_dim);
        auto* qs = static_cast<int8_t*>(tile);
        auto* d = reinterpret_cast<uint16_t*>(qs + head_dim * kKvBlockTokens);
        for (int64_t i = 0; i < head_dim; ++i) {
            qs[i * kKvBlockTokens + slot] = row[static_cast<size_t>(i / kQ8Block)].qs[i % kQ8Block];
        }
        for (int64_t g = 0; g < head_dim / kQ8Block; ++g) {
            std::memcpy(d + g * kKvBlockTokens + slot, &row[static_cast<size_t>(g)].d, 2);
        }
        return;
    }
    // F16 / BF16: convert the row, then scatter it down column `slot`.
    std::array<uint16_t, kMaxHeadDim> row{};
    traits(type).quantize_row(k, row.data(), head_dim);
    auto* out = static_cast<uint16_t*>(tile);
    for (int64_t i = 0; i < head_dim; ++i)
        out[i * kKvBlockTokens + slot] = row[static_cast<size_t>(i)];
}

void store_value(TensorType type, const float* v, int64_t head_dim, void* tile, int64_t slot) {
    const TypeTraits& t = traits(type);
    t.quantize_row(v,
                   static_cast<uint8_t*>(tile) + static_cast<size_t>(slot) * row_bytes(t, head_dim),
                   head_dim);
}

void load_keys(TensorType type, const void* tile, int64_t head_dim, int64_t n, float* kt) {
    if (type == TensorType::Q8_0)
        dequantize_q8_0_keys(tile, head_dim, kt);
    else
        traits(type).dequantize_row(tile, kt, head_dim * kKvBlockTokens);
    if (n < kKvBlockTokens) {
        for (int64_t i = 0; i < head_dim; ++i) {
            std::fill(kt + i * kKvBlockTokens + n, kt + (i + 1) * kKvBlockTokens, 0.0f);
        }
    }
}

void load_values(TensorType type, const void* tile, int64_t head_dim, int64_t n, float* v) {
    traits(type).dequantize_row(tile, v, n * head_dim);
    std::fill(v + n * head_dim, v + kKvBlockTokens * head_dim, 0.0f);
}

void attend_tiles(TensorType type, const void* key_tile, const void* value_tile, int64_t n,
                  AttendBlock a, float* kt, float* v) {
    if (type == TensorType::F16 && n == kKvBlockTokens && a.rows <= kF16TileMaxRows) {
        a.kt16 = static_cast<const uint16_t*>(key_tile);
        a.v16 = static_cast<const uint16_t*>(value_tile);
    } else {
        load_keys(type, key_tile, a.head_dim, n, kt);
        load_values(type, value_tile, a.head_dim, n, v);
        a.kt = kt;
        a.v = v;
    }
    attend_block(a);
}

namespace {

// span(g, ...) for each group g of up to kF16TileMaxRows of a's rows, each
// over the whole span: the tiles stay in cache from the first group on.
template <typename Span>
void by_row_groups(const AttendBlock& a, Span span) {
    const int64_t hd = a.head_dim;
    for (int64_t r = 0; r < a.rows; r += kF16TileMaxRows) {
        AttendBlock g = a;
        g.rows = std::min(kF16TileMaxRows, a.rows - r);
        g.q = a.q + r * hd;
        g.first = a.first + r;
        g.last = a.last + r;
        g.m = a.m + r;
        g.l = a.l + r;
        g.o = a.o + r * hd;
        span(g);
    }
}

}  // namespace

namespace {

AttendSpanFn span_16_form(TensorType type) {
    const OpsTable& ops = active_table().ops;
    return type == TensorType::F16 ? ops.attend_span_f16 : ops.attend_span_bf16_tiles;
}

}  // namespace

bool span_16_available(TensorType type, int64_t head_dim) {
    return (type == TensorType::F16 || type == TensorType::BF16) && span_16_form(type) != nullptr &&
           head_dim % 16 == 0;
}

void attend_span_16(TensorType type, const AttendBlock& a, const uint16_t* const* key_tiles,
                    const uint16_t* const* value_tiles, int64_t n) {
    if (span_16_available(type, a.head_dim) && a.rows >= 1) {
        const AttendSpanFn span = span_16_form(type);
        by_row_groups(a, [&](const AttendBlock& g) { span(g, key_tiles, value_tiles, n); });
        return;
    }
    AttendBlock b = a;  // F16 tiles, with no span form here
    b.qb = nullptr;     // F32 products
    for (int64_t t = 0; t < n; ++t) {
        b.pos0 = a.pos0 + t * kKvBlockTokens;
        b.kt16 = key_tiles[t];
        b.v16 = value_tiles[t];
        attend_block(b);
    }
}

namespace {

// Head sizes the Q8_0 span forms take (a Q8_0 cache's, up to the largest).
bool q8_span_head(int64_t head_dim) {
    return head_dim % kQ8Block == 0 && head_dim <= kMaxHeadDim;
}

}  // namespace

bool q8_span_available(int64_t head_dim) {
    return active_table().ops.attend_span_q8 != nullptr && q8_span_head(head_dim);
}

void attend_q8_span(const AttendBlock& a, const void* const* key_tiles,
                    const void* const* value_tiles, int64_t n) {
    const auto span = active_table().ops.attend_span_q8;
    by_row_groups(a, [&](const AttendBlock& g) { span(g, key_tiles, value_tiles, n); });
}

bool bf16_steps_available(TensorType type, int64_t head_dim) {
    if (active_table().ops.attend_span_bf16_typed == nullptr) return false;
    if (type == TensorType::Q8_0) return q8_span_head(head_dim);
    return type == TensorType::BF16 && head_dim % 32 == 0 && head_dim <= kMaxHeadDim;
}

void attend_steps_typed(TensorType type, const AttendBlock& a, const void* const* key_tiles,
                        const void* const* value_tiles, int64_t n) {
    active_table().ops.attend_span_bf16_typed(a, type, key_tiles, value_tiles, n);
}

AttendSteps attend_steps_for(int64_t head_dim) {
    const OpsTable& ops = active_table().ops;
    if (head_dim % 32 != 0) return {};
    if (ops.attend_span_fp16 != nullptr && head_dim <= kFp16MaxHeadDim)
        return {kFp16StepTiles, false};
    if (ops.attend_span_bf16 != nullptr && head_dim <= kMaxHeadDim) return {kBf16StepTiles, true};
    return {};
}

void attend_steps(const AttendBlock& a, const uint16_t* const* key_tiles,
                  const uint16_t* const* value_tiles, int64_t n) {
    const OpsTable& ops = active_table().ops;
    if (attend_steps_for(a.head_dim).bf16) {
        ops.attend_span_bf16(a, key_tiles, value_tiles, n);
        return;
    }
    by_row_groups(
        a, [&](const AttendBlock& g) { ops.attend_span_fp16(g, key_tiles, value_tiles, n); });
}

}  // namespace pensieve::kernels
