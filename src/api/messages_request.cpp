// Validation and normalisation of Messages requests (API reference §1), within
// the bounds of RequestLimits. The walk over the body touches each value once;
// field paths for errors are spelled out only when an error is raised.
#include "api/messages_request.hpp"

#include <algorithm>

#include "api/error.hpp"
#include "api/field_path.hpp"
#include "api/json_body.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

// Distinct dropped block types kept for the log; more add nothing useful.
constexpr std::size_t kMaxDroppedTypes = 16;

std::string type_name(const json& v) {
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
}

[[noreturn]] void wrong_type(const FieldPath& at, const std::string& expected, const json& v) {
    throw invalid_request(at.str() + ": expected " + expected + ", got " + type_name(v));
}

// "<path>: more than 16 stop sequences (the limit)"
[[noreturn]] void over_limit(const FieldPath& at, const char* relation, std::size_t limit,
                             const char* unit) {
    throw invalid_request(at.str() + ": " + relation + " " + std::to_string(limit) + " " + unit +
                          " (the limit)");
}

// The member `key` of an object, or nullptr when absent (operator[] on a
// const json must not be used for absent keys).
const json* member(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

void check_length(const std::string& s, const FieldPath& at, std::size_t limit) {
    if (s.size() > limit) over_limit(at, "longer than", limit, "bytes");
}

void join(std::string& out, std::string_view text, std::string_view separator) {
    if (!out.empty() && !text.empty()) out += separator;
    out += text;
}

// What the walk over one request keeps: its bounds, the blocks seen so far,
// and the block types left out.
struct Walk {
    const RequestLimits& limits;
    std::vector<std::string>& dropped;
    std::size_t blocks = 0;
};

std::string content_text(const json& content, const FieldPath& at, Walk& w, bool in_tool_result);

// Appends the text of one content block to `out` ("\n" between texts): text
// blocks, and tool results (whose content is text too). Other blocks are left
// out and their type recorded.
void append_block_text(const json& block, const FieldPath& at, Walk& w, bool in_tool_result,
                       std::string& out) {
    if (++w.blocks > w.limits.max_content_blocks) {
        over_limit(at, "more than", w.limits.max_content_blocks, "content blocks in the request");
    }
    if (!block.is_object()) wrong_type(at, "a content block object", block);
    const json* type_value = member(block, "type");
    if (type_value == nullptr || !type_value->is_string()) {
        throw invalid_request((at / "type").str() + ": Field required");
    }
    const auto& type = type_value->get_ref<const std::string&>();
    check_length(type, at / "type", w.limits.max_block_type_bytes);
    if (type == "text") {
        const json* text = member(block, "text");
        if (text == nullptr || !text->is_string()) {
            throw invalid_request((at / "text").str() + ": expected a string");
        }
        join(out, text->get_ref<const std::string&>(), "\n");
        return;
    }
    if (type == "tool_result" && in_tool_result) {
        // The API allows text, image and document blocks here; refusing nested
        // results also keeps this walk two levels deep at most.
        throw invalid_request(at.str() +
                              ": a tool_result block cannot be inside another tool_result");
    }
    const json* content = type == "tool_result" ? member(block, "content") : nullptr;
    if (content != nullptr) {
        join(out, content_text(*content, at / "content", w, true), "\n");
        return;
    }
    if (w.dropped.size() < kMaxDroppedTypes &&
        std::find(w.dropped.begin(), w.dropped.end(), type) == w.dropped.end()) {
        w.dropped.push_back(type);
    }
}

// The text of a content value (a string or an array of blocks).
std::string content_text(const json& content, const FieldPath& at, Walk& w, bool in_tool_result) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) wrong_type(at, "a string or an array of content blocks", content);
    std::string out;
    for (std::size_t i = 0; i < content.size(); ++i) {
        append_block_text(content[i], at / i, w, in_tool_result, out);
    }
    return out;
}

// Claude Code's first system block carries a per-request nonce
// ("x-anthropic-billing-header: ...; cch=...") that would defeat prefix
// reuse (pitfall P10); it says nothing to the model, so it is dropped.
bool is_billing_header(const std::string& text) {
    return text.rfind("x-anthropic-billing-header:", 0) == 0;
}

std::string system_text(const json& system, Walk& w) {
    const FieldPath at("system");
    if (system.is_string()) return system.get<std::string>();
    if (!system.is_array()) wrong_type(at, "a string or an array of text blocks", system);
    std::string out;
    for (std::size_t i = 0; i < system.size(); ++i) {
        std::string text;
        append_block_text(system[i], at / i, w, false, text);
        if (text.empty() || is_billing_header(text)) continue;
        join(out, text, "\n\n");
    }
    return out;
}

template <class T>
std::optional<T> optional_number(const json& body, const char* field, double lo, double hi) {
    const json* v = member(body, field);
    if (v == nullptr || v->is_null()) return std::nullopt;
    const bool integral = std::is_integral_v<T>;
    if (!v->is_number() || (integral && !v->is_number_integer())) {
        wrong_type(FieldPath(field), integral ? "an integer" : "a number", *v);
    }
    const double d = v->get<double>();
    if (!(d >= lo && d <= hi)) {
        throw invalid_request(std::string(field) + ": must be between " + std::to_string(lo) +
                              " and " + std::to_string(hi));
    }
    return static_cast<T>(d);
}

std::vector<std::string> stop_sequences(const json& s, const RequestLimits& limits) {
    const FieldPath at("stop_sequences");
    if (!s.is_array()) wrong_type(at, "an array of strings", s);
    if (s.size() > limits.max_stop_sequences) {
        over_limit(at, "more than", limits.max_stop_sequences, "stop sequences");
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!s[i].is_string()) wrong_type(at / i, "a string", s[i]);
        const auto& text = s[i].get_ref<const std::string&>();
        check_length(text, at / i, limits.max_stop_bytes);
        if (!text.empty()) out.push_back(text);
    }
    return out;
}

