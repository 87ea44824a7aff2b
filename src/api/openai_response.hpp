// Responses in OpenAI's shape: the chat.completion object and the
// chat.completion.chunk stream of /v1/chat/completions, the text_completion
// object and chunks of /v1/completions, and OpenAI's error envelope. They are
// built from the same reply blocks and usage as the Anthropic responses
// (reply_blocks.hpp, messages_response.hpp); only the framing differs.
// Streams are `data: <json>` lines ending with `data: [DONE]`.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/messages_response.hpp"
#include "api/reply_blocks.hpp"

namespace pensieve::api {

// What identifies one OpenAI reply: its id, creation time and model, shared
// by every chunk of a stream.
struct OpenAiReply {
    enum class Kind { Chat, Completion };
    Kind kind = Kind::Chat;
    std::string id;  // "chatcmpl-…" / "cmpl-…"
    int64_t created = 0;
    std::string model;
    bool include_usage = false;  // streams: every chunk has usage (null until the last)
};

OpenAiReply new_openai_reply(OpenAiReply::Kind kind, const std::string& model, bool include_usage);

// Anthropic stop_reason → OpenAI finish_reason (stop, length, tool_calls).
std::string finish_reason(const std::string& stop_reason);

// {prompt_tokens (cached ones included), completion_tokens, total_tokens,
//  prompt_tokens_details: {cached_tokens}}
nlohmann::ordered_json openai_usage_json(const Usage& usage);

// The whole reply: chat.completion (message.content, message.tool_calls with
// JSON-string arguments) or text_completion (choices[0].text).
nlohmann::ordered_json openai_reply_json(const OpenAiReply& reply,
                                         const nlohmann::ordered_json& content,
                                         const std::string& stop_reason, const Usage& usage);

// "data: <json>\n\n"
std::string sse_data(const nlohmann::ordered_json& data);

// Stream pieces: the first chunk (the assistant role), the block framing
// (content / tool_calls deltas), the last chunk with finish_reason, the
// usage chunk (empty choices; sent when include_usage), the terminator, and
// an error in the stream ({"error": {...}}).
std::string openai_stream_start(const OpenAiReply& reply);
std::shared_ptr<BlockFraming> openai_framing(const OpenAiReply& reply);
std::string openai_stream_finish(const OpenAiReply& reply, const std::string& stop_reason);
std::string openai_stream_usage(const OpenAiReply& reply, const Usage& usage);
std::string openai_stream_done();
std::string openai_stream_error(const std::string& type, const std::string& message);

// OpenAI's error envelope {"error": {message, type, param, code}} for an
// HTTP status and the Anthropic error type the server uses internally: type
// is OpenAI's category for the status, code the Anthropic type, param the
// field the message names ("messages.0.role: ..."), if any.
nlohmann::ordered_json openai_error_body(int status, const std::string& type,
                                         const std::string& message);

}  // namespace pensieve::api
