// Ollama reply objects, NDJSON lines, listings and errors (see
// ollama_response.hpp).
#include "api/ollama_response.hpp"

#include <chrono>
#include <ctime>

#include "api/ollama_request.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

int64_t nanoseconds(double seconds) {
    return static_cast<int64_t>(seconds * 1e9);
}

// The fields every object of a reply starts with.
json head(const OllamaReply& r) {
    return {{"model", r.model}, {"created_at", ollama_timestamp()}};
}

// A line with a piece of the reply: chat puts it in `message`, generate in
// `response` (and `thinking`).
json piece(const OllamaReply& r, const std::string& text, const std::string& thinking) {
    json out = head(r);
    if (r.kind == OllamaReply::Kind::Chat) {
        json message = {{"role", "assistant"}, {"content", text}};
        if (!thinking.empty()) message["thinking"] = thinking;
        out["message"] = std::move(message);
    } else {
        out["response"] = text;
        if (!thinking.empty()) out["thinking"] = thinking;
    }
    out["done"] = false;
    return out;
}

std::string done_reason(const std::string& stop_reason) {
    return stop_reason == "max_tokens" ? "length" : "stop";
}

void add_stats(json& out, const std::string& stop_reason, const Usage& u, const OllamaTimings& t) {
    out["done"] = true;
    out["done_reason"] = done_reason(stop_reason);
    out["total_duration"] = nanoseconds(t.prefill_seconds + t.decode_seconds);
    out["load_duration"] = 0;
    out["prompt_eval_count"] = u.input_tokens + u.cache_read_tokens;
    out["prompt_eval_duration"] = nanoseconds(t.prefill_seconds);
    out["eval_count"] = u.output_tokens;
    out["eval_duration"] = nanoseconds(t.decode_seconds);
}

json tool_call(const std::string& name, json arguments) {
    return {{"function", {{"name", name}, {"arguments", std::move(arguments)}}}};
}

// Ollama sends a call whole, once its arguments are complete: the pieces
// are gathered and the call leaves when its block stops.
class OllamaFraming : public BlockFraming {
  public:
    explicit OllamaFraming(OllamaReply reply) : reply_(std::move(reply)) {}

    std::string text_start(int) override { return ""; }
    std::string text_delta(int, const std::string& text) override {
        return ndjson_line(piece(reply_, text, ""));
    }
    std::string thinking_start(int) override { return ""; }
    std::string thinking_delta(int, const std::string& thinking) override {
        return ndjson_line(piece(reply_, "", thinking));
    }
    std::string thinking_end(int) override { return ""; }
    std::string tool_start(int, const std::string&, const std::string& name) override {
        call_name_ = name;
        arguments_.clear();
        in_call_ = true;
        return "";
    }
    std::string tool_delta(int, const std::string& partial_json) override {
        arguments_ += partial_json;
        return "";
    }
    std::string block_stop(int) override {
        if (!in_call_) return "";
        in_call_ = false;
        // A call whose JSON broke (possible only without the grammar) or
        // was cut off is not sent: Ollama has no partial calls.
        json arguments = json::parse(arguments_, nullptr, false);
        if (arguments.is_discarded() || !arguments.is_object()) return "";
        json line = piece(reply_, "", "");
        if (reply_.kind != OllamaReply::Kind::Chat) return "";
        line["message"]["tool_calls"] = json::array({tool_call(call_name_, std::move(arguments))});
        return ndjson_line(line);
    }

  private:
    OllamaReply reply_;
    bool in_call_ = false;
    std::string call_name_;
    std::string arguments_;
};

}  // namespace

std::string ollama_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           now.time_since_epoch() - std::chrono::seconds(seconds))
                           .count();
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[64];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(nanos));
    return buf;
}

