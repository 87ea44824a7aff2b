// Compiled grammars bound to one vocabulary, kept by schema text: agents send
// the same tools with every request, so their call grammar (and its mask
// cache, the expensive part) is built once and shared by every sequence that
// decodes with it. Thread safe; least recently used entries go first. Memory
// is bounded: `capacity` grammars, each with at most kMaskCacheBytes of
// cached masks (64 MiB in all by default), and at most `max_bytes` of
// grammars and their schema keys (a schema of a million enum values compiles
// to over 100 MB; the newest entry is kept whatever its size, since a
// request is using it).
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "engine/grammar/token_mask.hpp"

namespace pensieve::grammar {

class GrammarCache {
  public:
    static constexpr size_t kMaskCacheBytes = size_t{4} << 20;
    static constexpr size_t kMaxBytes = size_t{256} << 20;
    GrammarCache(std::shared_ptr<const TokenVocabulary> vocab, size_t capacity = 16,
                 size_t max_bytes = kMaxBytes);

    // The masks of `schema`'s grammar, compiled on first use; throws
    // SchemaError for an invalid schema. Keywords the compiler relaxed are in
    // grammar().relaxed.
    std::shared_ptr<const GrammarMasks> get(const nlohmann::ordered_json& schema);

    const std::shared_ptr<const TokenVocabulary>& vocab() const { return vocab_; }
    size_t size() const;
    size_t bytes() const;  // of the grammars and keys held

  private:
    struct Entry {
        std::string key;
        std::shared_ptr<const GrammarMasks> masks;
        size_t bytes = 0;
    };
    std::shared_ptr<const TokenVocabulary> vocab_;
    size_t capacity_, max_bytes_;
    size_t bytes_ = 0;
    mutable std::mutex mu_;
    std::list<Entry> lru_;  // most recent first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace pensieve::grammar
