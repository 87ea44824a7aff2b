// OpenAI reply objects, stream chunks and errors (see openai_response.hpp).
#include "api/openai_response.hpp"

#include <chrono>

#include "api/openai_request.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

const char* object_name(const OpenAiReply& r, bool chunk) {
    if (r.kind == OpenAiReply::Kind::Completion) return "text_completion";
    return chunk ? "chat.completion.chunk" : "chat.completion";
}

json reply_head(const OpenAiReply& r, bool chunk) {
    return {{"id", r.id},
            {"object", object_name(r, chunk)},
            {"created", r.created},
            {"model", r.model},
            {"system_fingerprint", nullptr}};
}

// One chunk with one choice: a chat delta, or a completion's text.
std::string choice_chunk(const OpenAiReply& r, json delta, const json& finish) {
    json chunk = reply_head(r, true);
    json choice = {{"index", 0}};
    if (r.kind == OpenAiReply::Kind::Chat) {
        choice["delta"] = std::move(delta);
        choice["logprobs"] = nullptr;
    } else {
        choice["text"] = delta.value("content", "");
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish;
    chunk["choices"] = json::array({std::move(choice)});
    if (r.include_usage) chunk["usage"] = nullptr;
    return sse_data(chunk);
}

// The text of a reply's text blocks, and its reasoning (thinking blocks).
std::string joined(const json& content, const char* type, const char* key) {
    std::string out;
    for (const json& b : content) {
        if (b["type"] == type) out += b[key].get_ref<const std::string&>();
    }
    return out;
}

json tool_call_json(const json& block) {
    return {{"id", block["id"]},
            {"type", "function"},
            {"function",
             {{"name", block["name"]},
              {"arguments", block["input"].dump(-1, ' ', false, json::error_handler_t::replace)}}}};
}

// Text and tool_calls deltas of a chat stream. OpenAI numbers the calls of
// a reply from 0 (its own index, not the block's); the id and name go in a
// call's first delta, its arguments in the ones after.
class ChatFraming : public BlockFraming {
  public:
    explicit ChatFraming(OpenAiReply reply) : reply_(std::move(reply)) {}

    std::string text_start(int) override { return ""; }
    std::string text_delta(int, const std::string& text) override {
        return choice_chunk(reply_, {{"content", text}}, nullptr);
    }
    std::string thinking_start(int) override { return ""; }
    std::string thinking_delta(int, const std::string& thinking) override {
        if (reply_.kind != OpenAiReply::Kind::Chat) return "";
        return choice_chunk(reply_, {{"reasoning_content", thinking}}, nullptr);
    }
    std::string thinking_end(int) override { return ""; }
    std::string tool_start(int, const std::string& id, const std::string& name) override {
        call_ = next_call_++;
        return choice_chunk(
            reply_,
            {{"tool_calls", json::array({{{"index", call_},
                                          {"id", id},
                                          {"type", "function"},
                                          {"function", {{"name", name}, {"arguments", ""}}}}})}},
            nullptr);
    }
    std::string tool_delta(int, const std::string& partial_json) override {
        return choice_chunk(
            reply_,
            {{"tool_calls",
              json::array({{{"index", call_}, {"function", {{"arguments", partial_json}}}}})}},
            nullptr);
    }
    std::string block_stop(int) override { return ""; }

  private:
    OpenAiReply reply_;
    int next_call_ = 0;
    int call_ = 0;
};

// The OpenAI category of an HTTP status.
std::string openai_type(int status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 429:
            return "rate_limit_error";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

// The field a validation message names ("tools.0.function.name: ..."): the
// text before ": " when it reads as a path.
json param_of(const std::string& message) {
    const size_t colon = message.find(": ");
    if (colon == std::string::npos || colon == 0 || colon > 200) return nullptr;
    for (size_t i = 0; i < colon; ++i) {
        const char c = message[i];
        const bool path_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '_' || c == '.';
        if (!path_char) return nullptr;
    }
    return message.substr(0, colon);
}

}  // namespace

OpenAiReply new_openai_reply(OpenAiReply::Kind kind, const std::string& model, bool include_usage) {
    OpenAiReply r;
    r.kind = kind;
    r.id = new_id(kind == OpenAiReply::Kind::Chat ? "chatcmpl-" : "cmpl-");
    r.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    r.model = model;
    r.include_usage = include_usage;
    return r;
}

std::string finish_reason(const std::string& stop_reason) {
    if (stop_reason == "tool_use") return "tool_calls";
    if (stop_reason == "max_tokens") return "length";
    return "stop";
}

json openai_usage_json(const Usage& u) {
    const int64_t prompt = u.input_tokens + u.cache_read_tokens;
    return {{"prompt_tokens", prompt},
            {"completion_tokens", u.output_tokens},
            {"total_tokens", prompt + u.output_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cache_read_tokens}}}};
}

json openai_reply_json(const OpenAiReply& reply, const json& content,
                       const std::string& stop_reason, const Usage& usage) {
    json out = reply_head(reply, false);
    json choice = {{"index", 0}};
    const std::string text = joined(content, "text", "text");
    if (reply.kind == OpenAiReply::Kind::Completion) {
        choice["text"] = text;
    } else {
        json calls = json::array();
        for (const json& b : content) {
            if (b["type"] == "tool_use") calls.push_back(tool_call_json(b));
        }
        json message = {{"role", "assistant"},
                        {"content", text.empty() && !calls.empty() ? json() : json(text)},
                        {"refusal", nullptr}};
        const std::string reasoning = joined(content, "thinking", "thinking");
        if (!reasoning.empty()) message["reasoning_content"] = reasoning;
        if (!calls.empty()) message["tool_calls"] = std::move(calls);
        choice["message"] = std::move(message);
    }
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish_reason(stop_reason);
    out["choices"] = json::array({std::move(choice)});
    out["usage"] = openai_usage_json(usage);
    return out;
}

std::string sse_data(const json& data) {
    // dump() never emits a raw newline, so the payload stays one data line.
    return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string openai_stream_start(const OpenAiReply& reply) {
    if (reply.kind != OpenAiReply::Kind::Chat) return "";
    return choice_chunk(reply, {{"role", "assistant"}, {"content", ""}}, nullptr);
}

std::shared_ptr<BlockFraming> openai_framing(const OpenAiReply& reply) {
    return std::make_shared<ChatFraming>(reply);
}

std::string openai_stream_finish(const OpenAiReply& reply, const std::string& stop_reason) {
    return choice_chunk(reply, json::object(), finish_reason(stop_reason));
}

std::string openai_stream_usage(const OpenAiReply& reply, const Usage& usage) {
    json chunk = reply_head(reply, true);
    chunk["choices"] = json::array();
    chunk["usage"] = openai_usage_json(usage);
    return sse_data(chunk);
}

std::string openai_stream_done() {
    return "data: [DONE]\n\n";
}

std::string openai_stream_error(const std::string& type, const std::string& message) {
    return sse_data({{"error",
                      {{"message", openai_field_names(message)},
                       {"type", type},
                       {"param", nullptr},
                       {"code", type}}}});
}

json openai_error_body(int status, const std::string& type, const std::string& message) {
    const std::string named = openai_field_names(message);
    return {{"error",
             {{"message", named},
              {"type", openai_type(status)},
              {"param", param_of(named)},
              {"code", type}}}};
}

}  // namespace pensieve::api
