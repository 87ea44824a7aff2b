// OpenAI Chat Completions and Completions bodies → the Anthropic-shaped body
// that messages_request_from_json normalises (see openai_request.hpp). The
// walk touches each value once; errors name the OpenAI field.
#include "api/openai_request.hpp"

#include <regex>
#include <utility>

#include "api/error.hpp"
#include "api/field_path.hpp"
#include "api/json_body.hpp"
#include "api/json_fields.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void unsupported(const FieldPath& at, const std::string& what) {
    throw invalid_request(at.str() + ": " + what + " is not supported by this server");
}

const std::string& string_member(const json& object, const char* key, const FieldPath& at) {
    const json* v = set_member(object, key);
    if (v == nullptr) throw invalid_request((at / key).str() + ": Field required");
    if (!v->is_string()) wrong_type(at / key, "a string", *v);
    return v->get_ref<const std::string&>();
}

bool boolean_member(const json& object, const char* key, const FieldPath& at) {
    const json* v = set_member(object, key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) wrong_type(at, "a boolean", *v);
    return v->get<bool>();
}

// Copies a top-level field unchanged, for the shared validation to check.
void copy(const json& from, const char* key, json& to, const char* as = nullptr) {
    const json* v = set_member(from, key);
    if (v != nullptr) to[as != nullptr ? as : key] = *v;
}

// Content as text: a string, or an array of text parts (and, for assistant
// messages, refusal parts) joined. Images, audio and files are refused.
std::string content_text(const json& content, const FieldPath& at, bool assistant) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) wrong_type(at, "a string or an array of content parts", content);
    std::string out;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const FieldPath where = at / i;
        const json& part = content[i];
        if (!part.is_object()) wrong_type(where, "a content part object", part);
        const std::string& type = string_member(part, "type", where);
        const char* key = type == "text" ? "text" : nullptr;
        if (assistant && type == "refusal") key = "refusal";
        if (key == nullptr) {
            unsupported(where / "type", "content part type \"" + type.substr(0, 64) + "\"");
        }
        if (!out.empty()) out += "\n";
        out += string_member(part, key, where);
    }
    return out;
}

// An assistant message: its text, then its tool_calls as tool_use blocks.
json assistant_content(const json& m, const FieldPath& at, const RequestLimits& limits) {
    const json* content = set_member(m, "content");
    std::string text = content == nullptr ? "" : content_text(*content, at / "content", true);
    const json* calls = set_member(m, "tool_calls");
    if (calls == nullptr) return text;
    const FieldPath calls_at = at / "tool_calls";
    if (!calls->is_array()) wrong_type(calls_at, "an array", *calls);
    json blocks = json::array();
    if (!text.empty()) blocks.push_back({{"type", "text"}, {"text", std::move(text)}});
    for (std::size_t i = 0; i < calls->size(); ++i) {
        const FieldPath where = calls_at / i;
        const json& call = (*calls)[i];
        if (!call.is_object()) wrong_type(where, "a tool call object", call);
        const json* type = set_member(call, "type");
        if (type != nullptr && *type != "function") {
            throw invalid_request((where / "type").str() + ": must be \"function\"");
        }
        const json* function = set_member(call, "function");
        const FieldPath fn = where / "function";
        if (function == nullptr) throw invalid_request(fn.str() + ": Field required");
        if (!function->is_object()) wrong_type(fn, "an object", *function);
        const std::string& arguments = string_member(*function, "arguments", fn);
        json input;
        try {
            input = arguments.empty() ? json::object() : parse_json_body(arguments, limits);
        } catch (const ApiError& e) {
            throw invalid_request((fn / "arguments").str() + ": not valid JSON (" + e.what() + ")");
        }
        if (!input.is_object()) {
            throw invalid_request((fn / "arguments").str() + ": must be a JSON object");
        }
        blocks.push_back({{"type", "tool_use"},
                          {"id", string_member(call, "id", where)},
                          {"name", string_member(*function, "name", fn)},
                          {"input", std::move(input)}});
    }
    if (blocks.empty()) return "";
    return blocks;
}

