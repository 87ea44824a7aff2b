// SentencePiece merge loop with a binary heap of candidate bigrams; stale
// entries (a side already merged into something else) are skipped on pop.
#include "tokenizer/spm.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {
namespace {

struct Later {
    bool operator()(const auto& a, const auto& b) const {
        return a.score != b.score ? a.score < b.score : a.left > b.left;
    }
};

}  // namespace

void SpmMerger::push_candidate(std::string_view text, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[static_cast<size_t>(left)];
    const Symbol& r = symbols_[static_cast<size_t>(right)];
    const uint32_t len = l.len + r.len;
    if (len > max_token_bytes_) return;
    const auto id = vocab_.find(text.substr(l.start, len));
    if (!id) return;
    heap_.push_back({vocab_.scores[static_cast<size_t>(*id)], left, right, len});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
}

void SpmMerger::encode(std::string_view text, std::vector<TokenId>& out) {
    symbols_.clear();
    heap_.clear();
    for (size_t pos = 0; pos < text.size();) {
        size_t len = utf8::sequence_length(text, pos);
        if (len == 0) len = 1;  // callers pass valid UTF-8; stay safe anyway
        const auto i = static_cast<int32_t>(symbols_.size());
        symbols_.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), i - 1, i + 1});
        pos += len;
    }
    if (symbols_.empty()) return;
    symbols_.back().next = -1;
    for (size_t i = 1; i < symbols_.size(); ++i) {
        push_candidate(text, static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
    }
    while (!heap_.empty()) {
        std::pop_heap(heap_.begin(), heap_.end(), Later{});
        const Candidate c = heap_.back();
        heap_.pop_back();
        Symbol& left = symbols_[static_cast<size_t>(c.left)];
        Symbol& right = symbols_[static_cast<size_t>(c.right)];
        if (left.len == 0 || right.len == 0 || left.next != c.right ||
            left.len + right.len != c.len) {
            continue;
        }
        left.len += right.len;
        right.len = 0;
        left.next = right.next;
        if (right.next >= 0) symbols_[static_cast<size_t>(right.next)].prev = c.left;
        push_candidate(text, left.prev, c.left);
        push_candidate(text, c.left, left.next);
    }
    for (int32_t i = 0; i >= 0; i = symbols_[static_cast<size_t>(i)].next) {
        const Symbol& s = symbols_[static_cast<size_t>(i)];
        const std::string_view piece = text.substr(s.start, s.len);
        if (const auto id = vocab_.find(piece)) {
            out.push_back(*id);
            continue;
        }
        for (const char ch : piece) {
            const TokenId b = vocab_.byte_tokens[static_cast<uint8_t>(ch)];
            if (b >= 0)
                out.push_back(b);
            else if (vocab_.special.unk)
                out.push_back(*vocab_.special.unk);
        }
    }
}

}  // namespace pensieve::tokenizer
