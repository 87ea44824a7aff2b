// Per-step token masks for constrained decoding: which token ids may come
// next from a matcher state. A token is allowed when the matcher consumes
// every byte of it; end-of-generation ids only when the document is
// complete; control tokens never.
//
// Cost: the vocabulary's byte strings form a trie (TokenVocabulary, built
// once per tokenizer) walked once per step, a whole subtree skipped at the
// first byte the grammar rejects. Inside a free string (the long part of
// most tool calls) the tokens that can only stay inside the string are
// taken from precomputed bitsets and only the trie of the others (those
// holding '"', '\\', control bytes or partial UTF-8) is walked. Masks are
// cached per state in GrammarMasks, shared by every sequence that decodes
// with the same grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/grammar/matcher.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::grammar {

using tokenizer::TokenId;

// Token byte strings in a preorder trie, so a rejected prefix skips its
// subtree with one jump.
struct TokenTrie {
    struct Node {
        uint8_t byte = 0;                     // the edge from the parent
        uint16_t depth = 0;                   // bytes from the root
        uint32_t next = 0;                    // index just past this node's subtree
        uint32_t tok_begin = 0, tok_end = 0;  // ids ending here: ids[tok_begin..tok_end)
    };
    std::vector<Node> nodes;  // nodes[0] is the root (empty prefix)
    std::vector<TokenId> ids;
    size_t max_depth = 0;

    static TokenTrie build(const std::vector<std::string>& bytes,
                           const std::vector<TokenId>& members);
};

// What masks need to know about a vocabulary. Immutable; share one per tokenizer.
class TokenVocabulary {
  public:
    // bytes[id]: the token's bytes ("" for tokens never allowed in a
    // document: control, unused, empty); eog: end-of-generation ids.
    TokenVocabulary(std::vector<std::string> bytes, std::vector<TokenId> eog);
    static std::shared_ptr<const TokenVocabulary> from_tokenizer(const tokenizer::Tokenizer& tok);

    size_t size() const { return bytes_.size(); }
    size_t words() const { return (bytes_.size() + 63) / 64; }
    const std::string& bytes(TokenId id) const { return bytes_[static_cast<size_t>(id)]; }
    bool is_eog(TokenId id) const;
    const std::vector<TokenId>& eog() const { return eog_; }

    const TokenTrie& trie() const { return all_; }
    // Tokens holding '"', '\\', a control byte or an incomplete UTF-8 sequence.
    const std::vector<TokenId>& string_unsafe() const { return unsafe_ids_; }
    const TokenTrie& string_unsafe_trie() const { return unsafe_; }
    // Bitset of the other (string-safe) tokens with at most k code points;
    // k is capped at string_safe_max().
    const std::vector<uint64_t>& string_safe_upto(size_t k) const;
    size_t string_safe_max() const { return safe_upto_.size() - 1; }

  private:
    std::vector<std::string> bytes_;
    std::vector<TokenId> eog_;
    TokenTrie all_, unsafe_;
    std::vector<TokenId> unsafe_ids_;
    std::vector<std::vector<uint64_t>> safe_upto_;
};

// A grammar bound to a vocabulary, with a cache of masks by state. Thread
// safe: many sequences may share one.
class GrammarMasks {
  public:
    GrammarMasks(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenVocabulary> vocab,
                 size_t cache_entries = 1024);

    // out (vocab.words() words): bit id set when token id may come next.
    void compute(const State& s, std::span<uint64_t> out) const;
    // The same without the cache (benchmarks and tests compare both).
    void compute_uncached(const State& s, std::span<uint64_t> out) const;
    // When every alternative of s is inside a string body: adds the
    // string-safe tokens they allow to out and returns true.
    bool add_string_safe(const State& s, std::span<uint64_t> out) const;

    const std::shared_ptr<const Grammar>& grammar() const { return grammar_; }
    const TokenVocabulary& vocab() const { return *vocab_; }
    size_t cache_size() const;

  private:
    std::shared_ptr<const Grammar> grammar_;
    std::shared_ptr<const TokenVocabulary> vocab_;
    Machine machine_;
    // Per node: string-safe tokens made of its class pattern's characters
    // (empty for other nodes).
    std::vector<std::vector<uint64_t>> class_tokens_;
    size_t cache_entries_;
    mutable std::mutex mu_;
    mutable std::unordered_map<std::string, std::vector<uint64_t>> cache_;
};

// Sets logits[id] to -infinity for every id whose bit is clear in `allowed`
// (logits.size() ids; whole zero words are skipped 64 at a time). Apply
// before temperature/top-k/top-p so they see only allowed tokens.
void apply_mask(std::span<const uint64_t> allowed, std::span<float> logits);

// One sequence's constraint: the matcher state advanced by each accepted
// token. The sampler hook: fill_mask before sampling, accept after.
class Constraint {
  public:
    explicit Constraint(std::shared_ptr<const GrammarMasks> masks);

    // Fills `allowed` (vocab.words() words); returns how many ids are set.
    // 0 means the grammar is stuck (it should not happen; the caller ends
    // the sequence).
    size_t fill_mask(std::span<uint64_t> allowed) const;
    // Advances past token id; false (state unchanged) if it is not allowed.
    bool accept(TokenId id);
    // Advances past raw bytes (text already written before the constraint
    // took over); false (state unchanged) if any is rejected.
    bool advance(std::string_view bytes);
    bool accepting() const { return matcher_.accepting(); }
    // Accepting and nothing but end-of-generation can follow.
    bool finished() const { return matcher_.finished(); }
    const Matcher& matcher() const { return matcher_; }

  private:
    std::shared_ptr<const GrammarMasks> masks_;
    Matcher matcher_;
    bool ended_ = false;
};

}  // namespace pensieve::grammar
