// The paged KV cache: one pool of fixed-size blocks of token slots shared by
// every sequence, and a block table per sequence mapping its positions to
// blocks. Keys and values are stored as F16.
//
// Memory is reserved up front but only touched (and so only resident) as
// blocks are written.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace pensieve::model {

struct KvCacheConfig {
    int64_t n_layer = 0;
    int64_t kv_dim = 0;         // n_head_kv * head_dim
    int64_t n_blocks = 0;       // blocks in the pool
    int64_t block_tokens = 16;  // token slots per block
};

class KvCache {
  public:
    explicit KvCache(const KvCacheConfig& config);

    const KvCacheConfig& config() const { return config_; }
    int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
    int64_t blocks_for(int64_t n_tokens) const {
        return (n_tokens + config_.block_tokens - 1) / config_.block_tokens;
    }
    uint64_t bytes() const;  // reserved bytes for keys and values

    // Grows `seq`'s block table to hold positions [0, n_tokens). Returns false,
    // allocating nothing, when the pool has too few free blocks.
    bool reserve(int32_t seq, int64_t n_tokens);
    // Returns all of `seq`'s blocks to the pool.
    void release(int32_t seq);
    bool has(int32_t seq) const { return tables_.count(seq) != 0; }
    // Positions [0, capacity) of `seq` have a slot.
    int64_t capacity(int32_t seq) const;

    const std::vector<int32_t>& block_table(int32_t seq) const { return tables_.at(seq); }

    // Slot of (layer, block, slot-in-block): kv_dim F16 values.
    uint16_t* key(int64_t layer, int32_t block, int64_t slot) {
        return k_.get() + index(layer, block, slot);
    }
    uint16_t* value(int64_t layer, int32_t block, int64_t slot) {
        return v_.get() + index(layer, block, slot);
    }

  private:
    size_t index(int64_t layer, int32_t block, int64_t slot) const {
        return static_cast<size_t>(
            ((layer * config_.n_blocks + block) * config_.block_tokens + slot) * config_.kv_dim);
    }

    KvCacheConfig config_;
    std::unique_ptr<uint16_t[]> k_;  // [n_layer][n_blocks][block_tokens][kv_dim]
    std::unique_ptr<uint16_t[]> v_;  // same
    std::vector<int32_t> free_;      // free block ids (a stack)
    std::unordered_map<int32_t, std::vector<int32_t>> tables_;
};

}  // namespace pensieve::model
