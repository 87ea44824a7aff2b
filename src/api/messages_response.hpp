// Responses of POST /v1/messages: the non-streaming Message object and the
// SSE events of a stream (API reference §2 and §3), built as JSON here and
// framed as `event:` + `data:` lines.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/reply_blocks.hpp"

namespace pensieve::api {

// "msg_…" / "req_…" ids: a prefix and 24 random base-62 characters.
std::string new_id(const std::string& prefix);

struct Usage {
    int64_t input_tokens = 0;  // prompt tokens evaluated for this request
    int64_t output_tokens = 0;
    int64_t cache_read_tokens = 0;  // prompt tokens whose KV was reused
};

nlohmann::json usage_json(const Usage& u);

// The whole Message of a non-streaming reply; `content` is its blocks.
nlohmann::ordered_json message_json(const std::string& id, const std::string& model,
                                    const nlohmann::ordered_json& content,
                                    const std::string& stop_reason,
                                    const std::optional<std::string>& stop_sequence,
                                    const Usage& usage);

// One SSE event: "event: <name>\ndata: <json>\n\n".
std::string sse_event(const std::string& name, const nlohmann::json& data);

std::string message_start_event(const std::string& id, const std::string& model,
                                const Usage& usage);
std::string ping_event();
std::string text_block_start_event(int index);
std::string text_delta_event(int index, const std::string& text);
std::string thinking_block_start_event(int index);
std::string thinking_delta_event(int index, const std::string& thinking);
std::string signature_delta_event(int index, const std::string& signature);
std::string tool_use_block_start_event(int index, const std::string& id, const std::string& name);
std::string input_json_delta_event(int index, const std::string& partial_json);
std::string block_stop_event(int index);
std::string message_delta_event(const std::string& stop_reason,
                                const std::optional<std::string>& stop_sequence,
                                const Usage& usage);
std::string message_stop_event();
std::string error_event(const std::string& type, const std::string& message);

// The Anthropic SSE events of a reply's blocks (content_block_start/delta/stop).
std::shared_ptr<BlockFraming> anthropic_framing();

}  // namespace pensieve::api
