// The paged KV cache: one pool of fixed-size blocks of token slots shared by
// every sequence, and a block table per sequence mapping its positions to
// blocks. Each (layer, block, KV head) holds a key tile and a value tile in
// the cache's type, F16 by default (layouts in kernels/kv_tile.hpp).
//
// Memory is reserved up front but only touched (and so only resident) as
// blocks are written.
//
// Blocks are reference-counted so that several holders can share one: the
// sequences whose tables list it, and the engine's prefix cache, which keeps
// the full blocks of finished sequences for later prompts that start alike.
// A shared block is only ever read: a sequence writes positions past the
// prefix it shares, and those lie in blocks of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"

namespace pensieve::model {

struct KvCacheConfig {
    int64_t n_layer = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_blocks = 0;  // blocks in the pool
    gguf::TensorType type = gguf::TensorType::F16;
};

class KvCache {
  public:
    static constexpr int64_t kBlockTokens = kernels::kKvBlockTokens;  // token slots per block

    // Throws std::invalid_argument for a zero dimension or a type that cannot
    // hold this head size (kernels::kv_type_error).
    explicit KvCache(const KvCacheConfig& config);

    const KvCacheConfig& config() const { return config_; }
    // Different for every cache made in this process (a device copy of a
    // cache is bound to it by this).
    uint64_t id() const { return id_; }
    int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
    static int64_t blocks_for(int64_t n_tokens) {
        return (n_tokens + kBlockTokens - 1) / kBlockTokens;
    }
    uint64_t bytes() const;  // reserved bytes for keys and values
    // Bytes of keys and values one token takes in a cache of this shape and type.
    static uint64_t bytes_per_token(const KvCacheConfig& config);

    // Grows `seq`'s block table to hold positions [0, n_tokens). Returns false,
    // allocating nothing, when the pool has too few free blocks.
    bool reserve(int32_t seq, int64_t n_tokens);
    // Drops `seq`'s hold on each of its blocks; a block nobody else holds
    // returns to the pool.
    void release(int32_t seq);
    // Starts `seq`'s table (which must not exist yet) with blocks that other
    // holders already filled: its positions [0, blocks × block_tokens).
    void share(int32_t seq, std::span<const int32_t> blocks);
    // An extra hold on a block (the prefix cache's), and dropping it.
    void retain(int32_t block);
    void drop(int32_t block);
    int32_t holders(int32_t block) const { return refs_[static_cast<size_t>(block)]; }
    bool has(int32_t seq) const { return tables_.count(seq) != 0; }
    // Positions [0, capacity) of `seq` have a slot.
    int64_t capacity(int32_t seq) const;

    const std::vector<int32_t>& block_table(int32_t seq) const { return tables_.at(seq); }

    // The key or value tile of (layer, block, KV head).
    uint8_t* key_tile(int64_t layer, int32_t block, int64_t head) {
        return k_.get() + offset(layer, block, head);
    }
    uint8_t* value_tile(int64_t layer, int32_t block, int64_t head) {
        return v_.get() + offset(layer, block, head);
    }

  private:
    size_t offset(int64_t layer, int32_t block, int64_t head) const {
        return static_cast<size_t>((layer * config_.n_head_kv + head) * config_.n_blocks + block) *
               tile_bytes_;
    }

    KvCacheConfig config_;
    uint64_t id_ = 0;
    size_t tile_bytes_ = 0;
    // [n_layer][n_head_kv][n_blocks] tiles: the blocks of one head lie side by
    // side, so attention over a sequence whose blocks were handed out in
    // order reads one stream the hardware prefetcher follows.
    std::unique_ptr<uint8_t[]> k_;
    std::unique_ptr<uint8_t[]> v_;  // same
    std::vector<int32_t> free_;     // free block ids (a stack)
    std::vector<int32_t> refs_;     // holders of each block
    std::unordered_map<int32_t, std::vector<int32_t>> tables_;
};

}  // namespace pensieve::model
