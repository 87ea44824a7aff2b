// Block pool and block tables of the paged KV cache.
#include "model/kv_cache.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace pensieve::model {

namespace {
std::atomic<uint64_t> next_id{1};
}  // namespace

KvCache::KvCache(const KvCacheConfig& config) : config_(config), id_(next_id++) {
    if (config.n_layer <= 0 || config.n_head_kv <= 0 || config.n_blocks <= 0) {
        throw std::invalid_argument("KV cache: every dimension must be positive");
    }
    const std::string why = kernels::kv_type_error(config.type, config.head_dim);
    if (!why.empty()) throw std::invalid_argument("KV cache: " + why);
    tile_bytes_ = kernels::kv_tile_bytes(config.type, config.head_dim);
    const auto n =
        static_cast<size_t>(config.n_layer * config.n_blocks * config.n_head_kv) * tile_bytes_;
    // Default-initialised (not zeroed): untouched pages are never resident.
    k_.reset(new uint8_t[n]);
    v_.reset(new uint8_t[n]);
    free_.reserve(static_cast<size_t>(config.n_blocks));
    refs_.assign(static_cast<size_t>(config.n_blocks), 0);
    for (int64_t b = config.n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

uint64_t KvCache::bytes() const {
    return 2ull * static_cast<uint64_t>(config_.n_layer * config_.n_blocks * config_.n_head_kv) *
           tile_bytes_;
}

uint64_t KvCache::bytes_per_token(const KvCacheConfig& c) {
    return 2 * static_cast<uint64_t>(c.n_layer * c.n_head_kv) *
           kernels::kv_tile_bytes(c.type, c.head_dim) / kBlockTokens;
}

int64_t KvCache::capacity(int32_t seq) const {
    const auto it = tables_.find(seq);
    return it == tables_.end() ? 0 : static_cast<int64_t>(it->second.size()) * kBlockTokens;
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
