// Validation and normalisation of Messages requests (API reference §1), within
// the bounds of RequestLimits. The walk over the body touches each value once;
// field paths for errors are spelled out only when an error is raised.
#include "api/messages_request.hpp"

#include <algorithm>
#include <unordered_set>

#include "api/error.hpp"
#include "api/field_path.hpp"
#include "api/json_body.hpp"
#include "api/json_fields.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

// Distinct dropped block types kept for the log; more add nothing useful.
constexpr std::size_t kMaxDroppedTypes = 16;

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
    std::unordered_set<std::string> tool_use_ids;  // of the assistant turns so far
    std::string first_tool_block_path;  // where tool history first appears ("" if nowhere)
    // Instructions given inside the conversation (role "system" messages,
    // mid_conv_system blocks), in order: folded into the system prompt.
    std::string late_system;
};

// The type of one content block, checked and counted against the request's
// block limit.
const std::string& block_type(const json& block, const FieldPath& at, Walk& w) {
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
    return type;
}

const std::string& string_member(const json& block, const char* key, const FieldPath& at) {
    const json* v = member(block, key);
    if (v == nullptr || !v->is_string())
        throw invalid_request((at / key).str() + ": expected a string");
    return v->get_ref<const std::string&>();
}

void note_dropped(Walk& w, const std::string& type) {
    if (w.dropped.size() < kMaxDroppedTypes &&
        std::find(w.dropped.begin(), w.dropped.end(), type) == w.dropped.end()) {
        w.dropped.push_back(type);
    }
}

// The text of a value that may hold only text blocks (the system prompt, a
// tool result's content): a string, or its text blocks joined by `separator`;
// other blocks (images, documents) are left out and their type recorded.
std::string text_of(const json& content, const FieldPath& at, Walk& w, std::string_view separator,
                    bool in_tool_result) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) wrong_type(at, "a string or an array of content blocks", content);
    std::string out;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const FieldPath where = at / i;
        const std::string& type = block_type(content[i], where, w);
        if (type == "text") {
            join(out, string_member(content[i], "text", where), separator);
        } else if (type == "tool_result" && in_tool_result) {
            // The API allows text, image and document blocks here; refusing
            // nested results also keeps this walk two levels deep at most.
            throw invalid_request(where.str() +
                                  ": a tool_result block cannot be inside another tool_result");
        } else {
            note_dropped(w, type);
        }
    }
    return out;
}

