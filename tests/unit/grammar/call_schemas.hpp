// The schema of one tool_choice "any" call to any of `tools`, as the server
// builds it (chat::call_schema, Hermes shape: {"name", "arguments"}), for the
// grammar tests that walk real tool calls.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/tools/tool_constraint.hpp"

namespace pensieve::grammar {

inline nlohmann::ordered_json any_call_schema(const nlohmann::ordered_json& tools) {
    std::vector<std::string> names;
    for (const auto& tool : tools) names.push_back(tool["name"]);
    chat::ToolChoice any;
    any.kind = chat::ToolChoice::Kind::Any;
    return chat::call_schema(chat::ToolCallSyntax::Hermes, tools, names, any);
}

}  // namespace pensieve::grammar
