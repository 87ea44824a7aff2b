// The stop rules of a reply, in the order they apply to each token.
#include "engine/reply.hpp"

namespace pensieve::engine {

ReplyBuilder::ReplyBuilder(const tokenizer::Tokenizer& tokenizer, const GenerateRequest& request,
                           int64_t n_ctx)
    : tokenizer_(tokenizer),
      request_(request),
      n_ctx_(n_ctx),
      decoder_(tokenizer),
      stops_(request.stop) {
    result_.prompt_tokens = static_cast<int64_t>(request.prompt.size());
}

std::string ReplyBuilder::drain() {
    // Bytes the decoder still holds begin a character the reply ended in the
    // middle of: they are dropped rather than sent as a U+FFFD that stands
    // for nothing the model wrote.
    return stops_.flush();
}

ReplyBuilder::Step ReplyBuilder::add(int32_t token) {
    if (tokenizer_.is_end_of_generation(token)) return {drain(), StopReason::EndOfGeneration};
    result_.output.push_back(token);
    StopMatcher::Result piece = stops_.push(decoder_.push(token));
    if (piece.matched) {
        result_.stop_sequence = piece.matched;
        return {std::move(piece.emit), StopReason::StopSequence};
    }
    const auto n_out = static_cast<int64_t>(result_.output.size());
    if (n_out >= request_.max_tokens) return {piece.emit + drain(), StopReason::MaxTokens};
    if (result_.prompt_tokens + n_out >= n_ctx_)
        return {piece.emit + drain(), StopReason::ContextFull};
    return {std::move(piece.emit), std::nullopt};
}

}  // namespace pensieve::engine
