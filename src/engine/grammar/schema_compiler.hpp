// JSON Schema -> Grammar. Covers the keywords tool schemas use (type and
// type arrays, properties, required, additionalProperties, enum, const,
// items, min/maxItems, min/maxLength, integer bounds, anyOf/oneOf, local
// $ref/$defs, simple patterns); what it cannot enforce is relaxed and listed
// in Grammar::relaxed, never an error. An invalid schema is a SchemaError
// naming the JSON pointer at fault. See docs/GRAMMAR.md.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/grammar/grammar.hpp"

namespace pensieve::grammar {

struct CompileOptions {
    Layout layout;
};

// Schema order is the order of `properties` in the document, so parse the
// schema as an ordered_json to keep it; the nlohmann::json overload sees its
// keys sorted.
Grammar compile_schema(const nlohmann::ordered_json& schema, const CompileOptions& options = {});
Grammar compile_schema(const nlohmann::json& schema, const CompileOptions& options = {});

// JSON mode: any JSON object (any keys, any values), canonical whitespace.
Grammar any_json_object();

// The canonical serialization the grammar forces (json.dumps spacing:
// ", " and ": ", UTF-8 unescaped), used for enum/const literals.
std::string canonical_json(const nlohmann::ordered_json& value);
std::string canonical_json(const nlohmann::json& value);

}  // namespace pensieve::grammar
