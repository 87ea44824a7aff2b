// The tokenizer: text <-> token ids for a GGUF vocabulary (SentencePiece
// `llama` or byte-level BPE `gpt2`). Immutable after construction and safe to
// use from many threads at once.
//
// Prompt-injection boundary: control tokens (<|im_start|>, <start_of_turn>…)
// are produced from text only when the caller marks that text as trusted
// (Specials::Parse, i.e. chat-template text). Client text is encoded with
// Specials::AsText, where "<|im_end|>" is just the characters it spells.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/file.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/special_tokens.hpp"
#include "tokenizer/vocab.hpp"

namespace pensieve::tokenizer {

// Whether control-token text in the input becomes control tokens.
enum class Specials {
    AsText,  // client text: never produces a control token
    Parse,   // trusted template text: "<|im_start|>" becomes its id
};

// A piece of a prompt with its trust level, for encode(segments).
struct Segment {
    std::string_view text;
    Specials specials;
};

struct EncodeOptions {
    bool add_bos = false;  // prepend BOS if the vocabulary asks for it (add_bos_token)
    bool add_eos = false;  // append EOS if the vocabulary asks for it (add_eos_token)
};

struct DecodeOptions {
    bool render_control = false;  // include control-token text ("<|im_end|>") in the output
    // SentencePiece vocabularies with add_space_prefix: drop the space the
    // encoder added in front of the first word.
    bool strip_prefix_space = true;
};

class Tokenizer {
  public:
    // Throws tokenizer::Error if the vocabulary is malformed or unsupported.
    explicit Tokenizer(Vocab vocab);
    static Tokenizer from_gguf(const gguf::GgufFile& file);
    // Opens a GGUF file and reads only its metadata's vocabulary.
    static Tokenizer from_file(const std::filesystem::path& path);

    const Vocab& vocab() const { return *vocab_; }
    size_t size() const { return vocab_->size(); }

    // Invalid UTF-8 in the input is replaced by U+FFFD (maximal-subpart rule,
    // as Python's errors="replace") before encoding.
    std::vector<TokenId> encode(std::string_view text, Specials specials,
                                const EncodeOptions& options = {}) const;
    // Encodes the concatenation of the segments as one text, except that
    // control tokens are recognised only inside Specials::Parse segments.
    std::vector<TokenId> encode(std::span<const Segment> segments,
                                const EncodeOptions& options = {}) const;

    // The bytes of ids, concatenated. May be invalid UTF-8 if the ids cut a
    // character; StreamDecoder never emits such output.
    std::string decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;
    // The bytes of one token (control tokens: empty unless render_control).
    std::string token_bytes(TokenId id, bool render_control = false) const;
    // The token's text as stored in the vocabulary; "" when out of range.
    std::string_view token_text(TokenId id) const;

    bool is_control(TokenId id) const;
    // End-of-generation: EOS, EOT, EOM and the control tokens that end a turn
    // (<|im_end|>, <end_of_turn>, <|eot_id|>, <|endoftext|>, …).
    bool is_end_of_generation(TokenId id) const;
    const std::vector<TokenId>& end_of_generation_ids() const { return eog_; }
    std::optional<TokenId> bos() const { return vocab_->special.bos; }
    std::optional<TokenId> eos() const { return vocab_->special.eos; }
    std::optional<TokenId> find_token(std::string_view text) const { return vocab_->find(text); }

  private:
    struct Fragment {
        std::string text;  // raw text (valid UTF-8), when id < 0
        TokenId id = -1;   // a special token
    };
    std::vector<Fragment> partition(std::span<const Segment> segments) const;
    void encode_spm(std::string_view text, bool after_special, std::vector<TokenId>& out) const;
    void encode_bpe(std::string_view text, std::vector<TokenId>& out) const;

    std::shared_ptr<const Vocab> vocab_;  // shared so Tokenizer copies stay cheap
    PreTokenizer pre_ = PreTokenizer::Gpt2;
    size_t max_token_bytes_ = 0;
    std::shared_ptr<const SpecialTokenMatcher> specials_;
    std::vector<TokenId> eog_;
};

}  // namespace pensieve::tokenizer
