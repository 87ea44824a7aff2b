// Finds special-token text inside a string (leftmost, longest match), so the
// encoder can cut the text around it. Two kinds are recognised:
//   - control tokens (<|im_start|>, <start_of_turn>, …): only when the caller
//     says the text is trusted template text, never in client text;
//   - user-defined tokens (Gemma's "<table>", runs of spaces…): always, as
//     the reference tokenizers do, since they carry no control meaning.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer {

class SpecialTokenMatcher {
  public:
    explicit SpecialTokenMatcher(const Vocab& vocab);

    struct Match {
        size_t pos;
        size_t len;
        TokenId id;
    };

    // The leftmost (then longest) special token in text[from..); control
    // tokens count only when parse_control.
    std::optional<Match> find(std::string_view text, size_t from, bool parse_control) const;

  private:
    // A trie of the special tokens' bytes: a walk from each position costs
    // at most the length of the longest token that starts there, however
    // many tokens share a prefix (a crafted vocabulary of thousands of
    // tokens of one byte repeated stays linear in them).
    struct Node {
        TokenId id = -1;  // the token this node's bytes spell, or -1
        bool control = false;
    };
    uint32_t child(uint32_t node, uint8_t byte) const;  // 0: none

    std::vector<Node> nodes_{Node{}};                    // [0] is the root
    std::array<uint32_t, 256> root_{};                   // the root's children
    std::unordered_map<uint64_t, uint32_t> children_;    // node << 8 | byte -> child
    // Bit (b0 << 8 | b1) set when some token of length >= 2 starts with b0 b1:
    // most positions are ruled out without hashing anything.
    std::vector<uint64_t> first_pairs_ = std::vector<uint64_t>(65536 / 64, 0);
};

}  // namespace pensieve::tokenizer
