// Ollama request bodies (POST /api/chat and /api/generate) translated into
// the normalised request every route generates from. Ollama's chat body is
// OpenAI's in all but a few places (tool call arguments are objects and
// calls carry no ids, sampling sits under `options`, `format` is "json" or a
// schema, replies stream by default), so it is rewritten into a Chat
// Completions body here and then goes through the OpenAI translation and the
// shared validation, within the same bounds (api/limits.hpp). Tool messages
// answer the assistant's calls in order when they name none. What the server
// cannot honour (images, a custom template, context) is a 400.
// `options.num_ctx` is kept for the route to check against the server's
// context (fixed at startup): this layer does not know it.
#pragma once

#include <cstdint>
#include <string_view>

#include "api/limits.hpp"
#include "api/messages_request.hpp"

namespace pensieve::api {

struct OllamaRequest {
    MessagesRequest core;
    // No messages (chat) or an empty prompt (generate): Ollama's way to load
    // a model; answered at once with done_reason "load".
    bool load_only = false;
    // options.num_ctx when given (0: not given); always positive.
    int64_t num_ctx = 0;
};

OllamaRequest parse_ollama_chat_request(std::string_view body, const RequestLimits& limits = {});

// An error message with the fields it names spelled as the Ollama body has
// them ("options.temperature", "format"), from the Anthropic or OpenAI names
// the shared validation and the Chat Completions translation use.
std::string ollama_field_names(std::string message);

// /api/generate: the prompt (and system) through the chat template as one
// user turn, or, with `raw`, the prompt as it is.
OllamaRequest parse_ollama_generate_request(std::string_view body,
                                            const RequestLimits& limits = {});

}  // namespace pensieve::api
