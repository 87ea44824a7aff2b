// Special-token lookup: per first byte, the distinct lengths of the special
// tokens starting with it, tried longest first against a hash of texts.
#include "tokenizer/special_tokens.hpp"

#include <algorithm>
#include <functional>

namespace pensieve::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
    for (size_t i = 0; i < vocab.size(); ++i) {
        const TokenType t = vocab.types[i];
        const bool control = t == TokenType::Control || t == TokenType::Unknown;
        if (!control && t != TokenType::UserDefined) continue;
        const std::string_view text = vocab.texts[i];
        if (text.empty()) continue;
        tokens_.emplace(text, Entry{static_cast<TokenId>(i), control});  // first id wins
        if (text.size() >= 2) {
            const size_t pair = static_cast<size_t>(static_cast<uint8_t>(text[0])) << 8 |
                                static_cast<uint8_t>(text[1]);
            first_pairs_[pair / 64] |= uint64_t{1} << (pair % 64);
        }
        auto& lens = lengths_[static_cast<uint8_t>(text[0])];
        if (std::find(lens.begin(), lens.end(), text.size()) == lens.end()) {
            lens.push_back(static_cast<uint32_t>(text.size()));
        }
    }
    for (auto& lens : lengths_) std::sort(lens.begin(), lens.end(), std::greater<>());
}

std::optional<SpecialTokenMatcher::Match> SpecialTokenMatcher::find(std::string_view text,
                                                                    size_t from,
                                                                    bool parse_control) const {
    for (size_t pos = from; pos < text.size(); ++pos) {
        const auto& lens = lengths_[static_cast<uint8_t>(text[pos])];
        if (lens.empty()) continue;
        bool pair_known = false;
        if (pos + 1 < text.size()) {
            const size_t pair = static_cast<size_t>(static_cast<uint8_t>(text[pos])) << 8 |
                                static_cast<uint8_t>(text[pos + 1]);
            pair_known = (first_pairs_[pair / 64] >> (pair % 64)) & 1;
        }
        for (const uint32_t len : lens) {
            if (len > text.size() - pos || (len >= 2 && !pair_known)) continue;
            const auto it = tokens_.find(text.substr(pos, len));
            if (it == tokens_.end()) continue;
            if (it->second.control && !parse_control) continue;
            return Match{pos, len, it->second.id};
        }
    }
    return std::nullopt;
}

}  // namespace pensieve::tokenizer
