// Test helper: render a template source with variables given as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chat/json_io.hpp"
#include "chat/template.hpp"

namespace pensieve::chat::testing {

inline std::string render(const std::string& source,
                          const nlohmann::ordered_json& vars = nlohmann::ordered_json::object(),
                          const Limits& limits = {}) {
    DictData context;
    for (const auto& [k, v] : vars.items()) context.set(Value::string(k), from_json(v));
    return Template::parse(source, limits).render(context);
}

}  // namespace pensieve::chat::testing
