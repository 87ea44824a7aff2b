// Turning sampled tokens into a reply: detokenize without splitting UTF-8
// characters, hold back text that may begin a stop string, and decide when
// the reply ends (end-of-generation token, stop string, max_tokens, full
// context). The scheduler keeps one per sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/generate.hpp"
#include "engine/stop_matcher.hpp"
#include "tokenizer/stream_decoder.hpp"

namespace pensieve::engine {

class ReplyBuilder {
  public:
    // `request` and `tokenizer` must outlive the builder; n_ctx bounds prompt + output.
    ReplyBuilder(const tokenizer::Tokenizer& tokenizer, const GenerateRequest& request,
                 int64_t n_ctx);

    struct Step {
        std::string text;                // text to send now (may be empty)
        std::optional<StopReason> stop;  // set when the reply has ended
    };

    // Adds one sampled token. `result()` collects output ids and the stop string.
    Step add(int32_t token);

    GenerateResult& result() { return result_; }

  private:
    std::string drain();  // everything still held back, but an unfinished character

    const tokenizer::Tokenizer& tokenizer_;
    const GenerateRequest& request_;
    int64_t n_ctx_;
    tokenizer::StreamDecoder decoder_;
    StopMatcher stops_;
    GenerateResult result_;
};

}  // namespace pensieve::engine
