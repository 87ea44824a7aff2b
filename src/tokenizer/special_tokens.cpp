// Special-token lookup: a byte trie of the special tokens, walked from each
// position while the text follows some token's prefix.
#include "tokenizer/special_tokens.hpp"

namespace pensieve::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
    for (size_t i = 0; i < vocab.size(); ++i) {
        const TokenType t = vocab.types[i];
        const bool control = t == TokenType::Control || t == TokenType::Unknown;
        if (!control && t != TokenType::UserDefined) continue;
        const std::string_view text = vocab.texts[i];
        if (text.empty()) continue;
        uint32_t node = 0;
        for (const char c : text) {
            const uint8_t byte = static_cast<uint8_t>(c);
            uint32_t next = child(node, byte);
            if (next == 0) {
                next = static_cast<uint32_t>(nodes_.size());
                nodes_.emplace_back();
                if (node == 0) {
                    root_[byte] = next;
                } else {
                    children_.emplace(uint64_t{node} << 8 | byte, next);
                }
            }
            node = next;
        }
        if (nodes_[node].id < 0) nodes_[node] = {static_cast<TokenId>(i), control};  // first id wins
        if (text.size() >= 2) {
            const size_t pair = static_cast<size_t>(static_cast<uint8_t>(text[0])) << 8 |
                                static_cast<uint8_t>(text[1]);
            first_pairs_[pair / 64] |= uint64_t{1} << (pair % 64);
        }
    }
}

uint32_t SpecialTokenMatcher::child(uint32_t node, uint8_t byte) const {
    if (node == 0) return root_[byte];
    const auto it = children_.find(uint64_t{node} << 8 | byte);
    return it == children_.end() ? 0 : it->second;
}

std::optional<SpecialTokenMatcher::Match> SpecialTokenMatcher::find(std::string_view text,
                                                                    size_t from,
                                                                    bool parse_control) const {
    for (size_t pos = from; pos < text.size(); ++pos) {
        uint32_t node = root_[static_cast<uint8_t>(text[pos])];
        if (node == 0) continue;
        std::optional<Match> longest;
        for (size_t end = pos + 1;; ++end) {
            const Node& n = nodes_[node];
            if (n.id >= 0 && (parse_control || !n.control)) longest = Match{pos, end - pos, n.id};
            if (end == text.size()) break;
            if (end == pos + 1) {
                const size_t pair = static_cast<size_t>(static_cast<uint8_t>(text[pos])) << 8 |
                                    static_cast<uint8_t>(text[end]);
                if (!((first_pairs_[pair / 64] >> (pair % 64)) & 1)) break;
            }
            node = child(node, static_cast<uint8_t>(text[end]));
            if (node == 0) break;
        }
        if (longest) return longest;
    }
    return std::nullopt;
}

}  // namespace pensieve::tokenizer
