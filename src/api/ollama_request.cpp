// Ollama /api/chat and /api/generate bodies → Chat Completions / Completions
// bodies → the normalised request (see ollama_request.hpp).
#include "api/ollama_request.hpp"

#include <deque>

#include "api/error.hpp"
#include "api/field_path.hpp"
#include "api/json_body.hpp"
#include "api/json_fields.hpp"
#include "api/openai_request.hpp"

namespace pensieve::api {

namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void wrong_type(const FieldPath& at, const std::string& expected) {
    throw invalid_request(at.str() + ": expected " + expected);
}

[[noreturn]] void unsupported(const FieldPath& at, const std::string& what) {
    throw invalid_request(at.str() + ": " + what + " is not supported by this server");
}

void copy(const json& from, const char* key, json& to, const char* as = nullptr) {
    const json* v = set_member(from, key);
    if (v != nullptr) to[as != nullptr ? as : key] = *v;
}

// `options.num_ctx`, a positive integer (0 when absent).
int64_t num_ctx_option(const json& body) {
    const json* options = set_member(body, "options");
    if (options == nullptr || !options->is_object()) return 0;
    const json* n = set_member(*options, "num_ctx");
    if (n == nullptr) return 0;
    if (!n->is_number_integer() || n->get<int64_t>() <= 0) {
        const FieldPath at("options");
        wrong_type(at / "num_ctx", "a positive integer");
    }
    return n->get<int64_t>();
}

// `options`: the sampling fields the server uses; num_ctx is checked by
// the route (num_ctx_option); the rest (repeat_penalty, num_thread, ...)
// are the server's own settings and are ignored.
void translate_options(const json& body, json& out, MessagesRequest& core_extras) {
    const json* options = set_member(body, "options");
    if (options == nullptr) return;
    const FieldPath at("options");
    if (!options->is_object()) wrong_type(at, "an object");
    copy(*options, "temperature", out);
    copy(*options, "top_p", out);
    copy(*options, "seed", out);
    copy(*options, "stop", out);
    const json* top_k = set_member(*options, "top_k");
    if (top_k != nullptr) {
        if (!top_k->is_number_integer() || top_k->get<int64_t>() < 0) {
            wrong_type(at / "top_k", "a non-negative integer");
        }
        core_extras.top_k = static_cast<int32_t>(std::min<int64_t>(top_k->get<int64_t>(), 1 << 30));
    }
    const json* predict = set_member(*options, "num_predict");
    if (predict != nullptr) {
        if (!predict->is_number_integer()) wrong_type(at / "num_predict", "an integer");
        // Past int64 (read as an unsigned) or past the cap of max_tokens:
        // no cap short of the context, as -1 (Ollama takes any count).
        const int64_t n = predict->is_number_unsigned() && predict->get<uint64_t>() > INT64_MAX
                              ? INT64_MAX
                              : predict->get<int64_t>();
        const bool up_to_context = n == -1 || n == -2 || n > kMaxTokensCap;
        if (n > 0 && !up_to_context) {
            out["max_tokens"] = n;
        } else if (!up_to_context) {
            throw invalid_request((at / "num_predict").str() + ": must be positive, -1 or -2");
        }
    }
}

// `format`: "json" (a JSON object) or a JSON Schema.
void translate_format(const json& body, json& out) {
    const json* format = set_member(body, "format");
    if (format == nullptr || *format == "") return;
    const FieldPath at("format");
    json schema;
    if (*format == "json") {
        schema = {{"type", "object"}};
    } else if (format->is_object()) {
        schema = *format;
    } else {
        wrong_type(at, "\"json\" or a JSON Schema object");
    }
    out["response_format"] = {{"type", "json_schema"},
                              {"json_schema", {{"name", "format"}, {"schema", std::move(schema)}}}};
}

// Fields both routes share: model, stream (on unless false), options,
// format, and the refusals.
json common_fields(const json& body) {
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");
    json out = json::object();
    copy(body, "model", out);
    const json* stream = set_member(body, "stream");
    if (stream != nullptr && !stream->is_boolean()) wrong_type(FieldPath("stream"), "a boolean");
    out["stream"] = stream == nullptr || stream->get<bool>();
    translate_format(body, out);
    return out;
}

Thinking think_field(const json& body) {
    const json* think = set_member(body, "think");
    Thinking t;
    if (think == nullptr) return t;
    if (!think->is_boolean()) {
        wrong_type(FieldPath("think"), "a boolean (levels are not supported by this server)");
    }
    t.mode = think->get<bool>() ? Thinking::Mode::Enabled : Thinking::Mode::Disabled;
    return t;
}

// A message's role when it is a string ("" otherwise: the OpenAI
// translation names the wrong type).
std::string role_of(const json& m) {
    const json* role = set_member(m, "role");
    return role != nullptr && role->is_string() ? role->get<std::string>() : "";
}

// Ollama messages → Chat Completions messages: call arguments become JSON
// strings, calls get ids, tool messages answer the calls in order.
json translate_messages(const json& messages) {
    const FieldPath at("messages");
    if (!messages.is_array()) wrong_type(at, "an array");
    json out = json::array();
    std::deque<std::string> pending;  // ids of calls not yet answered
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const FieldPath where = at / i;
        const json& m = messages[i];
        if (!m.is_object()) wrong_type(where, "an object");
        const json* images = set_member(m, "images");
        if (images != nullptr && !(images->is_array() && images->empty())) {
            unsupported(where / "images", "images");
        }
        json o = json::object();
        copy(m, "role", o);
        copy(m, "content", o);
        if (!o.contains("content") && role_of(m) != "assistant") o["content"] = "";
        const json* calls = set_member(m, "tool_calls");
        if (calls != nullptr) {
            const FieldPath calls_at = where / "tool_calls";
            if (!calls->is_array()) wrong_type(calls_at, "an array");
            json translated = json::array();
            for (std::size_t j = 0; j < calls->size(); ++j) {
                const FieldPath call_at = calls_at / j;
                const json& call = (*calls)[j];
                if (!call.is_object()) wrong_type(call_at, "an object");
                const json* function = set_member(call, "function");
                if (function == nullptr || !function->is_object()) {
                    wrong_type(call_at / "function", "an object");
                }
                const json* id = set_member(call, "id");
                std::string call_id = id != nullptr && id->is_string()
                                          ? id->get<std::string>()
                                          : "call_" + std::to_string(i) + "_" + std::to_string(j);
                json fn = json::object();
                copy(*function, "name", fn);
                const json* arguments = set_member(*function, "arguments");
                fn["arguments"] =
                    arguments == nullptr ? "{}"
                    : arguments->is_string()
                        ? arguments->get<std::string>()
                        : arguments->dump(-1, ' ', false, json::error_handler_t::replace);
                translated.push_back(
                    {{"id", call_id}, {"type", "function"}, {"function", std::move(fn)}});
                pending.push_back(std::move(call_id));
            }
            o["tool_calls"] = std::move(translated);
        }
        if (role_of(m) == "tool") {
            const json* id = set_member(m, "tool_call_id");
            if (id != nullptr) {
                o["tool_call_id"] = *id;
            } else if (!pending.empty()) {
                o["tool_call_id"] = pending.front();
                pending.pop_front();
            } else {
                throw invalid_request(where.str() + ": a tool message answers no tool call");
            }
        }
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace

OllamaRequest parse_ollama_chat_request(std::string_view text, const RequestLimits& limits) {
    const json body = parse_json_body(text, limits);
    json o = common_fields(body);
    MessagesRequest extras;
    translate_options(body, o, extras);
    copy(body, "tools", o);
    const json* messages = set_member(body, "messages");
    OllamaRequest r;
    r.num_ctx = num_ctx_option(body);
    if (messages == nullptr || (messages->is_array() && messages->empty())) {
        r.core.model = model_field(o, limits);
        r.core.stream = o["stream"].get<bool>();
        r.load_only = true;
        return r;
    }
    o["messages"] = translate_messages(*messages);
    r.core = chat_completions_from_json(o, limits).core;
    r.core.top_k = extras.top_k;
    r.core.thinking = think_field(body);
    return r;
}

OllamaRequest parse_ollama_generate_request(std::string_view text, const RequestLimits& limits) {
    const json body = parse_json_body(text, limits);
    json o = common_fields(body);
    MessagesRequest extras;
    translate_options(body, o, extras);
    for (const char* field : {"images", "context", "template", "suffix"}) {
        const json* v = set_member(body, field);
        const bool empty = v == nullptr || (v->is_array() && v->empty()) || *v == "";
        if (!empty) unsupported(FieldPath(field), field);
    }
    const json* prompt = set_member(body, "prompt");
    if (prompt != nullptr && !prompt->is_string()) wrong_type(FieldPath("prompt"), "a string");
    const std::string text_prompt = prompt == nullptr ? "" : prompt->get<std::string>();
    OllamaRequest r;
    r.num_ctx = num_ctx_option(body);
    if (text_prompt.empty()) {
        r.core.model = model_field(o, limits);
        r.core.stream = o["stream"].get<bool>();
        r.load_only = true;
        return r;
    }
    const json* raw = set_member(body, "raw");
    if (raw != nullptr && !raw->is_boolean()) wrong_type(FieldPath("raw"), "a boolean");
    if (raw != nullptr && raw->get<bool>()) {
        if (o.contains("response_format")) unsupported(FieldPath("format"), "format with raw");
        if (!o.contains("max_tokens")) o["max_tokens"] = kMaxTokensCap;
        o["prompt"] = text_prompt;
        r.core = completions_from_json(o, limits).core;
    } else {
        json messages = json::array();
        const json* system = set_member(body, "system");
        if (system != nullptr) {
            if (!system->is_string()) wrong_type(FieldPath("system"), "a string");
            messages.push_back({{"role", "system"}, {"content", *system}});
        }
        messages.push_back({{"role", "user"}, {"content", text_prompt}});
        o["messages"] = std::move(messages);
        r.core = chat_completions_from_json(o, limits).core;
        r.core.thinking = think_field(body);
    }
    r.core.top_k = extras.top_k;
    return r;
}

std::string ollama_field_names(std::string message) {
    auto [path, rest] = split_field(openai_field_names(std::move(message)));
    if (path.empty()) return rest;
    // The sampling fields live under options; the schema is `format`.
    const std::pair<std::string_view, std::string_view> renames[] = {
        {"response_format.json_schema.schema", "format"},
        {"response_format", "format"},
        {"max_tokens", "options.num_predict"},
        {"temperature", "options.temperature"},
        {"top_p", "options.top_p"},
        {"top_k", "options.top_k"},
        {"seed", "options.seed"},
        {"stop", "options.stop"}};
    for (const auto& [from, to] : renames) {
        if (rename_field_prefix(path, from, to)) break;
    }
    return path + rest;
}

}  // namespace pensieve::api
