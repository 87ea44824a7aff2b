// Cross-request prefix cache over the paged KV cache. When a sequence ends,
// its full blocks (all of whose positions hold computed K/V) stay in the
// pool, indexed by the tokens they hold and everything before them. A new
// prompt that starts with the same tokens takes those blocks into its own
// table and skips their prefill: a chat that resends its whole history each
// turn (every Anthropic client does; Claude Code's system prompt alone is
// thousands of tokens) pays only for what is new.
//
// The cache holds one reference on each block it indexes. Blocks only the
// cache holds are evicted, least recently used first, when a sequence needs
// room; so the cache never stops a request from being admitted.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/kv_cache.hpp"

namespace pensieve::engine {

class PrefixCache {
  public:
    explicit PrefixCache(model::KvCache& kv) : kv_(kv) {}

    // Cached blocks holding `tokens`' first positions, block by block from
    // the start, at most `max_blocks` of them.
    std::vector<int32_t> lookup(std::span<const int32_t> tokens, int64_t max_blocks);

    // Indexes the full blocks of `table` whose positions [0, n_valid) of
    // `tokens` have computed K/V. Blocks already indexed are only refreshed.
    void insert(std::span<const int32_t> tokens, int64_t n_valid, std::span<const int32_t> table);

    // Frees up to `n` blocks that only the cache holds; returns how many.
    int64_t evict(int64_t n);

    int64_t blocks() const { return static_cast<int64_t>(entries_.size()); }
    // Blocks the cache alone holds (reusable, and freed on demand).
    int64_t idle_blocks() const;

  private:
    struct Entry {
        int32_t block;
        uint64_t parent;              // hash of the prefix before this block
        std::vector<int32_t> tokens;  // this block's tokens, to rule out hash collisions
        std::list<uint64_t>::iterator lru;
    };
    static uint64_t chain(uint64_t parent, std::span<const int32_t> block_tokens);
    void touch(std::span<const uint64_t> path);

    model::KvCache& kv_;
    std::unordered_map<uint64_t, Entry> entries_;  // by hash of the whole prefix up to the block
    std::list<uint64_t> lru_;                      // most recently used at the front
};

}  // namespace pensieve::engine