std::string ndjson_line(const json& object) {
    return object.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::shared_ptr<BlockFraming> ollama_framing(const OllamaReply& reply) {
    return std::make_shared<OllamaFraming>(reply);
}

std::string ollama_stream_end(const OllamaReply& reply, const std::string& stop_reason,
                              const Usage& usage, const OllamaTimings& timings) {
    json out = piece(reply, "", "");
    add_stats(out, stop_reason, usage, timings);
    return ndjson_line(out);
}

json ollama_reply_json(const OllamaReply& reply, const json& content,
                       const std::string& stop_reason, const Usage& usage,
                       const OllamaTimings& timings) {
    std::string text;
    std::string thinking;
    json calls = json::array();
    for (const json& b : content) {
        if (b["type"] == "text") text += b["text"].get_ref<const std::string&>();
        if (b["type"] == "thinking") thinking += b["thinking"].get_ref<const std::string&>();
        if (b["type"] == "tool_use") calls.push_back(tool_call(b["name"], b["input"]));
    }
    json out = piece(reply, text, thinking);
    if (!calls.empty() && reply.kind == OllamaReply::Kind::Chat) {
        out["message"]["tool_calls"] = std::move(calls);
    }
    add_stats(out, stop_reason, usage, timings);
    return out;
}

json ollama_load_json(const OllamaReply& reply) {
    json out = piece(reply, "", "");
    out["done"] = true;
    out["done_reason"] = "load";
    return out;
}

json ollama_error_body(const std::string& message) {
    return {{"error", ollama_field_names(message)}};
}

namespace {

json details(const OllamaModelFacts& f) {
    json families = json::array();
    if (!f.architecture.empty()) families.push_back(f.architecture);
    return {{"parent_model", ""},       {"format", "gguf"},
            {"family", f.architecture}, {"families", std::move(families)},
            {"parameter_size", ""},     {"quantization_level", ""}};
}

}  // namespace

json ollama_tags_json(const std::vector<OllamaModelFacts>& models) {
    json out = json::array();
    for (const OllamaModelFacts& f : models) out.push_back(ollama_tags_json(f)["models"][0]);
    return {{"models", out}};
}

json ollama_ps_json(const std::vector<OllamaModelFacts>& models) {
    json out = json::array();
    for (const OllamaModelFacts& f : models) out.push_back(ollama_ps_json(f)["models"][0]);
    return {{"models", out}};
}

json ollama_tags_json(const OllamaModelFacts& f) {
    return {{"models", json::array({{{"name", f.model.id},
                                     {"model", f.model.id},
                                     {"modified_at", "2024-01-01T00:00:00Z"},
                                     {"size", f.file_bytes},
                                     {"digest", ""},
                                     {"details", details(f)}}})}};
}

json ollama_ps_json(const OllamaModelFacts& f) {
    // Ollama writes the time a model unloads; this one stays until the
    // server stops, so the latest time RFC 3339 can write.
    return {{"models", json::array({{{"name", f.model.id},
                                     {"model", f.model.id},
                                     {"size", f.file_bytes},
                                     {"digest", ""},
                                     {"details", details(f)},
                                     {"expires_at", "9999-12-31T23:59:59Z"},
                                     {"size_vram", 0},
                                     {"context_length", f.model.context}}})}};
}

json ollama_show_json(const OllamaModelFacts& f, bool tools) {
    json capabilities = json::array({"completion"});
    if (tools) capabilities.push_back("tools");
    json info = {{"general.name", f.model.display_name}};
    if (!f.architecture.empty()) {
        info["general.architecture"] = f.architecture;
        info[f.architecture + ".context_length"] = f.model.context;
    }
    // `parameters` is the Modelfile's PARAMETER lines, one "name value" a
    // line: clients (Continue) take num_ctx from it and send it back as
    // options.num_ctx, so it must be the server's context.
    return {{"modelfile", ""},
            {"parameters", "num_ctx " + std::to_string(f.model.context)},
            {"template", ""},
            {"details", details(f)},
            {"model_info", std::move(info)},
            {"capabilities", std::move(capabilities)},
            {"modified_at", "2024-01-01T00:00:00Z"}};
}

}  // namespace pensieve::api
