// The vocabulary as read from GGUF metadata (`tokenizer.ggml.*`): token
// texts, scores, types, merges and special-token ids, validated once at load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/file.hpp"

namespace pensieve::tokenizer {

using TokenId = int32_t;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

enum class ModelKind {
    SentencePiece,  // tokenizer.ggml.model = "llama"
    ByteLevelBpe,   // tokenizer.ggml.model = "gpt2"
};

// Hash for string keys that also accepts string_view lookups without a copy.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIndex = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

struct SpecialIds {
    std::optional<TokenId> bos, eos, unk, pad, sep, eot, eom;
};

struct Vocab {
    ModelKind kind = ModelKind::ByteLevelBpe;
    std::string model_name;  // tokenizer.ggml.model as stored
    std::string pre;         // tokenizer.ggml.pre ("default" when absent)

    std::vector<std::string> texts;  // (n_vocab)
    std::vector<float> scores;       // (n_vocab); zeros when the file has none
    std::vector<TokenType> types;    // (n_vocab); Normal when the file has none
    TokenIndex index;                // text -> id (first id wins on duplicates)

    // BPE merges: (left id, right id) packed as left << 32 | right ->
    // {rank, merged id}. Lower rank merges first.
    struct Merge {
        int32_t rank;
        TokenId result;
    };
    std::unordered_map<uint64_t, Merge> merges;

    // SentencePiece byte fallback: id of <0xHH> per byte, -1 when absent.
    std::vector<TokenId> byte_tokens = std::vector<TokenId>(256, -1);

    SpecialIds special;
    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;  // SentencePiece: prepend " " to the text

    size_t size() const { return texts.size(); }
    std::optional<TokenId> find(std::string_view text) const;
    static uint64_t pair_key(TokenId left, TokenId right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
               static_cast<uint32_t>(right);
    }
};

// Reads and validates the vocabulary: element types and counts, ids in
// range, byte tokens exactly "<0xHH>", merges naming known tokens. Throws
// tokenizer::Error naming the key at fault. Uses metadata only.
Vocab load_vocab(const gguf::GgufFile& file);

// Parses "<0xHH>" (exactly two hex digits); nullopt for anything else.
std::optional<uint8_t> parse_byte_token(std::string_view text);

}  // namespace pensieve::tokenizer