// Levels of nested arrays and objects in v (a scalar: 0, {}: 1), without
// recursion.
std::size_t nesting(const json& v) {
    std::size_t deepest = 0;
    std::vector<std::pair<const json*, std::size_t>> pending{{&v, 0}};
    while (!pending.empty()) {
        const auto [node, depth] = pending.back();
        pending.pop_back();
        if (!node->is_structured()) continue;
        deepest = std::max(deepest, depth + 1);
        for (const json& child : *node) pending.emplace_back(&child, depth + 1);
    }
    return deepest;
}

// Tools are not used yet (see MessagesRequest::tools_ignored); only their
// bounds are checked, so that what tool use will read is already bounded.
bool check_tools(const json& tools, const RequestLimits& limits) {
    const FieldPath at("tools");
    if (!tools.is_array()) wrong_type(at, "an array", tools);
    if (tools.size() > limits.max_tools) over_limit(at, "more than", limits.max_tools, "tools");
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const json& tool = tools[i];
        if (!tool.is_object()) continue;
        const FieldPath where = at / i;
        const json* name = member(tool, "name");
        if (name != nullptr && name->is_string()) {
            check_length(name->get_ref<const std::string&>(), where / "name",
                         limits.max_tool_name_bytes);
        }
        const json* description = member(tool, "description");
        if (description != nullptr && description->is_string()) {
            check_length(description->get_ref<const std::string&>(), where / "description",
                         limits.max_tool_description_bytes);
        }
        const json* schema = member(tool, "input_schema");
        if (schema != nullptr && nesting(*schema) > limits.max_schema_depth) {
            over_limit(where / "input_schema", "nested deeper than", limits.max_schema_depth,
                       "levels");
        }
    }
    return !tools.empty();
}

}  // namespace

MessagesRequest parse_messages_request(std::string_view body_text, Endpoint endpoint,
                                       const RequestLimits& limits) {
    const json body = parse_json_body(body_text, limits);
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");
    MessagesRequest r;
    Walk walk{limits, r.dropped_blocks};

    const json* model = member(body, "model");
    if (model == nullptr) throw invalid_request("model: Field required");
    if (!model->is_string()) wrong_type(FieldPath("model"), "a string", *model);
    r.model = model->get<std::string>();
    check_length(r.model, FieldPath("model"), limits.max_model_bytes);

    if (endpoint == Endpoint::Messages) {
        const json* mt = member(body, "max_tokens");
        if (mt == nullptr) throw invalid_request("max_tokens: Field required");
        if (!mt->is_number_integer()) wrong_type(FieldPath("max_tokens"), "an integer", *mt);
        const auto v = mt->get<int64_t>();
        if (v < 1 || v > kMaxTokensCap) {
            throw invalid_request("max_tokens: must be between 1 and " +
                                  std::to_string(kMaxTokensCap));
        }
        r.max_tokens = v;
        const json* stream = member(body, "stream");
        if (stream != nullptr && !stream->is_null()) {
            if (!stream->is_boolean()) wrong_type(FieldPath("stream"), "a boolean", *stream);
            r.stream = stream->get<bool>();
        }
        r.temperature = optional_number<float>(body, "temperature", 0.0, 2.0);
        r.top_p = optional_number<float>(body, "top_p", 0.0, 1.0);
        r.top_k = optional_number<int32_t>(body, "top_k", 0.0, 1e9);
        const json* stops = member(body, "stop_sequences");
        if (stops != nullptr && !stops->is_null())
            r.stop_sequences = stop_sequences(*stops, limits);
    }
    const json* tools = member(body, "tools");
    if (tools != nullptr && !tools->is_null()) r.tools_ignored = check_tools(*tools, limits);

    std::string system;
    const json* system_value = member(body, "system");
    if (system_value != nullptr && !system_value->is_null()) {
        system = system_text(*system_value, walk);
    }
    const FieldPath messages("messages");
    const json* msgs = member(body, "messages");
    if (msgs == nullptr) throw invalid_request("messages: Field required");
    if (!msgs->is_array()) wrong_type(messages, "an array", *msgs);
    if (msgs->empty()) throw invalid_request("messages: at least one message is required");
    if (msgs->size() > limits.max_messages) {
        over_limit(messages, "more than", limits.max_messages, "messages");
    }
    json turns = json::array();
    for (std::size_t i = 0; i < msgs->size(); ++i) {
        const FieldPath at = messages / i;
        const json& m = (*msgs)[i];
        if (!m.is_object()) wrong_type(at, "an object", m);
        const json* role_value = member(m, "role");
        if (role_value == nullptr) throw invalid_request((at / "role").str() + ": Field required");
        if (!role_value->is_string()) wrong_type(at / "role", "a string", *role_value);
        const auto& role = role_value->get_ref<const std::string&>();
        if (role != "user" && role != "assistant" && role != "system") {
            throw invalid_request((at / "role").str() +
                                  ": must be \"user\", \"assistant\" or \"system\"");
        }
        const json* content = member(m, "content");
        if (content == nullptr) throw invalid_request((at / "content").str() + ": Field required");
        std::string text = content_text(*content, at / "content", walk, false);
        if (role == "system") {  // Claude Code ≥ 2.1.154 (pitfall P4): fold into the system prompt
            join(system, text, "\n\n");
            continue;
        }
        if (!turns.empty() && turns.back()["role"] == role) {
            join(turns.back()["content"].get_ref<std::string&>(), text, "\n\n");
        } else {
            turns.push_back({{"role", role}, {"content", std::move(text)}});
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
