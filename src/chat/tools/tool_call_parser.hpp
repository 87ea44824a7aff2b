// Tool calls out of generated text, while it streams. The parser is fed the model's
// output piece by piece (any split, down to single bytes) and returns events: text that
// is safe to show, and tool calls: start (id + name), argument JSON deltas as the model
// writes them, end (the parsed input object).
//
// Syntaxes (ToolCallSyntax, chosen from the template by tool_template_support):
//   Hermes   <tool_call>{"name": "f", "arguments": {...}}</tool_call>  (Qwen, Hermes,
//            and Pensieve's built-in tool prompt)
//   Llama    {"name": "f", "parameters": {...}} as the start of the reply, or anywhere
//            after <|python_tag|>; several calls may be separated by ';'
//   Mistral  [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]
// Each accepts "arguments" or "parameters", an arguments value written as a JSON string
// holding an object, and extra "id"/"type" keys.
//
// Guarantees:
// - Text is held back only while it may be the start of a call opener (and whitespace
//   runs, which are dropped when they border a call); everything else is returned as soon
//   as it is fed. With no calls, the concatenated Text events equal the input exactly.
// - A call is announced (CallStart) once its name is known and its arguments object has
//   begun; ArgumentsDelta texts then concatenate to exactly the JSON text of the input,
//   and each is a valid JSON prefix. CallEnd carries the parsed input object.
// - Output that looks like a call but does not parse before it was announced comes back
//   as Text, never as an error. If a call fails after it was announced (the model broke
//   the JSON, or the output ended inside it), CallFailed carries the call's raw text; with
//   stream_arguments = false calls are only announced once complete, so this cannot
//   happen, at the cost of arguments arriving in one delta.
// - Events split only where input pieces split, or at ASCII bytes: UTF-8 stays whole if
//   the pieces are.
// - Memory is bounded: a call longer than max_call_bytes fails (see above).
//
// Several calls in one reply give several calls; CallEnd's `index` counts them from 0,
// so a caller honouring disable_parallel_tool_use stops generating after the first.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "chat/tools/tool_prompt.hpp"

namespace pensieve::chat {

struct ToolCallEvent {
    enum class Kind { Text, CallStart, ArgumentsDelta, CallEnd, CallFailed };
    Kind kind = Kind::Text;
    // Text: the text. ArgumentsDelta: a piece of the arguments' JSON text.
    // CallFailed: the call's raw text as generated, for callers that show it.
    std::string text;
    std::string id;                // every call event: "toolu_" + 24 base62 characters
    std::string name;              // CallStart, CallEnd
    nlohmann::ordered_json input;  // CallEnd: the arguments object
    int index = 0;                 // call events: 0 for the reply's first call, then 1, ...
};

struct ToolCallParserOptions {
    // Names the model may call; a call to another name is text. Empty: any name.
    std::vector<std::string> known_tools;
    // Announce calls as soon as their arguments begin (true), or only once complete.
    bool stream_arguments = true;
    std::size_t max_call_bytes = std::size_t{1} << 20;
    // Id generator (tests); default: random_tool_use_id.
    std::function<std::string()> make_id;
};

class ToolCallParser {
  public:
    explicit ToolCallParser(ToolCallSyntax syntax, ToolCallParserOptions options = {});
    ~ToolCallParser();
    ToolCallParser(ToolCallParser&&) noexcept;
    ToolCallParser& operator=(ToolCallParser&&) noexcept;

    // Events made available by this piece (often none while a call opener may be starting).
    std::vector<ToolCallEvent> feed(std::string_view piece);
    // End of generation: returns what was held back (as text, or a failed call).
    std::vector<ToolCallEvent> finish();

    int calls_completed() const;

  private:
    struct State;
    std::unique_ptr<State> s_;
};

// "toolu_" + 24 random base62 characters.
std::string random_tool_use_id();

}  // namespace pensieve::chat
