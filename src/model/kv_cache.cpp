// Block pool and block tables of the paged KV cache.
#include "model/kv_cache.hpp"

#include <stdexcept>

namespace pensieve::model {

KvCache::KvCache(const KvCacheConfig& config) : config_(config) {
    if (config.n_layer <= 0 || config.kv_dim <= 0 || config.n_blocks <= 0 ||
        config.block_tokens <= 0) {
        throw std::invalid_argument("KV cache: every dimension must be positive");
    }
    const auto n =
        static_cast<size_t>(config.n_layer * config.n_blocks * config.block_tokens * config.kv_dim);
    // Default-initialised (not zeroed): untouched pages are never resident.
    k_.reset(new uint16_t[n]);
    v_.reset(new uint16_t[n]);
    free_.reserve(static_cast<size_t>(config.n_blocks));
    refs_.assign(static_cast<size_t>(config.n_blocks), 0);
    for (int64_t b = config.n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

uint64_t KvCache::bytes() const {
    return 2ull *
           static_cast<uint64_t>(config_.n_layer * config_.n_blocks * config_.block_tokens *
                                 config_.kv_dim) *
           sizeof(uint16_t);
}

int64_t KvCache::capacity(int32_t seq) const {
    const auto it = tables_.find(seq);
    return it == tables_.end() ? 0 : static_cast<int64_t>(it->second.size()) * config_.block_tokens;
}

bool KvCache::reserve(int32_t seq, int64_t n_tokens) {
    std::vector<int32_t>& table = tables_[seq];
    const int64_t need = blocks_for(n_tokens) - static_cast<int64_t>(table.size());
    if (need <= 0) return true;
    if (need > free_blocks()) {
        if (table.empty()) tables_.erase(seq);
        return false;
    }
    for (int64_t i = 0; i < need; ++i) {
        table.push_back(free_.back());
        refs_[static_cast<size_t>(free_.back())] = 1;
        free_.pop_back();
    }
    return true;
}

void KvCache::release(int32_t seq) {
    const auto it = tables_.find(seq);
    if (it == tables_.end()) return;
    for (int32_t b : it->second) drop(b);
    tables_.erase(it);
}

void KvCache::share(int32_t seq, std::span<const int32_t> blocks) {
    if (tables_.count(seq) != 0) throw std::logic_error("KV cache: sharing into a used table");
    std::vector<int32_t>& table = tables_[seq];
    for (int32_t b : blocks) {
        retain(b);
        table.push_back(b);
    }
}

void KvCache::retain(int32_t block) {
    int32_t& refs = refs_.at(static_cast<size_t>(block));
    if (refs == 0) throw std::logic_error("KV cache: retaining a free block");
    refs += 1;
}

void KvCache::drop(int32_t block) {
    int32_t& refs = refs_.at(static_cast<size_t>(block));
    if (refs <= 0) throw std::logic_error("KV cache: dropping a free block");
    if (--refs == 0) free_.push_back(block);
}

}  // namespace pensieve::model
