// StreamDecoder: pending bytes + the UTF-8 completeness check.
#include "tokenizer/stream_decoder.hpp"

#include "tokenizer/utf8.hpp"

namespace pensieve::tokenizer {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, const DecodeOptions& options)
    : tokenizer_(tokenizer),
      options_(options),
      at_start_(options.strip_prefix_space && tokenizer.vocab().add_space_prefix) {}

std::string StreamDecoder::push(TokenId id) {
    std::string piece = tokenizer_.token_bytes(id, options_.render_control);
    if (at_start_ && !piece.empty()) {
        // The same leading-space rule as Tokenizer::decode.
        if (!tokenizer_.is_control(id) && piece[0] == ' ') piece.erase(0, 1);
        at_start_ = false;
    }
    pending_ += piece;
    const size_t ready = utf8::complete_prefix(pending_);
    std::string out = utf8::make_valid(std::string_view(pending_).substr(0, ready));
    pending_.erase(0, ready);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out = utf8::make_valid(pending_);
    pending_.clear();
    return out;
}

}  // namespace pensieve::tokenizer
