// Validation and normalisation of Messages requests (API reference §1).
#include "api/messages_request.hpp"

#include "api/error.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

std::string type_name(const json& v) {
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
}

[[noreturn]] void wrong_type(const std::string& field, const std::string& expected, const json& v) {
    throw invalid_request(field + ": expected " + expected + ", got " + type_name(v));
}

// The text of a content value (string or block array); blocks other than text
// (and tool results, whose content is text too) are dropped and recorded.
std::string content_text(const json& content, const std::string& field,
                         std::vector<std::string>& dropped) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) wrong_type(field, "a string or an array of content blocks", content);
    std::string out;
    for (size_t i = 0; i < content.size(); ++i) {
        const json& block = content[i];
        const std::string where = field + "." + std::to_string(i);
        if (!block.is_object()) wrong_type(where, "a content block object", block);
        if (!block.contains("type") || !block["type"].is_string()) {
            throw invalid_request(where + ".type: Field required");
        }
        const std::string type = block["type"].get<std::string>();
        std::string text;
        if (type == "text") {
            if (!block.contains("text") || !block["text"].is_string()) {
                throw invalid_request(where + ".text: expected a string");
            }
            text = block["text"].get<std::string>();
        } else if (type == "tool_result" && block.contains("content")) {
            text = content_text(block["content"], where + ".content", dropped);
        } else {
            dropped.push_back(type);
            continue;
        }
        if (!out.empty() && !text.empty()) out += "\n";
        out += text;
    }
    return out;
}

// Claude Code's first system block carries a per-request nonce
// ("x-anthropic-billing-header: ...; cch=...") that would defeat prefix
// reuse (pitfall P10); it says nothing to the model, so it is dropped.
bool is_billing_header(const std::string& text) {
    return text.rfind("x-anthropic-billing-header:", 0) == 0;
}

std::string system_text(const json& system, std::vector<std::string>& dropped) {
    if (system.is_string()) return system.get<std::string>();
    if (!system.is_array()) wrong_type("system", "a string or an array of text blocks", system);
    std::string out;
    for (size_t i = 0; i < system.size(); ++i) {
        const std::string text = content_text(json::array({system[i]}), "system", dropped);
        if (text.empty() || is_billing_header(text)) continue;
        if (!out.empty()) out += "\n\n";
        out += text;
    }
    return out;
}

template <class T>
std::optional<T> optional_number(const json& body, const char* field, double lo, double hi) {
    if (!body.contains(field) || body[field].is_null()) return std::nullopt;
    const json& v = body[field];
    const bool integral = std::is_integral_v<T>;
    if (!v.is_number() || (integral && !v.is_number_integer())) {
        wrong_type(field, integral ? "an integer" : "a number", v);
    }
    const double d = v.get<double>();
    if (!(d >= lo && d <= hi)) {
        throw invalid_request(std::string(field) + ": must be between " + std::to_string(lo) +
                              " and " + std::to_string(hi));
    }
    return static_cast<T>(d);
}

}  // namespace

MessagesRequest parse_messages_request(std::string_view body_text, Endpoint endpoint) {
    json body;
    try {
        body = json::parse(body_text);
    } catch (const json::parse_error& e) {
        throw invalid_request(std::string("request body is not valid JSON: ") + e.what());
    }
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");
    MessagesRequest r;

    if (!body.contains("model")) throw invalid_request("model: Field required");
    if (!body["model"].is_string()) wrong_type("model", "a string", body["model"]);
    r.model = body["model"].get<std::string>();

    if (endpoint == Endpoint::Messages) {
        if (!body.contains("max_tokens")) throw invalid_request("max_tokens: Field required");
        const json& mt = body["max_tokens"];
        if (!mt.is_number_integer()) wrong_type("max_tokens", "an integer", mt);
        const auto v = mt.get<int64_t>();
        if (v < 1 || v > kMaxTokensCap) {
            throw invalid_request("max_tokens: must be between 1 and " +
                                  std::to_string(kMaxTokensCap));
        }
        r.max_tokens = v;
        if (body.contains("stream") && !body["stream"].is_null()) {
            if (!body["stream"].is_boolean()) wrong_type("stream", "a boolean", body["stream"]);
            r.stream = body["stream"].get<bool>();
        }
        r.temperature = optional_number<float>(body, "temperature", 0.0, 2.0);
        r.top_p = optional_number<float>(body, "top_p", 0.0, 1.0);
        r.top_k = optional_number<int32_t>(body, "top_k", 0.0, 1e9);
        if (body.contains("stop_sequences") && !body["stop_sequences"].is_null()) {
            const json& s = body["stop_sequences"];
            if (!s.is_array()) wrong_type("stop_sequences", "an array of strings", s);
            for (size_t i = 0; i < s.size(); ++i) {
                if (!s[i].is_string())
                    wrong_type("stop_sequences." + std::to_string(i), "a string", s[i]);
                if (!s[i].get_ref<const std::string&>().empty())
                    r.stop_sequences.push_back(s[i].get<std::string>());
            }
        }
    }
    if (body.contains("tools") && !body["tools"].is_null()) {
        if (!body["tools"].is_array()) wrong_type("tools", "an array", body["tools"]);
        r.tools_ignored = !body["tools"].empty();
    }

    std::string system;
    if (body.contains("system") && !body["system"].is_null()) {
        system = system_text(body["system"], r.dropped_blocks);
    }
    if (!body.contains("messages")) throw invalid_request("messages: Field required");
    const json& msgs = body["messages"];
    if (!msgs.is_array()) wrong_type("messages", "an array", msgs);
    if (msgs.empty()) throw invalid_request("messages: at least one message is required");
    json turns = json::array();
    for (size_t i = 0; i < msgs.size(); ++i) {
        const std::string field = "messages." + std::to_string(i);
        const json& m = msgs[i];
        if (!m.is_object()) wrong_type(field, "an object", m);
        if (!m.contains("role")) throw invalid_request(field + ".role: Field required");
        if (!m["role"].is_string()) wrong_type(field + ".role", "a string", m["role"]);
        const std::string role = m["role"].get<std::string>();
        if (role != "user" && role != "assistant" && role != "system") {
            throw invalid_request(field + ".role: must be \"user\", \"assistant\" or \"system\"");
        }
        if (!m.contains("content")) throw invalid_request(field + ".content: Field required");
        const std::string text = content_text(m["content"], field + ".content", r.dropped_blocks);
        if (role == "system") {  // Claude Code ≥ 2.1.154 (pitfall P4): fold into the system prompt
            if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
            continue;
        }
        if (!turns.empty() && turns.back()["role"] == role) {
            std::string& prev = turns.back()["content"].get_ref<std::string&>();
            prev += (prev.empty() || text.empty() ? "" : "\n\n") + text;
        } else {
            turns.push_back({{"role", role}, {"content", text}});
        }
    }
    // A final assistant turn is a prefill that the reply continues.
    if (!turns.empty() && turns.back()["role"] == "assistant") {
        r.continuation = turns.back()["content"].get<std::string>();
        turns.erase(turns.size() - 1);
    }
    if (turns.empty()) throw invalid_request("messages: the conversation needs a user turn");
    if (!system.empty()) r.messages.push_back({{"role", "system"}, {"content", system}});
    for (auto& t : turns) r.messages.push_back(std::move(t));
    return r;
}

}  // namespace pensieve::api
