// Tools into the prompt: turns an Anthropic Messages conversation with tools (tool
// definitions, assistant `tool_use` blocks, user `tool_result` blocks) into the inputs
// a chat template renders, and decides how the model is told about tools.
//
// Templates that render `tools` themselves and whose call syntax the parser knows
// (Qwen2.5/Qwen3 and Hermes: <tool_call>; Llama 3.x: JSON / <|python_tag|>; Mistral:
// [TOOL_CALLS]) get Hugging Face's shape: `tools` as OpenAI functions, assistant
// `tool_calls`, and role "tool" messages. Every other template (SmolLM2, Gemma 3,
// the built-in ones) gets Pensieve's built-in tool prompt: a system-prompt section
// listing the tools and one call syntax, <tool_call>{...}</tool_call>, with calls and
// results written into the turns as plain text. docs/TOOLS.md documents both.
//
// Typical use by the API layer:
//     auto support = chat::tool_template_support(model_template.source);  // at load
//     auto in = chat::tool_prompt_inputs(body["tools"], messages, support);
//     prompt_builder.build(in.messages, in.tools);
//     chat::ToolCallParser parser(support.syntax, {.known_tools = in.tool_names});
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pensieve::chat {

// How a model writes tool calls (tool_call_parser.hpp reads each).
enum class ToolCallSyntax {
    Hermes,   // <tool_call>{"name": ..., "arguments": {...}}</tool_call>; also the built-in
    Llama,    // {"name": ..., "parameters": {...}} as the reply, or after <|python_tag|>
    Mistral,  // [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]
};

const char* syntax_name(ToolCallSyntax syntax);

struct ToolTemplateSupport {
    // The template renders `tools` and tool-call history itself; otherwise the built-in
    // tool prompt is used and the template sees tools = None.
    bool template_renders_tools = false;
    ToolCallSyntax syntax = ToolCallSyntax::Hermes;
    // Mistral's template requires tool call ids of exactly 9 alphanumeric characters.
    bool nine_char_call_ids = false;
    // Mistral's template rejects a user turn right after tool results (the assistant
    // must speak first), so text sent along with results is appended to the last result.
    bool text_into_last_result = false;
    // Llama 3.x's template takes one call per assistant turn, so parallel calls are
    // written as consecutive assistant turns of one call each.
    bool one_call_per_turn = false;
};

// Decided from the template source: it must use the variable `tools` and show a call
// syntax the parser knows ([TOOL_CALLS], <tool_call>, <|python_tag|> or the ipython role).
ToolTemplateSupport tool_template_support(std::string_view template_source);

// The request's tools or messages are malformed (a 400 invalid_request_error; what()
// names the field, e.g. "messages.2.content.0.input: expected an object").
class ToolInputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ToolPromptInputs {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // ChatInputs::messages
    nlohmann::ordered_json tools = nullptr;  // ChatInputs::tools (null: none, or built-in)
    std::vector<std::string> tool_names;     // the tools offered, for the parser
    // What was left out: content block types ("image", "thinking") and server tools
    // ("tool:web_search"), for the caller to log.
    std::vector<std::string> dropped;
};

// tools: the request's `tools` (array or null). messages: Anthropic-shaped turns, role
// "system" | "user" | "assistant", content a string or an array of blocks (text,
// tool_use, tool_result; other types are dropped). Throws ToolInputError.
ToolPromptInputs tool_prompt_inputs(const nlohmann::ordered_json& tools,
                                    const nlohmann::ordered_json& messages,
                                    const ToolTemplateSupport& support);

// The built-in prompt's pieces, exposed for tests and docs/TOOLS.md. The section lists
// tools given as [{"name", "description", "input_schema"}] (already checked).
std::string builtin_tool_section(const nlohmann::ordered_json& anthropic_tools);
std::string builtin_tool_call_text(const std::string& name, const nlohmann::ordered_json& input);
std::string builtin_tool_result_text(const std::string& name, const std::string& content,
                                     bool is_error);
// A tool_use id as Mistral's template wants it: 9 base62 characters, derived from the
// id (FNV-1a 64), so a call and its result keep matching ids.
std::string nine_char_call_id(std::string_view id);

}  // namespace pensieve::chat
