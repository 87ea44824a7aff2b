// Constrained decoding for tool use: the grammar and framing that make a
// model's tool call valid by construction. The schema of one call is built
// from the tools offered, in the shape the model's syntax writes (Hermes and
// the built-in prompt: {"name", "arguments"}; Llama: {"name", "parameters"};
// Mistral: an array of {"name", "arguments"}); the framing says where a call
// opens and closes, and whether the reply must start with one.
//
//   tool_choice auto    free text; once the model opens a call, the name is one
//                       of the tools and the arguments follow that tool's schema
//   tool_choice any     the reply starts inside a call to one of the tools
//   tool_choice tool    the reply starts inside a call to that tool
//   tool_choice none    no constraint (and the caller parses no calls)
//   disable_parallel_tool_use: one call, then the reply ends
//
// With more tools than the matcher can follow at once (grammar::kMaxAlternatives)
// only the name is constrained (one of the tools) and the arguments to a JSON
// object. See docs/TOOLS.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/tools/tool_prompt.hpp"
#include "engine/grammar/call_constraint.hpp"

namespace pensieve::chat {

struct ToolChoice {
    enum class Kind { Auto, Any, Tool, None };
    Kind kind = Kind::Auto;
    std::string name;  // Kind::Tool
    bool disable_parallel = false;
};

// A tool's input_schema as the call grammar takes it, embedded at `base` (a
// JSON pointer; "" for a document of its own): a tool's input is an object,
// so a schema not typed at its root becomes allOf [schema, {type: object}],
// and its local `$ref`s are rewritten to resolve from the document's root.
nlohmann::ordered_json input_schema(const nlohmann::ordered_json& schema, const std::string& base);

// tools: the request's tool definitions ([{name, input_schema, ...}], already
// checked by tool_prompt_inputs); names: the tools the model may call (for
// Kind::Tool, just that one). Every `$ref` of a tool's schema is rewritten to
// point into the combined document.
nlohmann::ordered_json call_schema(ToolCallSyntax syntax, const nlohmann::ordered_json& tools,
                                   const std::vector<std::string>& names, const ToolChoice& choice);

grammar::CallFraming call_framing(ToolCallSyntax syntax, const ToolChoice& choice);

}  // namespace pensieve::chat
