// Field access and type errors shared by every dialect's request parser.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/error.hpp"
#include "api/field_path.hpp"

namespace pensieve::api {

// "a string", "an object", ... for error messages.
inline std::string json_type_name(const nlohmann::ordered_json& v) {
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
}

[[noreturn]] inline void wrong_type(const FieldPath& at, const std::string& expected,
                                    const nlohmann::ordered_json& v) {
    throw invalid_request(at.str() + ": expected " + expected + ", got " + json_type_name(v));
}

// The member `key` of an object, or nullptr when it is absent or null (the
// OpenAI and Ollama clients send null for "not set").
inline const nlohmann::ordered_json* set_member(const nlohmann::ordered_json& object,
                                                const char* key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace pensieve::api
