// Message JSON and SSE event payloads.
#include "api/messages_response.hpp"

#include <random>

namespace pensieve::api {

std::string new_id(const std::string& prefix) {
    static constexpr char kAlphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<int> pick(0, 61);
    std::string id = prefix;
    for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
    return id;
}

nlohmann::json usage_json(const Usage& u) {
    return {{"input_tokens", u.input_tokens},
            {"output_tokens", u.output_tokens},
            {"cache_creation_input_tokens", 0},
            {"cache_read_input_tokens", u.cache_read_tokens}};
}

nlohmann::ordered_json message_json(const std::string& id, const std::string& model,
                                    const nlohmann::ordered_json& content,
                                    const std::string& stop_reason,
                                    const std::optional<std::string>& stop_sequence,
                                    const Usage& usage) {
    using ojson = nlohmann::ordered_json;
    return {{"id", id},
            {"type", "message"},
            {"role", "assistant"},
            {"model", model},
            {"content", content},
            {"stop_reason", stop_reason},
            {"stop_sequence", stop_sequence ? ojson(*stop_sequence) : ojson()},
            {"usage", ojson(usage_json(usage))}};
}

std::string sse_event(const std::string& name, const nlohmann::json& data) {
    // dump() never emits a raw newline, so the payload stays one data line;
    // invalid UTF-8 is replaced rather than throwing mid-stream.
    return "event: " + name +
           "\ndata: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n\n";
}

std::string message_start_event(const std::string& id, const std::string& model,
                                const Usage& usage) {
    nlohmann::json message = {{"id", id},
                              {"type", "message"},
                              {"role", "assistant"},
                              {"model", model},
                              {"content", nlohmann::json::array()},
                              {"stop_reason", nullptr},
                              {"stop_sequence", nullptr},
                              {"usage", usage_json(usage)}};
    return sse_event("message_start", {{"type", "message_start"}, {"message", message}});
}

std::string ping_event() {
    return sse_event("ping", {{"type", "ping"}});
}

std::string text_block_start_event(int index) {
    return sse_event("content_block_start", {{"type", "content_block_start"},
                                             {"index", index},
                                             {"content_block", {{"type", "text"}, {"text", ""}}}});
}

std::string text_delta_event(int index, const std::string& text) {
    return sse_event("content_block_delta", {{"type", "content_block_delta"},
                                             {"index", index},
                                             {"delta", {{"type", "text_delta"}, {"text", text}}}});
}

std::string thinking_block_start_event(int index) {
    return sse_event(
        "content_block_start",
        {{"type", "content_block_start"},
         {"index", index},
         {"content_block", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}});
}

std::string thinking_delta_event(int index, const std::string& thinking) {
    return sse_event("content_block_delta",
                     {{"type", "content_block_delta"},
                      {"index", index},
                      {"delta", {{"type", "thinking_delta"}, {"thinking", thinking}}}});
}

std::string signature_delta_event(int index, const std::string& signature) {
    return sse_event("content_block_delta",
                     {{"type", "content_block_delta"},
                      {"index", index},
                      {"delta", {{"type", "signature_delta"}, {"signature", signature}}}});
}

std::string tool_use_block_start_event(int index, const std::string& id, const std::string& name) {
    return sse_event("content_block_start", {{"type", "content_block_start"},
                                             {"index", index},
                                             {"content_block",
                                              {{"type", "tool_use"},
                                               {"id", id},
                                               {"name", name},
                                               {"input", nlohmann::json::object()}}}});
}

std::string input_json_delta_event(int index, const std::string& partial_json) {
    return sse_event("content_block_delta",
                     {{"type", "content_block_delta"},
                      {"index", index},
                      {"delta", {{"type", "input_json_delta"}, {"partial_json", partial_json}}}});
}

std::string block_stop_event(int index) {
    return sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
}

std::string message_delta_event(const std::string& stop_reason,
                                const std::optional<std::string>& stop_sequence,
                                const Usage& usage) {
    return sse_event(
        "message_delta",
        {{"type", "message_delta"},
         {"delta",
          {{"stop_reason", stop_reason},
           {"stop_sequence", stop_sequence ? nlohmann::json(*stop_sequence) : nlohmann::json()}}},
         {"usage", usage_json(usage)}});
}

std::string message_stop_event() {
    return sse_event("message_stop", {{"type", "message_stop"}});
}

std::string error_event(const std::string& type, const std::string& message) {
    return sse_event("error",
                     {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

namespace {

class AnthropicFraming : public BlockFraming {
  public:
    std::string text_start(int index) override { return text_block_start_event(index); }
    std::string text_delta(int index, const std::string& text) override {
        return text_delta_event(index, text);
    }
    std::string thinking_start(int index) override { return thinking_block_start_event(index); }
    std::string thinking_delta(int index, const std::string& thinking) override {
        return thinking_delta_event(index, thinking);
    }
    // The signature is opaque; clients render thinking only once one arrives.
    std::string thinking_end(int index) override { return signature_delta_event(index, ""); }
    std::string tool_start(int index, const std::string& id, const std::string& name) override {
        return tool_use_block_start_event(index, id, name);
    }
    std::string tool_delta(int index, const std::string& partial_json) override {
        return input_json_delta_event(index, partial_json);
    }
    std::string block_stop(int index) override { return block_stop_event(index); }
};

}  // namespace

std::shared_ptr<BlockFraming> anthropic_framing() {
    return std::make_shared<AnthropicFraming>();
}

}  // namespace pensieve::api
