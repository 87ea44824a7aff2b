// POST /v1/messages (and count_tokens) request bodies: parsed, validated and
// normalised into what the chat template and the engine need. Unknown fields
// are ignored; wrong types are a 400 naming the field. Parsing and validation
// take time and memory linear in the body's size (see api/limits.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/limits.hpp"
#include "chat/tools/tool_constraint.hpp"

namespace pensieve::api {

// The `thinking` field. Adaptive (what Claude Code sends) leaves the choice
// to the model's own default.
struct Thinking {
    enum class Mode { Default, Enabled, Disabled, Adaptive };
    Mode mode = Mode::Default;  // Default: the field was absent
    int64_t budget_tokens = 0;  // Enabled
};

struct MessagesRequest {
    std::string model;  // echoed back as sent
    // The conversation in Anthropic's shape, checked and normalised: a
    // leading {role: "system", content: text} (the `system` field and
    // role:"system" messages, folded), then user/assistant turns, consecutive
    // same-role turns merged. A turn's content is a string when it holds only
    // text; otherwise an array of its text, tool_use and tool_result blocks
    // (a result's content made text). Other blocks are left out.
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    std::string continuation;  // a final assistant turn: the reply continues it
    int64_t max_tokens = 0;
    bool stream = false;
    std::optional<float> temperature;
    std::optional<float> top_p;
    std::optional<int32_t> top_k;
    std::vector<std::string> stop_sequences;
    nlohmann::ordered_json tools = nullptr;       // as sent, checked; null when absent or empty
    std::optional<chat::ToolChoice> tool_choice;  // absent: the server's default
    bool one_tool_call = false;  // at most one call, whatever the tool_choice (OpenAI's
                                 // parallel_tool_calls: false without a tool_choice)
    nlohmann::ordered_json output_schema = nullptr;  // structured output's JSON Schema, or null
    std::string output_schema_field = "output_format.schema";  // where the body gave it
    Thinking thinking;
    std::optional<uint64_t> seed;  // the sampler's seed (OpenAI `seed`); absent: the server's
    // A raw prompt, tokenized as client text without the chat template
    // (OpenAI's /v1/completions); `messages` is then empty.
    std::optional<std::string> raw_prompt;
    std::vector<std::string> dropped_blocks;  // distinct block types left out (the first 16)
};

enum class Endpoint { Messages, CountTokens };

// Largest max_tokens accepted before anything else is known; the server
// clamps to the remaining context afterwards.
inline constexpr int64_t kMaxTokensCap = int64_t{1} << 24;

// Throws ApiError (400) for malformed JSON, wrong types, missing fields, and a
// bound of `limits` exceeded (the message names the field and the limit).
MessagesRequest parse_messages_request(std::string_view body, Endpoint endpoint,
                                       const RequestLimits& limits = {});

// The body's "model": required, a string, at most limits.max_model_bytes.
std::string model_field(const nlohmann::ordered_json& body, const RequestLimits& limits);

// The same over a body already parsed (within `limits`); the other dialects
// translate their requests into this shape and normalise them here.
MessagesRequest messages_request_from_json(const nlohmann::ordered_json& body, Endpoint endpoint,
                                           const RequestLimits& limits = {});

}  // namespace pensieve::api