// messages → Anthropic turns, one for each (the shared validation merges
// consecutive turns of one role and folds system turns into the system).
json translate_messages(const json& body, const RequestLimits& limits) {
    const FieldPath at("messages");
    const json* msgs = set_member(body, "messages");
    if (msgs == nullptr) throw invalid_request("messages: Field required");
    if (!msgs->is_array()) wrong_type(at, "an array", *msgs);
    json turns = json::array();
    for (std::size_t i = 0; i < msgs->size(); ++i) {
        const FieldPath where = at / i;
        const json& m = (*msgs)[i];
        if (!m.is_object()) wrong_type(where, "an object", m);
        const std::string& role = string_member(m, "role", where);
        const json* content = set_member(m, "content");
        if (role == "assistant") {
            turns.push_back(
                {{"role", "assistant"}, {"content", assistant_content(m, where, limits)}});
            continue;
        }
        if (role != "system" && role != "developer" && role != "user" && role != "tool") {
            throw invalid_request((where / "role").str() +
                                  ": must be \"system\", \"developer\", \"user\", \"assistant\" "
                                  "or \"tool\", got \"" +
                                  role.substr(0, 64) + "\"");
        }
        if (content == nullptr)
            throw invalid_request((where / "content").str() + ": Field required");
        std::string text = content_text(*content, where / "content", false);
        if (role == "tool") {
            const std::string& id = string_member(m, "tool_call_id", where);
            turns.push_back({{"role", "user"},
                             {"content", json::array({{{"type", "tool_result"},
                                                       {"tool_use_id", id},
                                                       {"content", text}}})}});
        } else {
            turns.push_back({{"role", role == "user" ? "user" : "system"}, {"content", text}});
        }
    }
    return turns;
}

// tools: [{"type":"function","function":{name, description, parameters}}].
json translate_tools(const json& tools) {
    const FieldPath at("tools");
    if (!tools.is_array()) wrong_type(at, "an array", tools);
    json out = json::array();
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const FieldPath where = at / i;
        const json& tool = tools[i];
        if (!tool.is_object()) wrong_type(where, "a tool object", tool);
        const json* type = set_member(tool, "type");
        if (type == nullptr || *type != "function") {
            throw invalid_request((where / "type").str() + ": must be \"function\"");
        }
        const FieldPath fn = where / "function";
        const json* function = set_member(tool, "function");
        if (function == nullptr) throw invalid_request(fn.str() + ": Field required");
        if (!function->is_object()) wrong_type(fn, "an object", *function);
        json t = {{"name", string_member(*function, "name", fn)}};
        copy(*function, "description", t);
        const json* parameters = set_member(*function, "parameters");
        t["input_schema"] = parameters != nullptr
                                ? *parameters
                                : json{{"type", "object"}, {"properties", json::object()}};
        out.push_back(std::move(t));
    }
    return out;
}

// tool_choice: "auto" | "none" | "required" | {"type":"function","function":{"name":...}}.
json translate_tool_choice(const json& choice, bool parallel) {
    const FieldPath at("tool_choice");
    json out;
    if (choice.is_string()) {
        const auto& kind = choice.get_ref<const std::string&>();
        if (kind == "auto" || kind == "none") {
            out = {{"type", kind}};
        } else if (kind == "required") {
            out = {{"type", "any"}};
        } else {
            throw invalid_request(at.str() +
                                  ": must be \"auto\", \"none\", \"required\" or a function");
        }
    } else if (choice.is_object()) {
        const json* type = set_member(choice, "type");
        if (type == nullptr || *type != "function") {
            throw invalid_request((at / "type").str() + ": must be \"function\"");
        }
        const FieldPath fn = at / "function";
        const json* function = set_member(choice, "function");
        if (function == nullptr) throw invalid_request(fn.str() + ": Field required");
        if (!function->is_object()) wrong_type(fn, "an object", *function);
        out = {{"type", "tool"}, {"name", string_member(*function, "name", fn)}};
    } else {
        wrong_type(at, "a string or an object", choice);
    }
    if (!parallel) out["disable_parallel_tool_use"] = true;
    return out;
}

