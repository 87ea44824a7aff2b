// Incremental detokenizer for streaming: feed generated ids one at a time and
// get back text that is always valid UTF-8 and never splits a character
// across two pieces (bytes of an incomplete character wait for the next
// token). The concatenation of everything returned, flush() included,
// equals utf8::make_valid(tokenizer.decode(all ids)).
#pragma once

#include <string>

#include "tokenizer/tokenizer.hpp"

namespace pensieve::tokenizer {

class StreamDecoder {
  public:
    // The tokenizer must outlive the decoder.
    explicit StreamDecoder(const Tokenizer& tokenizer, const DecodeOptions& options = {});

    // Text that became complete with this token (possibly empty).
    std::string push(TokenId id);
    // Whatever is still held back (an unfinished character becomes U+FFFD).
    std::string flush();
    // Bytes held back waiting for the rest of a character (0..3).
    size_t pending_bytes() const { return pending_.size(); }

  private:
    const Tokenizer& tokenizer_;
    DecodeOptions options_;
    bool at_start_;
    std::string pending_;
};

}  // namespace pensieve::tokenizer
