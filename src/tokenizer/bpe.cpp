// Merge loop: a binary heap of candidate pairs keyed by (rank, left index);
// entries made stale by earlier merges are recognised and skipped when popped,
// so a word of n bytes costs O(n log n).
#include "tokenizer/bpe.hpp"

#include <algorithm>

namespace pensieve::tokenizer {
namespace {

// std heap functions build a max-heap: "less" means "merges later".
struct Later {
    template <class C>
    bool operator()(const C& a, const C& b) const {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }
};

}  // namespace

void BpeMerger::push_candidate(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const TokenId l = symbols_[static_cast<size_t>(left)].id;
    const TokenId r = symbols_[static_cast<size_t>(right)].id;
    const auto it = vocab_.merges.find(Vocab::pair_key(l, r));
    if (it == vocab_.merges.end()) return;
    heap_.push_back({it->second.rank, left, right, l, r, it->second.result});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
}

void BpeMerger::encode_word(std::string_view word, std::vector<TokenId>& out) {
    symbols_.clear();
    heap_.clear();
    for (const char ch : word) {
        const TokenId id = vocab_.byte_tokens[static_cast<uint8_t>(ch)];
        if (id < 0) continue;  // a byte the vocabulary cannot express is dropped
        const auto i = static_cast<int32_t>(symbols_.size());
        symbols_.push_back({id, i - 1, i + 1});
    }
    if (symbols_.empty()) return;
    symbols_.back().next = -1;
    for (size_t i = 1; i < symbols_.size(); ++i) {
        push_candidate(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
    }
    while (!heap_.empty()) {
        std::pop_heap(heap_.begin(), heap_.end(), Later{});
        const Candidate c = heap_.back();
        heap_.pop_back();
        Symbol& left = symbols_[static_cast<size_t>(c.left)];
        Symbol& right = symbols_[static_cast<size_t>(c.right)];
        // Stale if either side was merged away or changed since it was pushed.
        if (left.id != c.left_id || right.id != c.right_id || left.next != c.right) continue;
        left.id = c.result;
        left.next = right.next;
        if (right.next >= 0) symbols_[static_cast<size_t>(right.next)].prev = c.left;
        right.id = -1;
        right.prev = right.next = -1;
        push_candidate(left.prev, c.left);
        push_candidate(c.left, left.next);
    }
    for (int32_t i = 0; i >= 0; i = symbols_[static_cast<size_t>(i)].next) {
        out.push_back(symbols_[static_cast<size_t>(i)].id);
    }
}

}  // namespace pensieve::tokenizer