// response_format → output_format {"type":"json_schema","schema":...}, or
// null for plain text.
json translate_response_format(const json& format) {
    const FieldPath at("response_format");
    if (!format.is_object()) wrong_type(at, "an object", format);
    const std::string& type = string_member(format, "type", at);
    if (type == "text") return nullptr;
    if (type == "json_object") {
        return {{"type", "json_schema"}, {"schema", {{"type", "object"}}}};
    }
    if (type != "json_schema") {
        throw invalid_request((at / "type").str() +
                              ": must be \"text\", \"json_object\" or \"json_schema\"");
    }
    const FieldPath js = at / "json_schema";
    const json* spec = set_member(format, "json_schema");
    if (spec == nullptr) throw invalid_request(js.str() + ": Field required");
    if (!spec->is_object()) wrong_type(js, "an object", *spec);
    string_member(*spec, "name", js);
    const json* schema = set_member(*spec, "schema");
    return {{"type", "json_schema"}, {"schema", schema != nullptr ? *schema : json::object()}};
}

// The fields both OpenAI routes share: model, sampling, stop, seed, stream,
// and the refusals of what the server cannot do.
json common_fields(const json& body, OpenAiRequest& r) {
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");
    json out = json::object();
    copy(body, "model", out);
    copy(body, "temperature", out);
    copy(body, "top_p", out);
    const json* n = set_member(body, "n");
    if (n != nullptr && !(n->is_number_integer() && n->get<int64_t>() == 1)) {
        throw invalid_request("n: only 1 choice per request is supported by this server");
    }
    const json* logprobs = set_member(body, "logprobs");
    if (logprobs != nullptr && *logprobs != false) unsupported(FieldPath("logprobs"), "logprobs");
    if (set_member(body, "top_logprobs") != nullptr) {
        unsupported(FieldPath("top_logprobs"), "top_logprobs");
    }
    const json* stop = set_member(body, "stop");
    if (stop != nullptr) out["stop_sequences"] = stop->is_string() ? json::array({*stop}) : *stop;
    const json* seed = set_member(body, "seed");
    if (seed != nullptr) {
        if (!seed->is_number_integer()) wrong_type(FieldPath("seed"), "an integer", *seed);
        r.core.seed = seed->is_number_unsigned() ? seed->get<uint64_t>()
                                                 : static_cast<uint64_t>(seed->get<int64_t>());
    }
    copy(body, "stream", out);
    const json* options = set_member(body, "stream_options");
    if (options != nullptr) {
        const FieldPath at("stream_options");
        if (!options->is_object()) wrong_type(at, "an object", *options);
        r.include_usage = boolean_member(*options, "include_usage", at / "include_usage");
    }
    return out;
}

void max_tokens(const json& body, const char* key, json& out) {
    const json* v = set_member(body, key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) wrong_type(FieldPath(key), "an integer", *v);
    out["max_tokens"] = *v;
}

}  // namespace

OpenAiRequest parse_chat_completions_request(std::string_view text, const RequestLimits& limits) {
    return chat_completions_from_json(parse_json_body(text, limits), limits);
}

