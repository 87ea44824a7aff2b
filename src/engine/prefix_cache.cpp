#include "engine/prefix_cache.hpp"

#include <algorithm>

namespace pensieve::engine {

namespace {
constexpr uint64_t kRoot = 0x9e3779b97f4a7c15ull;  // hash of the empty prefix
}

// 64-bit mix of the parent's hash and the block's tokens (splitmix64 steps):
// equal prefixes give equal hashes, and lookups compare the tokens as well.
uint64_t PrefixCache::chain(uint64_t parent, std::span<const int32_t> block_tokens) {
    uint64_t h = parent;
    for (int32_t t : block_tokens) {
        h += static_cast<uint64_t>(static_cast<uint32_t>(t)) + 0x9e3779b97f4a7c15ull;
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h;
}

// Marks a path from the root as just used, its deepest block least recent:
// eviction then trims prefixes from their ends and keeps what remains
// reachable from the root.
void PrefixCache::touch(std::span<const uint64_t> path) {
    for (auto h = path.rbegin(); h != path.rend(); ++h) {
        lru_.splice(lru_.begin(), lru_, entries_.at(*h).lru);
    }
}

std::vector<int32_t> PrefixCache::lookup(std::span<const int32_t> tokens, int64_t max_blocks) {
    const auto bt = static_cast<size_t>(model::KvCache::kBlockTokens);
    std::vector<int32_t> found;
    std::vector<uint64_t> path;
    uint64_t parent = kRoot;
    for (size_t start = 0;
         start + bt <= tokens.size() && static_cast<int64_t>(found.size()) < max_blocks;
         start += bt) {
        const auto block = tokens.subspan(start, bt);
        const uint64_t h = chain(parent, block);
        const auto it = entries_.find(h);
        if (it == entries_.end() || it->second.parent != parent ||
            !std::equal(block.begin(), block.end(), it->second.tokens.begin())) {
            break;
        }
        found.push_back(it->second.block);
        path.push_back(h);
        parent = h;
    }
    touch(path);
    return found;
}

void PrefixCache::insert(std::span<const int32_t> tokens, int64_t n_valid,
                         std::span<const int32_t> table) {
    const int64_t bt = model::KvCache::kBlockTokens;
    const int64_t full = std::min<int64_t>(std::min<int64_t>(n_valid, tokens.size()) / bt,
                                           static_cast<int64_t>(table.size()));
    std::vector<uint64_t> path;
    uint64_t parent = kRoot;
    for (int64_t i = 0; i < full; ++i) {
        const auto block = tokens.subspan(static_cast<size_t>(i * bt), static_cast<size_t>(bt));
        const uint64_t h = chain(parent, block);
        if (entries_.find(h) == entries_.end()) {
            const int32_t b = table[static_cast<size_t>(i)];
            kv_.retain(b);
            lru_.push_front(h);
            entries_.emplace(h, Entry{b, parent, {block.begin(), block.end()}, lru_.begin()});
        }
        path.push_back(h);
        parent = h;
    }
    touch(path);
}

int64_t PrefixCache::evict(int64_t n) {
    int64_t freed = 0;
    for (auto it = lru_.end(); it != lru_.begin() && freed < n;) {
        --it;
        const auto e = entries_.find(*it);
        if (kv_.holders(e->second.block) != 1) continue;  // a running sequence reads it
        kv_.drop(e->second.block);
        entries_.erase(e);
        it = lru_.erase(it);
        freed += 1;
    }
    return freed;
}

int64_t PrefixCache::idle_blocks() const {
    return std::count_if(entries_.begin(), entries_.end(),
                         [&](const auto& e) { return kv_.holders(e.second.block) == 1; });
}

}  // namespace pensieve::engine
