// The schema-keyed grammar cache (see grammar_cache.hpp).
#include "engine/grammar/grammar_cache.hpp"

#include <algorithm>

#include "engine/grammar/schema_compiler.hpp"

namespace pensieve::grammar {

GrammarCache::GrammarCache(std::shared_ptr<const TokenVocabulary> vocab, size_t capacity,
                           size_t max_bytes)
    : vocab_(std::move(vocab)), capacity_(capacity == 0 ? 1 : capacity), max_bytes_(max_bytes) {}

std::shared_ptr<const GrammarMasks> GrammarCache::get(const nlohmann::ordered_json& schema) {
    std::string key = schema.dump();
    {
        std::lock_guard lock(mu_);
        if (const auto it = index_.find(key); it != index_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);
            return it->second->masks;
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
    // The key is held twice: in the list and in the index.
    const size_t bytes = 2 * key.capacity() + masks->grammar()->bytes();
    std::lock_guard lock(mu_);
    if (const auto it = index_.find(key); it != index_.end()) return it->second->masks;
    lru_.push_front({key, masks, bytes});
    index_.emplace(std::move(key), lru_.begin());
    bytes_ += bytes;
    while (lru_.size() > capacity_ || (bytes_ > max_bytes_ && lru_.size() > 1)) {
        bytes_ -= lru_.back().bytes;
        index_.erase(lru_.back().key);
        lru_.pop_back();
    }
    return masks;
}

size_t GrammarCache::size() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

size_t GrammarCache::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

}  // namespace pensieve::grammar