OpenAiRequest chat_completions_from_json(const json& body, const RequestLimits& limits) {
    OpenAiRequest r;
    json a = common_fields(body, r);
    a["max_tokens"] = kMaxTokensCap;  // absent: up to the context (clamped by the server)
    max_tokens(body, "max_tokens", a);
    max_tokens(body, "max_completion_tokens", a);
    const json* tools = set_member(body, "tools");
    if (tools != nullptr) a["tools"] = translate_tools(*tools);
    const json* parallel = set_member(body, "parallel_tool_calls");
    bool parallel_calls = true;
    if (parallel != nullptr) {
        if (!parallel->is_boolean()) {
            wrong_type(FieldPath("parallel_tool_calls"), "a boolean", *parallel);
        }
        parallel_calls = parallel->get<bool>();
    }
    const json* choice = set_member(body, "tool_choice");
    if (choice != nullptr) {
        a["tool_choice"] = translate_tool_choice(*choice, parallel_calls);
    }
    const json* format = set_member(body, "response_format");
    if (format != nullptr) {
        json output = translate_response_format(*format);
        if (!output.is_null()) a["output_format"] = std::move(output);
    }
    const json* functions = set_member(body, "functions");
    if (functions != nullptr) {
        unsupported(FieldPath("functions"), "the deprecated functions field (send tools)");
    }
    a["messages"] = translate_messages(body, limits);
    const std::optional<uint64_t> seed = r.core.seed;
    r.core = messages_request_from_json(a, Endpoint::Messages, limits);
    r.core.seed = seed;
    r.core.one_tool_call = !parallel_calls;
    return r;
}

OpenAiRequest parse_completions_request(std::string_view text, const RequestLimits& limits) {
    return completions_from_json(parse_json_body(text, limits), limits);
}

OpenAiRequest completions_from_json(const json& body, const RequestLimits& limits) {
    OpenAiRequest r;
    json a = common_fields(body, r);
    a["max_tokens"] = kCompletionsDefaultMaxTokens;
    max_tokens(body, "max_tokens", a);
    if (boolean_member(body, "echo", FieldPath("echo"))) {
        unsupported(FieldPath("echo"), "echo");
    }
    const json* best_of = set_member(body, "best_of");
    if (best_of != nullptr && *best_of != 1) unsupported(FieldPath("best_of"), "best_of > 1");
    if (set_member(body, "suffix") != nullptr) unsupported(FieldPath("suffix"), "suffix");
    const json* prompt = set_member(body, "prompt");
    const FieldPath at("prompt");
    if (prompt == nullptr) throw invalid_request("prompt: Field required");
    std::string raw;
    if (prompt->is_string()) {
        raw = prompt->get<std::string>();
    } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
        raw = (*prompt)[0].get<std::string>();
    } else if (prompt->is_array()) {
        unsupported(at, "a prompt other than one string (a batch, or token ids)");
    } else {
        wrong_type(at, "a string", *prompt);
    }
    // The shared checks (model, sampling, stop, max_tokens) run over a
    // one-turn conversation that is then replaced by the raw prompt.
    a["messages"] = json::array({{{"role", "user"}, {"content", "-"}}});
    const std::optional<uint64_t> seed = r.core.seed;
    r.core = messages_request_from_json(a, Endpoint::Messages, limits);
    r.core.seed = seed;
    r.core.messages = json::array();
    r.core.raw_prompt = std::move(raw);
    return r;
}

std::string openai_field_names(std::string message) {
    auto [path, rest] = split_field(message);
    if (path.empty()) return message;
    static const std::regex schema(R"(^tools\.(\d+)\.input_schema)");
    static const std::regex use_id(R"(^messages\.(\d+)\.content\.\d+\.tool_use_id$)");
    std::smatch m;
    if (std::regex_search(path, m, schema)) {
        path = "tools." + m[1].str() + ".function.parameters" + m.suffix().str();
    } else if (std::regex_match(path, m, use_id)) {
        path = "messages." + m[1].str() + ".tool_call_id";
    } else if (!rename_field_prefix(path, "stop_sequences", "stop") &&
               !rename_field_prefix(path, "output_format.schema",
                                    "response_format.json_schema.schema")) {
        rename_field_prefix(path, "output_format", "response_format");
    }
    if (path == "tool_choice" && rest.starts_with(": \"any\"")) {
        rest = ": \"required\"" + rest.substr(std::string_view(": \"any\"").size());
    }
    return path + rest;
}

}  // namespace pensieve::api