// The content of one turn, checked: a string when it holds only text (its
// text blocks joined by "\n"), else the array of blocks kept: text, tool_use
// (assistant turns) and tool_result (user turns, its content made text).
// Thinking blocks sent back in history are accepted and left out, as are
// images and documents (recorded).
json turn_content(const json& content, const FieldPath& at, Walk& w, const std::string& role) {
    if (content.is_string()) return content;
    if (!content.is_array()) wrong_type(at, "a string or an array of content blocks", content);
    json kept = json::array();
    bool only_text = true;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const FieldPath where = at / i;
        const json& block = content[i];
        const std::string& type = block_type(block, where, w);
        if (type == "text") {
            kept.push_back({{"type", "text"}, {"text", string_member(block, "text", where)}});
        } else if (type == "tool_use") {
            if (role != "assistant") {
                throw invalid_request(where.str() +
                                      ": a tool_use block belongs in an assistant turn");
            }
            const json* input = member(block, "input");
            if (input == nullptr || !input->is_object()) {
                throw invalid_request((where / "input").str() + ": expected an object");
            }
            const std::string& id = string_member(block, "id", where);
            const std::string& name = string_member(block, "name", where);
            if (id.empty()) throw invalid_request((where / "id").str() + ": must not be empty");
            if (name.empty()) throw invalid_request((where / "name").str() + ": must not be empty");
            if (!w.tool_use_ids.insert(id).second) {
                throw invalid_request((where / "id").str() + ": tool_use ids must be unique (\"" +
                                      id + "\" is used twice)");
            }
            if (w.first_tool_block_path.empty()) w.first_tool_block_path = where.str();
            kept.push_back({{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", *input}});
            only_text = false;
        } else if (type == "tool_result") {
            if (role != "user") {
                throw invalid_request(where.str() + ": a tool_result block belongs in a user turn");
            }
            const std::string& use_id = string_member(block, "tool_use_id", where);
            if (w.first_tool_block_path.empty()) w.first_tool_block_path = where.str();
            json result = {{"type", "tool_result"}, {"tool_use_id", use_id}, {"content", ""}};
            const json* result_content = member(block, "content");
            if (result_content != nullptr && !result_content->is_null()) {
                result["content"] = text_of(*result_content, where / "content", w, "\n", true);
            }
            const json* is_error = member(block, "is_error");
            if (is_error != nullptr && !is_error->is_null()) {
                if (!is_error->is_boolean()) wrong_type(where / "is_error", "a boolean", *is_error);
                result["is_error"] = *is_error;
            }
            if (!w.tool_use_ids.contains(use_id)) {
                throw invalid_request((where / "tool_use_id").str() +
                                      ": no tool_use block with id \"" + use_id +
                                      "\" comes before this tool_result");
            }
            kept.push_back(std::move(result));
            only_text = false;
        } else if (type == "mid_conv_system") {
            // Claude Code's system instructions inside a turn: its text
            // blocks go to the system prompt, as a role "system" message's.
            const json* inner = member(block, "content");
            if (inner == nullptr)
                throw invalid_request((where / "content").str() + ": Field required");
            join(w.late_system, text_of(*inner, where / "content", w, "\n", false), "\n\n");
        } else if (type != "thinking" && type != "redacted_thinking") {
            note_dropped(w, type);
        }
    }
    if (!only_text) return kept;
    std::string text;
    for (const json& b : kept) join(text, b["text"].get_ref<const std::string&>(), "\n");
    return text;
}

// Whether a turn's content is nothing but mid_conv_system blocks (checked
// by turn_content first).
bool only_instructions(const json& content) {
    return content.is_array() && !content.empty() &&
           std::all_of(content.begin(), content.end(), [](const json& b) {
               return b.value("type", std::string()) == "mid_conv_system";
           });
}

// A turn's content as blocks (a string becomes one text block).
json as_blocks(json content) {
    if (content.is_array()) return content;
    return json::array({{{"type", "text"}, {"text", std::move(content)}}});
}

// Merges `next` into `prev` (consecutive turns of one role): text is joined
// by a blank line, as separate turns read; blocks are concatenated.
void merge_content(json& prev, json next) {
    if (prev.is_string() && next.is_string()) {
        join(prev.get_ref<std::string&>(), next.get_ref<const std::string&>(), "\n\n");
        return;
    }
    json blocks = as_blocks(std::move(prev));
    json more = as_blocks(std::move(next));
    for (std::size_t i = 0; i < more.size(); ++i) {
        if (i == 0 && !blocks.empty() && blocks.back()["type"] == "text" &&
            more[0]["type"] == "text") {
            join(blocks.back()["text"].get_ref<std::string&>(),
                 more[0]["text"].get_ref<const std::string&>(), "\n\n");
            continue;
        }
        blocks.push_back(std::move(more[i]));
    }
    prev = std::move(blocks);
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
        const FieldPath where = at / i;
        if (block_type(system[i], where, w) != "text") {
            note_dropped(w, system[i]["type"].get<std::string>());
            continue;
        }
        const std::string& text = string_member(system[i], "text", where);
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

bool valid_tool_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

void check_schema_depth(const json& schema, const FieldPath& at, const RequestLimits& limits) {
    if (nesting(schema) > limits.max_schema_depth) {
        over_limit(at, "nested deeper than", limits.max_schema_depth, "levels");
    }
}

// Tool definitions: bounded, names as the API allows them and unique. The
// rest of each definition (input_schema an object, server tools) is checked
// where tools are rendered (chat/tools/tool_prompt.hpp).
void check_tools(const json& tools, const RequestLimits& limits) {
    const FieldPath at("tools");
    if (!tools.is_array()) wrong_type(at, "an array", tools);
    if (tools.size() > limits.max_tools) over_limit(at, "more than", limits.max_tools, "tools");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const json& tool = tools[i];
        const FieldPath where = at / i;
        if (!tool.is_object()) wrong_type(where, "a tool object", tool);
        const json* name = member(tool, "name");
        if (name == nullptr) throw invalid_request((where / "name").str() + ": Field required");
        if (!name->is_string()) wrong_type(where / "name", "a string", *name);
        const auto& text = name->get_ref<const std::string&>();
        check_length(text, where / "name", limits.max_tool_name_bytes);
        if (!valid_tool_name(text)) {
            throw invalid_request((where / "name").str() +
                                  ": must match ^[a-zA-Z0-9_-]{1,64}$, got \"" + text + "\"");
        }
        names.push_back(text);
        const json* description = member(tool, "description");
        if (description != nullptr && description->is_string()) {
            check_length(description->get_ref<const std::string&>(), where / "description",
                         limits.max_tool_description_bytes);
        }
        const json* schema = member(tool, "input_schema");
        if (schema != nullptr) {
            check_schema_depth(*schema, where / "input_schema", limits);
            // A tool's input is an object (the API's own rule): its schema is
            // an object schema, typed "object" when typed at all.
            const FieldPath at_schema = where / "input_schema";
            if (!schema->is_object()) wrong_type(at_schema, "an object", *schema);
            const json* type = member(*schema, "type");
            if (type != nullptr && *type != "object") {
                throw invalid_request((at_schema / "type").str() + ": must be \"object\"");
            }
        }
    }
    std::sort(names.begin(), names.end());
    const auto dup = std::adjacent_find(names.begin(), names.end());
    if (dup != names.end()) {
        throw invalid_request("tools: tool names must be unique; \"" + *dup + "\" is repeated");
    }
}

chat::ToolChoice tool_choice(const json& v, const json& tools) {
    const FieldPath at("tool_choice");
    if (!v.is_object()) wrong_type(at, "an object", v);
    const json* type = member(v, "type");
    if (type == nullptr) throw invalid_request((at / "type").str() + ": Field required");
    if (!type->is_string()) wrong_type(at / "type", "a string", *type);
    const auto& kind = type->get_ref<const std::string&>();
    chat::ToolChoice c;
    if (kind == "auto") {
        c.kind = chat::ToolChoice::Kind::Auto;
    } else if (kind == "any") {
        c.kind = chat::ToolChoice::Kind::Any;
    } else if (kind == "tool") {
        c.kind = chat::ToolChoice::Kind::Tool;
    } else if (kind == "none") {
        c.kind = chat::ToolChoice::Kind::None;
    } else {
        throw invalid_request((at / "type").str() +
                              ": must be \"auto\", \"any\", \"tool\" or \"none\"");
    }
    const json* parallel = member(v, "disable_parallel_tool_use");
    if (parallel != nullptr && !parallel->is_null()) {
        if (!parallel->is_boolean()) {
            wrong_type(at / "disable_parallel_tool_use", "a boolean", *parallel);
        }
        c.disable_parallel = parallel->get<bool>();
    }
    const bool needs_tools =
        c.kind == chat::ToolChoice::Kind::Any || c.kind == chat::ToolChoice::Kind::Tool;
    if (needs_tools && (!tools.is_array() || tools.empty())) {
        throw invalid_request(at.str() + ": \"" + kind + "\" needs tools, and none were given");
    }
    if (c.kind == chat::ToolChoice::Kind::Tool) {
        const json* name = member(v, "name");
        if (name == nullptr) throw invalid_request((at / "name").str() + ": Field required");
        if (!name->is_string()) wrong_type(at / "name", "a string", *name);
        c.name = name->get<std::string>();
        const bool known = std::any_of(tools.begin(), tools.end(), [&](const json& t) {
            return t.is_object() && t.contains("name") && t["name"] == c.name;
        });
        if (!known) {
            throw invalid_request((at / "name").str() + ": no tool named \"" + c.name +
                                  "\" in tools");
        }
    }
    return c;
}

// Structured output: {"type": "json_schema", "schema": {...}}, sent as
// `output_format` or `output_config.format`.
json output_schema(const json& format, const FieldPath& at, const RequestLimits& limits) {
    if (!format.is_object()) wrong_type(at, "an object", format);
    const json* type = member(format, "type");
    if (type == nullptr || *type != "json_schema") {
        throw invalid_request((at / "type").str() + ": must be \"json_schema\"");
    }
    const json* schema = member(format, "schema");
    if (schema == nullptr) throw invalid_request((at / "schema").str() + ": Field required");
    if (!schema->is_object()) wrong_type(at / "schema", "an object", *schema);
    check_schema_depth(*schema, at / "schema", limits);
    return *schema;
}

Thinking thinking_field(const json& v, int64_t max_tokens, Endpoint endpoint) {
    const FieldPath at("thinking");
    if (!v.is_object()) wrong_type(at, "an object", v);
    const json* type = member(v, "type");
    if (type == nullptr) throw invalid_request((at / "type").str() + ": Field required");
    Thinking t;
    if (*type == "enabled") {
        t.mode = Thinking::Mode::Enabled;
    } else if (*type == "disabled") {
        t.mode = Thinking::Mode::Disabled;
    } else if (*type == "adaptive") {
        t.mode = Thinking::Mode::Adaptive;
    } else {
        throw invalid_request((at / "type").str() +
                              ": must be \"enabled\", \"disabled\" or \"adaptive\"");
    }
    if (t.mode != Thinking::Mode::Enabled) return t;
    const json* budget = member(v, "budget_tokens");
    if (budget == nullptr) throw invalid_request((at / "budget_tokens").str() + ": Field required");
    if (!budget->is_number_integer()) wrong_type(at / "budget_tokens", "an integer", *budget);
    t.budget_tokens = budget->get<int64_t>();
    if (t.budget_tokens < 1024) {
        throw invalid_request((at / "budget_tokens").str() + ": must be at least 1024");
    }
    if (endpoint == Endpoint::Messages && t.budget_tokens >= max_tokens) {
        throw invalid_request((at / "budget_tokens").str() + ": must be less than max_tokens");
    }
    return t;
}

}  // namespace

MessagesRequest parse_messages_request(std::string_view body_text, Endpoint endpoint,
                                       const RequestLimits& limits) {
    return messages_request_from_json(parse_json_body(body_text, limits), endpoint, limits);
}

std::string model_field(const nlohmann::ordered_json& body, const RequestLimits& limits) {
    const json* model = member(body, "model");
    if (model == nullptr) throw invalid_request("model: Field required");
    if (!model->is_string()) wrong_type(FieldPath("model"), "a string", *model);
    std::string name = model->get<std::string>();
    check_length(name, FieldPath("model"), limits.max_model_bytes);
    return name;
}

MessagesRequest messages_request_from_json(const nlohmann::ordered_json& body, Endpoint endpoint,
                                           const RequestLimits& limits) {
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");
    MessagesRequest r;
    Walk walk{limits, r.dropped_blocks, 0, {}, {}, {}};

    r.model = model_field(body, limits);

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
    if (tools != nullptr && !tools->is_null()) {
        check_tools(*tools, limits);
        if (!tools->empty()) r.tools = *tools;
    }
    const json* choice = member(body, "tool_choice");
    if (choice != nullptr && !choice->is_null()) r.tool_choice = tool_choice(*choice, r.tools);
    const json* format = member(body, "output_format");
    const json* config = member(body, "output_config");
    if (format != nullptr && !format->is_null()) {
        r.output_schema = output_schema(*format, FieldPath("output_format"), limits);
    } else if (config != nullptr && config->is_object()) {
        const json* config_format = member(*config, "format");
        if (config_format != nullptr && !config_format->is_null()) {
            const FieldPath output_config("output_config");
            r.output_schema = output_schema(*config_format, output_config / "format", limits);
            r.output_schema_field = "output_config.format.schema";
        }
    }
    const json* thinking = member(body, "thinking");
    if (thinking != nullptr && !thinking->is_null()) {
        r.thinking = thinking_field(*thinking, r.max_tokens, endpoint);
    }

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
        if (role == "system") {  // Claude Code ≥ 2.1.154 (pitfall P4): fold into the system prompt
            join(walk.late_system, text_of(*content, at / "content", walk, "\n", false), "\n\n");
            continue;
        }
        json turn_text = turn_content(*content, at / "content", walk, role);
        if (only_instructions(*content)) continue;  // no turn of its own
        if (!turns.empty() && turns.back()["role"] == role) {
            merge_content(turns.back()["content"], std::move(turn_text));
        } else {
            turns.push_back({{"role", role}, {"content", std::move(turn_text)}});
        }
    }
    // A final assistant turn is a prefill that the reply continues.
    if (!turns.empty() && turns.back()["role"] == "assistant") {
        const json& last = turns.back()["content"];
        if (!last.is_string()) {
            throw invalid_request(
                "messages: a final assistant turn is continued by the reply, so it may hold "
                "only text");
        }
        r.continuation = last.get<std::string>();
        turns.erase(turns.size() - 1);
    }
    if (turns.empty()) throw invalid_request("messages: the conversation needs a user turn");
    if (!walk.first_tool_block_path.empty() && r.tools.is_null()) {
        throw invalid_request(walk.first_tool_block_path +
                              ": requests with tool_use or tool_result blocks must define tools");
    }
    join(system, walk.late_system, "\n\n");
    if (!system.empty()) r.messages.push_back({{"role", "system"}, {"content", system}});
    for (auto& t : turns) r.messages.push_back(std::move(t));
    return r;
}

}  // namespace pensieve::api
