// The schema-keyed grammar cache (see grammar_cache.hpp).
#include "engine/grammar/grammar_cache.hpp"

#include <algorithm>

#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::grammar {

GrammarCache::GrammarCache(std::shared_ptr<const TokenVocabulary> vocab, size_t capacity)
    : vocab_(std::move(vocab)), capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const GrammarMasks> GrammarCache::get(const nlohmann::ordered_json& schema) {
    std::string key = schema.dump();
    {
        std::lock_guard lock(mu_);
        if (const auto it = index_.find(key); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);
            return it->second->second;
        }
    }
    // Compiled outside the lock: another request's lookup need not wait. Two
    // requests racing on one new schema both compile it; the second keeps
    // the first's entry.
    // Each grammar's mask cache is held to kMaskCacheBytes, so the whole
    // cache stays bounded whatever the vocabulary (SmolLM2's masks are 6 KB,
    // Gemma 3's 32 KB).
    const size_t mask_bytes = vocab_->words() * sizeof(uint64_t);
    const size_t entries = std::max<size_t>(16, kMaskCacheBytes / std::max<size_t>(1, mask_bytes));
    auto masks = std::make_shared<const GrammarMasks>(
        std::make_shared<const Grammar>(compile_schema(schema)), vocab_, entries);
    std::lock_guard lock(mu_);
    if (const auto it = index_.find(key); it != index_.end()) return it->second->second;
    lru_.emplace_front(key, masks);
    index_.emplace(std::move(key), lru_.begin());
    while (lru_.size() > capacity_) {
        index_.erase(lru_.back().first);
        lru_.pop_back();
    }
    return masks;
}

size_t GrammarCache::size() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

}  // namespace pensieve::grammar
