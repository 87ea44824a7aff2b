// Call schemas and framings per tool-call syntax (see tool_constraint.hpp).
#include "chat/tools/tool_constraint.hpp"

#include <algorithm>

#include "engine/grammar/grammar.hpp"

namespace pensieve::chat {

namespace {

using json = nlohmann::ordered_json;

// Rewrites local references ("#/$defs/x", "#") of a schema embedded at
// `base` (a JSON pointer) so that they resolve inside the combined document.
void rebase_refs(json& schema, const std::string& base) {
    std::vector<json*> pending{&schema};
    while (!pending.empty()) {
        json* node = pending.back();
        pending.pop_back();
        if (node->is_object()) {
            for (auto it = node->begin(); it != node->end(); ++it) {
                if (it.key() == "$ref" && it->is_string()) {
                    const auto& ref = it->get_ref<const std::string&>();
                    if (ref.starts_with('#')) *it = "#" + base + ref.substr(1);
                } else {
                    pending.push_back(&*it);
                }
            }
        } else if (node->is_array()) {
            for (json& child : *node) pending.push_back(&child);
        }
    }
}

const json* find_tool(const json& tools, const std::string& name) {
    for (const json& t : tools) {
        if (t.is_object() && t.contains("name") && t["name"] == name && t.contains("input_schema"))
            return &t;
    }
    return nullptr;
}

}  // namespace

json input_schema(const json& schema, const std::string& base) {
    // An input is an object: a schema not typed "object" at its root is
    // narrowed to its objects (the grammar's allOf form for that).
    const bool narrow = !schema.contains("type");
    json arguments = schema;
    rebase_refs(arguments, base + (narrow ? "/allOf/0" : ""));
    if (narrow) arguments = {{"allOf", {std::move(arguments), {{"type", "object"}}}}};
    return arguments;
}

json call_schema(ToolCallSyntax syntax, const json& tools, const std::vector<std::string>& names,
                 const ToolChoice& choice) {
    const char* args_key = syntax == ToolCallSyntax::Llama ? "parameters" : "arguments";
    std::vector<std::string> callable = names;
    if (choice.kind == ToolChoice::Kind::Tool) callable = {choice.name};
    // A call object; Mistral wraps calls in an array.
    const bool in_array = syntax == ToolCallSyntax::Mistral;
    const std::string prefix = in_array ? "/items" : "";
    json one;
    if (callable.size() > grammar::kMaxAlternatives) {
        one = {{"type", "object"},
               {"properties", {{"name", {{"enum", callable}}}, {args_key, {{"type", "object"}}}}},
               {"required", {"name", args_key}},
               {"additionalProperties", false}};
    } else {
        json alternatives = json::array();
        for (size_t i = 0; i < callable.size(); ++i) {
            const json* tool = find_tool(tools, callable[i]);
            const std::string base =
                prefix + (callable.size() > 1 ? "/anyOf/" + std::to_string(i) : std::string()) +
                "/properties/" + args_key;
            json arguments = tool != nullptr ? input_schema((*tool)["input_schema"], base)
                                             : json{{"type", "object"}};
            alternatives.push_back(
                {{"type", "object"},
                 {"properties", {{"name", {{"const", callable[i]}}}, {args_key, arguments}}},
                 {"required", {"name", args_key}},
                 {"additionalProperties", false}});
        }
        one = alternatives.size() == 1 ? alternatives[0] : json{{"anyOf", alternatives}};
    }
    if (!in_array) return one;
    json array = {{"type", "array"}, {"items", one}, {"minItems", 1}};
    if (choice.disable_parallel) array["maxItems"] = 1;
    return array;
}

grammar::CallFraming call_framing(ToolCallSyntax syntax, const ToolChoice& choice) {
    grammar::CallFraming f;
    f.must_call = choice.kind == ToolChoice::Kind::Any || choice.kind == ToolChoice::Kind::Tool;
    switch (syntax) {
        case ToolCallSyntax::Hermes:
            f.opener = "<tool_call>";
            f.closer = "</tool_call>";
            f.max_calls = choice.disable_parallel ? 1 : 0;
            break;
        case ToolCallSyntax::Mistral:
            f.opener = "[TOOL_CALLS]";
            f.max_calls = 1;  // one array holds every call
            break;
        case ToolCallSyntax::Llama:
            // Asked to call, a Llama model writes the JSON as its whole reply;
            // on its own it may start one after <|python_tag|>.
            f.opener = f.must_call ? "" : "<|python_tag|>";
            f.max_calls = 1;
            break;
    }
    return f;
}

}  // namespace pensieve::chat
